import Conversations
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Marketplace
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@Suite("Marketplace authorization")
struct AuthorizationTests {
    @Test("every forbidden action of seed 001's lists is refused: 403, or 404 where the request must not be known")
    func forbidden() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let cast = try await Cast(plaza)
            let (catalogue, ada, eve, bob, pat, bobs, pats) = (cast.catalogue, cast.ada, cast.eve, cast.bob, cast.pat, cast.bobs, cast.pats)
            let market = plaza.marketplace
            let request = try await market.createRequest(
                NewServiceRequest(
                    categoryId: catalogue.plumbing.id, providerId: bobs.id, description: "Leak", address: "Here", lat: kyiv.lat, lng: kyiv.lng),
                caller: caller(ada))
            let thread = try #require(try await market.request(request.id, caller: caller(ada)).conversationId)
            let path = "/api/v1/marketplace/requests/\(request.id)"

            try await plaza.testApplication().test(.router) { client in
                func expect(
                    _ method: HTTPRequest.Method, _ uri: String, as person: Person?, _ body: (any Encodable)?,
                    _ status: HTTPResponse.Status, _ why: Comment
                ) async throws {
                    var headers: HTTPFields = person?.headers ?? [.contentType: "application/json"]
                    if body == nil { headers[.contentType] = nil }
                    try await client.execute(uri: uri, method: method, headers: headers, body: body.map { json($0) }) { response in
                        #expect(response.status == status, "\(why): \(String(buffer: response.body))")
                    }
                }
                // Customer, not allowed: other users' chats; changing provider profiles.
                try await expect(.get, path, as: eve, nil, .notFound, "another customer's request does not exist for Eve")
                try await expect(.get, "\(path)/conversation", as: eve, nil, .notFound, "nor its chat")
                try await expect(.get, "/api/v1/conversations/\(thread)/messages", as: eve, nil, .notFound, "nor the thread itself")
                try await expect(
                    .post, "/api/v1/conversations/\(thread)/messages", as: eve, MessageDraft(body: "hi"), .notFound, "Eve cannot write in it")
                try await expect(
                    .patch, "/api/v1/marketplace/providers/\(bobs.id)", as: ada, ProviderUpdate(bio: "Bad"), .forbidden,
                    "customers do not edit profiles")
                try await expect(.post, "/api/v1/marketplace/providers", as: ada, ProviderUpdate(displayName: "Ada"), .forbidden, "nor open one")
                try await expect(.post, "\(path)/accept", as: ada, RequestCommand(), .forbidden, "a customer does not accept her own request")
                try await expect(.post, "\(path)/start", as: ada, RequestCommand(), .forbidden, "nor start the job, whatever its state")
                try await expect(.post, "\(path)/start", as: bob, RequestCommand(), .conflict, "Bob may start jobs, but not a pending one")
                try await expect(.post, "\(path)/cancel", as: eve, RequestCommand(), .notFound, "nor does a stranger cancel it")
                try await expect(
                    .post, "/api/v1/marketplace/categories", as: ada, CategoryInput(name: "Mine"), .forbidden, "categories are the admins'")
                // Provider, not allowed: unrelated requests (they do not exist), another's profile, the customer's side.
                try await expect(.get, path, as: pat, nil, .notFound, "Pat has nothing to do with Bob's request")
                try await expect(.post, "\(path)/accept", as: pat, RequestCommand(), .notFound, "nor may he take it")
                try await expect(.get, "\(path)/history", as: pat, nil, .notFound, "nor read its history")
                try await expect(.get, "\(path)/conversation", as: pat, nil, .notFound, "nor its chat")
                try await expect(
                    .patch, "/api/v1/marketplace/providers/\(bobs.id)", as: pat, ProviderUpdate(bio: "Bad"), .forbidden, "Pat cannot edit Bob")
                try await expect(.patch, "/api/v1/marketplace/providers/\(pats.id)", as: bob, ProviderUpdate(bio: "Bad"), .forbidden, "nor Bob Pat")
                try await expect(.post, "\(path)/cancel", as: bob, RequestCommand(), .forbidden, "cancelling is the customer's")
                try await expect(
                    .post, "/api/v1/marketplace/requests", as: bob,
                    NewServiceRequest(
                        categoryId: catalogue.electrics.id, description: "x", address: "y", lat: kyiv.lat, lng: kyiv.lng), .forbidden,
                    "providers do not order")
                try await expect(.post, "/api/v1/marketplace/categories", as: bob, CategoryInput(name: "Mine"), .forbidden, "nor keep the catalogue")
                try await expect(.get, "/api/v1/marketplace/requests/open", as: ada, nil, .forbidden, "open requests are for providers")
                // Nobody signed in: browsing works, doing does not.
                try await expect(.get, "/api/v1/marketplace/providers?category=\(catalogue.plumbing.id)", as: nil, nil, .ok, "anyone browses")
                try await expect(
                    .post, "/api/v1/marketplace/requests", as: nil,
                    NewServiceRequest(
                        categoryId: catalogue.plumbing.id, description: "x", address: "y", lat: kyiv.lat, lng: kyiv.lng), .unauthorized,
                    "requests need an account")
                try await expect(.get, path, as: nil, nil, .unauthorized, "reading one too")

                // The job goes on; the location is the customer's to see, the review hers to write, the answer Bob's.
                for command in ["accept", "start"] {
                    try await expect(.post, "\(path)/\(command)", as: bob, RequestCommand(), .ok, "Bob \(command)s")
                }
                try await expect(
                    .post, "\(path)/location", as: ada, LocationInput(lat: kyiv.lat, lng: kyiv.lng), .forbidden, "customers share no location")
                try await expect(.post, "\(path)/location", as: bob, LocationInput(lat: kyiv.lat, lng: kyiv.lng), .created, "Bob shares his")
                try await expect(.get, "\(path)/location", as: bob, nil, .forbidden, "it is shown to the customer only")
                try await expect(.get, "\(path)/location", as: ada, nil, .ok, "who sees it")
                try await expect(.post, "\(path)/review", as: ada, ReviewInput(rating: 5, text: "x"), .conflict, "no review before completion")
                try await expect(.post, "\(path)/complete", as: bob, RequestCommand(price: uah(15)), .ok, "Bob completes")
                try await expect(
                    .post, "\(path)/review", as: bob, ReviewInput(rating: 5, text: "Me!"), .forbidden, "providers do not review themselves")
                try await expect(.post, "\(path)/review", as: eve, ReviewInput(rating: 1, text: "x"), .notFound, "strangers do not review")
                try await expect(.post, "\(path)/review", as: ada, ReviewInput(rating: 5, text: "Great"), .created, "Ada reviews")
                try await expect(.post, "\(path)/review", as: ada, ReviewInput(rating: 1, text: "Again"), .conflict, "once")
                let review = try #require(try await market.review(ofRequest: request.id, caller: caller(ada)))
                try await expect(
                    .post, "/api/v1/marketplace/reviews/\(review.id)/answer", as: pat, ReviewText(text: "x"), .forbidden, "only Bob answers")
                try await expect(.post, "/api/v1/marketplace/reviews/\(review.id)/answer", as: bob, ReviewText(text: "Thanks"), .ok, "Bob answers")
                try await expect(.post, "/api/v1/marketplace/reviews/\(review.id)/answer", as: bob, ReviewText(text: "Again"), .conflict, "once")
                try await expect(
                    .post, "/api/v1/marketplace/reviews/\(review.id)/hide", as: bob, ReviewText(text: "Unfair"), .forbidden,
                    "moderation is not the provider's")
            }
        }
    }
}

