import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Marketplace
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

/// One GraphQL call's answer: its data and its errors' extensions.
struct GraphQLAnswer {
    var data: [String: Any]
    var errors: [[String: Any]]
    /// The first error's `extensions.status`.
    var status: Int? { (errors.first?["extensions"] as? [String: Any])?["status"] as? Int }
    func field(_ path: String...) -> Any? {
        var value: Any? = data
        for key in path { value = (value as? [String: Any])?[key] }
        return value
    }
}

func graphQL(_ client: some TestClientProtocol, _ query: String, as person: Person?, variables: [String: Any] = [:]) async throws -> GraphQLAnswer {
    let body = try JSONSerialization.data(withJSONObject: ["query": query, "variables": variables])
    return try await client.execute(
        uri: "/graphql", method: .post, headers: person?.headers ?? [.contentType: "application/json"], body: ByteBuffer(data: body)
    ) { response in
        #expect(response.status == .ok)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any], "\(String(buffer: response.body))")
        return GraphQLAnswer(data: object["data"] as? [String: Any] ?? [:], errors: object["errors"] as? [[String: Any]] ?? [])
    }
}

@Suite("Marketplace GraphQL")
struct GraphQLTests {
    @Test("GraphQL offers REST's queries and mutations to customers and providers, and refuses exactly what REST refuses")
    func graphQLAPI() async throws {
        try await withTestPlaza(apps: marketplace, configure: { $0.edge.rateLimits = [] }) { plaza in
            let cast = try await Cast(plaza)
            let (catalogue, ada, eve, bob, pat, bobs) = (cast.catalogue, cast.ada, cast.eve, cast.bob, cast.pat, cast.bobs)
            try await plaza.testApplication().test(.router) { client in
                let categories = try await graphQL(client, "{ categories { id name parentId } }", as: nil)
                #expect((categories.data["categories"] as? [[String: Any]])?.count == 3)
                let found = try await graphQL(
                    client,
                    """
                    query($lat: Float, $lng: Float) { providers(category: "\(catalogue.leaks.id)", lat: $lat, lng: $lng, \
                    radiusKm: 10) { items { id displayName distanceKm } nextCursor } }
                    """, as: ada, variables: ["lat": kyiv.lat, "lng": kyiv.lng])
                let items = try #require(found.field("providers", "items") as? [[String: Any]], "\(found.errors)")
                #expect(items.map { $0["id"] as? String } == [bobs.id.uuidString])
                #expect(abs((items.first?["distanceKm"] as? Double ?? 0) - 2) < 0.05)

                let create = """
                    mutation($input: NewServiceRequestInput!) { createRequest(input: $input) { id status allowedCommands conversationId } }
                    """
                let input: [String: Any] = [
                    "categoryId": catalogue.leaks.id.uuidString, "providerId": bobs.id.uuidString, "description": "Drip", "address": "Here",
                    "lat": kyiv.lat, "lng": kyiv.lng,
                ]
                let created = try await graphQL(client, create, as: ada, variables: ["input": input])
                let id = try #require(created.field("createRequest", "id") as? String, "\(created.errors)")
                #expect(created.field("createRequest", "status") as? String == "pending")
                #expect(created.field("createRequest", "allowedCommands") as? [String] == ["cancel"])

                // Refused as REST refuses them.
                let refusals: [(String, Person?, Int, Comment)] = [
                    (#"{ request(id: "\#(id)") { id } }"#, eve, 404, "another customer's request"),
                    (#"{ requestConversation(id: "\#(id)") { id } }"#, eve, 404, "its chat"),
                    (#"{ request(id: "\#(id)") { id } }"#, pat, 404, "an unrelated provider"),
                    (#"mutation { acceptRequest(id: "\#(id)") { id } }"#, pat, 404, "nor may he take it"),
                    (#"mutation { acceptRequest(id: "\#(id)") { id } }"#, ada, 403, "a customer accepting"),
                    (#"mutation { cancelRequest(id: "\#(id)") { id } }"#, bob, 403, "a provider cancelling"),
                    (#"mutation { updateProvider(id: "\#(bobs.id)", input: {bio: "x"}) { id } }"#, ada, 403, "a customer editing a profile"),
                    (#"mutation { updateProvider(id: "\#(bobs.id)", input: {bio: "x"}) { id } }"#, pat, 403, "another provider editing it"),
                    (#"mutation { createProvider(input: {displayName: "Ada"}) { id } }"#, ada, 403, "a customer opening a profile"),
                    (#"{ openRequests { items { id } } }"#, ada, 403, "open requests are for providers"),
                    (#"{ myProvider { id } }"#, ada, 404, "Ada has no provider profile"),
                    (#"mutation { reviewRequest(id: "\#(id)", rating: 5, text: "x") { id } }"#, ada, 409, "no review before completion"),
                ]
                for (query, person, status, why) in refusals {
                    let answer = try await graphQL(client, query, as: person)
                    #expect(answer.status == status, "\(why): \(answer.errors)")
                }
                let anonymous = try await graphQL(client, create, as: nil, variables: ["input": input])
                #expect(anonymous.status == 401)
                let provider = try await graphQL(client, create, as: bob, variables: ["input": input])
                #expect(provider.status == 403, "providers do not order")
                var bad = input
                bad["lat"] = 91
                let invalid = try await graphQL(client, create, as: ada, variables: ["input": bad])
                #expect(invalid.status == 422)
                let fieldErrors = (invalid.errors.first?["extensions"] as? [String: Any])?["errors"] as? [[String: Any]]
                #expect(fieldErrors?.contains { $0["field"] as? String == "lat" } == true)

                // The provider moves the job on; the customer reviews; the rating follows.
                for mutation in [
                    "acceptRequest(id: \"\(id)\", price: {amount: 1500, currency: \"UAH\"})", "startRequest(id: \"\(id)\")",
                    "completeRequest(id: \"\(id)\")",
                ] {
                    let answer = try await graphQL(client, "mutation { \(mutation) { status } }", as: bob)
                    #expect(answer.errors.isEmpty, "\(mutation): \(answer.errors)")
                }
                let mine = try await graphQL(client, #"{ myRequests(status: "completed") { items { id finalPrice { amount currency } } } }"#, as: ada)
                let finalPrice = (mine.field("myRequests", "items") as? [[String: Any]])?.first?["finalPrice"] as? [String: Any]
                #expect(finalPrice?["amount"] as? Int == 1500 && finalPrice?["currency"] as? String == "UAH")
                let reviewed = try await graphQL(client, #"mutation { reviewRequest(id: "\#(id)", rating: 4, text: "Good") { rating } }"#, as: ada)
                #expect(reviewed.field("reviewRequest", "rating") as? Int == 4, "\(reviewed.errors)")
                let profile = try await graphQL(client, #"{ provider(id: "\#(bobs.id)") { rating { average count stars } completedJobs } }"#, as: nil)
                #expect(profile.field("provider", "rating", "average") as? Double == 4)
                #expect(profile.field("provider", "rating", "stars") as? [Int] == [0, 0, 0, 1, 0])
                let thread = try await graphQL(client, #"{ requestConversation(id: "\#(id)") { id messages { body } } }"#, as: bob)
                #expect(thread.errors.isEmpty && thread.field("requestConversation", "id") != nil, "\(thread.errors)")

                try await client.execute(uri: "/graphql?query=mutation%20%7B%20categories%20%7D", method: .get) {
                    #expect($0.status == .methodNotAllowed)
                }
                let hidden = "# a comment first\nquery A { categories { name } } mutation B { cancelRequest(id: \"\(id)\") { id } }"
                    .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                try await client.execute(uri: "/graphql?operationName=B&query=\(hidden)", method: .get) {
                    #expect($0.status == .methodNotAllowed, "a mutation behind a comment or another operation is still a mutation")
                }
                // GraphQL over HTTP's other members are accepted; a field GraphQL over HTTP does not have is refused.
                let apollo =
                    #"{"query": "{ categories { name } }", "operationName": null, "variables": null, "#
                    + #""extensions": {"persistedQuery": {"version": 1}}}"#
                try await client.execute(
                    uri: "/graphql", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: apollo)
                ) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
                try await client.execute(
                    uri: "/graphql", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"query": "{ categories { name } }", "variable": {}}"#)
                ) { response in
                    #expect(response.status == .unprocessableContent && String(buffer: response.body).contains("variable"))
                }
                try await client.execute(uri: "/graphql?query=%7B%20categories%20%7B%20name%20%7D%20%7D", method: .get) { response in
                    #expect(response.status == .ok && String(buffer: response.body).contains("Leaks and pipes"))
                }
            }
        }
    }
}
