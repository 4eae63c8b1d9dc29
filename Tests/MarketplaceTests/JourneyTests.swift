import Conversations
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Identity
import Logging
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

let liveLogger = Logger(label: "marketplace-test")

@Suite("Marketplace journey", .timeLimit(.minutes(5)))
struct JourneyTests {
    @Test("a customer signs up, searches, requests; the provider accepts and starts; they chat live; the job completes; the review moves the rating")
    func journey() async throws {
        try await withTestPlaza(
            apps: marketplace,
            configure: {
                $0.jobs.pollInterval = .milliseconds(50); $0.edge.rateLimits = []
            }
        ) { plaza in
            let catalogue = try await Catalogue(plaza)
            let bob = try await provider(plaza, "bob@example.com")
            try await plaza.testApplication().test(.live) { client in
                let port = try #require(client.port)
                try await plaza.dispatcher.broadcastFromNow()
                // The customer signs up through the API.
                try await client.execute(
                    uri: "/api/v1/auth/register", method: .post, headers: [.contentType: "application/json"],
                    body: json(Registration(email: "ada@example.com", password: "correct horse", firstName: "Ada", lastName: "Lovelace"))
                ) { #expect($0.status == .created, "\(String(buffer: $0.body))") }
                let ada = try await signIn(plaza, "ada@example.com")

                let bobsProfile = try await client.execute(
                    uri: "/api/v1/marketplace/providers", method: .post, headers: bob.headers,
                    body: json(
                        profile(
                            "Bob's Plumbing", offers: [Offer(categoryId: catalogue.plumbing.id, priceMin: uah(40), priceMax: uah(120))], northKm: 3))
                ) { response in
                    #expect(response.status == .created)
                    return try decode(ProviderProfile.self, response)
                }
                let found = try await client.execute(
                    uri: "/api/v1/marketplace/providers?q=plumb&category=\(catalogue.leaks.parentId!)&lat=\(kyiv.lat)&lng=\(kyiv.lng)&radiusKm=10",
                    method: .get, headers: ada.headers
                ) { try decode(Paged<ProviderSummary>.self, $0) }
                #expect(found.items.map(\.id) == [bobsProfile.id])
                let distance = try #require(found.items.first?.distanceKm)
                #expect(abs(distance - 3) < 0.05, "\(distance)")

                var headers = ada.headers
                headers[HTTPField.Name("Idempotency-Key")!] = "ada-leak-1"
                let body = NewServiceRequest(
                    categoryId: catalogue.leaks.id, providerId: bobsProfile.id, description: "The kitchen sink drips.", address: "Khreshchatyk 1",
                    lat: kyiv.lat, lng: kyiv.lng)
                let created = try await client.execute(uri: "/api/v1/marketplace/requests", method: .post, headers: headers, body: json(body)) {
                    #expect($0.status == .created)
                    return try decode(ServiceRequest.self, $0)
                }
                #expect(created.status == "pending" && created.allowedCommands == ["cancel"])
                let again = try await client.execute(uri: "/api/v1/marketplace/requests", method: .post, headers: headers, body: json(body)) {
                    try decode(ServiceRequest.self, $0)
                }
                #expect(again.id == created.id, "the same Idempotency-Key creates nothing new")
                let bobsView = try await client.execute(uri: "/api/v1/marketplace/requests/\(created.id)", method: .get, headers: bob.headers) {
                    try decode(ServiceRequest.self, $0)
                }
                #expect(bobsView.allowedCommands == ["accept", "decline"])
                let conversationID = try #require(bobsView.conversationId)

                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await plaza.dispatcher.run() }
                    let url = "ws://127.0.0.1:\(port)/api/v1/realtime?access_token=\(ada.token)"
                    try await WebSocketClient.connect(url: url, logger: liveLogger) { inbound, outbound, _ in
                        var frames = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                        func next() async throws -> String {
                            guard case .text(let text)? = try await frames.next() else { throw CancellationError() }
                            return text
                        }
                        for topic in [
                            "marketplace-request:\(created.id.uuidString.lowercased())", "conversation:\(conversationID.uuidString.lowercased())",
                        ] {
                            try await outbound.write(.text(#"{"type":"subscribe","topic":"\#(topic)"}"#))
                            #expect(try await next().contains("subscribed"))
                        }
                        for (command, price, status) in [("accept", uah(80) as Money?, "accepted"), ("start", nil, "in_progress")] {
                            try await client.execute(
                                uri: "/api/v1/marketplace/requests/\(created.id)/\(command)", method: .post, headers: bob.headers,
                                body: json(RequestCommand(price: price))
                            ) { #expect($0.status == .ok, "\(command): \(String(buffer: $0.body))") }
                            let event = try await next()
                            #expect(event.contains(#""status":"\#(status)""#), "\(event)")
                        }
                        try await client.execute(
                            uri: "/api/v1/conversations/\(conversationID)/messages", method: .post, headers: bob.headers,
                            body: json(MessageDraft(body: "On my way"))
                        ) { #expect($0.status == .created) }
                        let message = try await next()
                        #expect(message.contains("message.created") && message.contains("On my way"), "\(message)")
                        try await client.execute(
                            uri: "/api/v1/marketplace/requests/\(created.id)/complete", method: .post, headers: bob.headers
                        ) { #expect($0.status == .ok) }
                        #expect(try await next().contains(#""status":"completed""#))
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    group.cancelAll()
                }
                try await client.execute(
                    uri: "/api/v1/conversations/\(conversationID)/messages", method: .post, headers: ada.headers,
                    body: json(MessageDraft(body: "Thanks!"))
                ) { #expect($0.status == .created) }
                let thread = try await client.execute(
                    uri: "/api/v1/marketplace/requests/\(created.id)/conversation", method: .get, headers: ada.headers
                ) {
                    try decode(RequestConversation.self, $0)
                }
                #expect(thread.id == conversationID && thread.messages.map(\.body) == ["Thanks!", "On my way"])

                try await client.execute(
                    uri: "/api/v1/marketplace/requests/\(created.id)/review", method: .post, headers: ada.headers,
                    body: json(ReviewInput(rating: 4, text: "Quick and clean."))
                ) { #expect($0.status == .created, "\(String(buffer: $0.body))") }
                let rated = try await client.execute(uri: "/api/v1/marketplace/providers/\(bobsProfile.id)", method: .get, headers: ada.headers) {
                    try decode(ProviderProfile.self, $0)
                }
                #expect(rated.rating == RatingSummary(average: 4, count: 1, stars: [0, 0, 0, 1, 0]))
                #expect(rated.completedJobs == 1)
                let history = try await client.execute(uri: "/api/v1/marketplace/requests/\(created.id)/history", method: .get, headers: ada.headers)
                {
                    try decode(RequestHistory.self, $0)
                }
                #expect(history.items.map(\.command) == ["start", "accept", "start", "complete"])
                #expect(history.items.map(\.to) == ["pending", "accepted", "in_progress", "completed"])
                let earnings = try await client.execute(uri: "/api/v1/marketplace/providers/me/earnings", method: .get, headers: bob.headers) {
                    try decode(Earnings.self, $0)
                }
                #expect(earnings.jobs == 1 && earnings.total == uah(80))
            }
        }
    }
}