@Suite("Request photos")
struct RequestPhotoTests {
    @Test("a request's photos (someone's home) are read by the request's two sides only: not by strangers, not signed out")
    func privateToTheTwoSides() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let cast = try await Plumbing(plaza)
            let eve = try await person(plaza, "eve@example.com")
            try await plaza.testApplication().test(.router) { client in
                // Ada uploads a photo as a service photo (public until it is bound) and sends it with her request to Bob.
                let boundary = "photo-\(UUID().uuidString)"
                var upload = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nservice-photo\r\n".utf8)
                upload.append(
                    Data(
                        "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"kitchen.png\"\r\nContent-Type: image/png\r\n\r\n"
                            .utf8))
                upload.append(TestImages.png(width: 32, height: 32))
                upload.append(Data("\r\n--\(boundary)--\r\n".utf8))
                var headers = cast.ada.headers
                headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
                let stored = try await client.execute(uri: "/api/v1/files", method: .post, headers: headers, body: ByteBuffer(data: upload)) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                guard case .string(let raw)? = stored["id"], let photo = UUID(uuidString: raw) else { Issue.record("no upload: \(stored)"); return }
                var draft = NewServiceRequest(
                    categoryId: cast.catalogue.plumbing.id, providerId: cast.bobs.id, description: "Tap", address: "Here", lat: kyiv.lat,
                    lng: kyiv.lng)
                draft.photos = [photo]
                _ = try await plaza.marketplace.createRequest(draft, caller: caller(cast.ada))
                try await plaza.runPendingWork()

                let path = "/files/\(photo.uuidString.lowercased())"
                for (who, person, expected) in [
                    ("signed out", nil, HTTPResponse.Status.unauthorized), ("a stranger", eve, .notFound),
                    ("the customer", cast.ada, .ok), ("the provider", cast.bob, .ok),
                ] as [(String, Person?, HTTPResponse.Status)] {
                    for variant in ["", "/thumb"] {
                        let status = try await client.execute(uri: path + variant, method: .get, headers: person?.headers ?? [:]) { $0.status }
                        #expect(status == expected, "\(who) reading \(path + variant)")
                    }
                }
                // Its description now gives signed links, which work without a session until they expire.
                let described = try await client.execute(
                    uri: "/api/v1/files/\(photo.uuidString.lowercased())", method: .get, headers: cast.ada.headers
                ) {
                    try JSONDecoder().decode(JSONValue.self, from: Data(buffer: $0.body))
                }
                #expect(described["visibility"] == "private")
                guard case .string(let signed)? = described["url"] else { Issue.record("no url"); return }
                #expect(signed.contains("signature="))
                #expect(try await client.execute(uri: signed, method: .get) { $0.status } == .ok)
            }
        }
    }
}
