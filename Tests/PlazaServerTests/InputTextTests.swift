import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

/// The first field error of a problem+json answer.
func firstFieldError(_ response: TestResponse) -> String? {
    let object = try? JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
    return ((object?["errors"] as? [[String: Any]])?.first)?["field"] as? String
}

@Suite("Text is stored exactly as accepted, or refused")
struct InputTextTests {
    @Test(
        "a NUL is refused with a 422 naming the field on JSON, query strings, page forms, CSV imports and GraphQL (multipart fields: the marketplace page test); nothing is half-written"
    )
    func nulEverywhere() async throws {
        try await withTestPlaza(apps: everyApp, configure: { $0.edge.rateLimits = [] }) { plaza in
            let mallory = try await person(plaza, "mallory@example.com")
            _ = try await plaza.store.transaction { try await IdentityDemo.seed(plaza.identity, in: $0) }
            let admin = try await signIn(plaza, IdentityDemo.email(for: "admin"), password: IdentityDemo.password)
            try await plaza.testApplication().test(.router) { client in
                // JSON: the whole text or nothing.
                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(string: #"{"firstName": "Mal\u0000lory"}"#)
                ) { response in
                    #expect(response.status == .unprocessableContent, "\(String(buffer: response.body))")
                    #expect(firstFieldError(response) == "firstName")
                }
                // Inside an array of objects, the path says where.
                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: mallory.headers,
                    body: ByteBuffer(string: #"{"bio": "ok", "extra": [{"a": "x"}, {"b": "y\u0000"}]}"#)
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(firstFieldError(response) == "extra[1].b")
                }
                // An escaped backslash before u0000 is ordinary text, not a NUL.
                try await client.execute(
                    uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(string: #"{"bio": "C:\\u0000 is a path"}"#)
                ) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: mallory.headers) { response in
                    let me = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(me?["firstName"] as? String == "Mallory", "the refused PATCH wrote nothing")
                    #expect(me?["bio"] as? String == #"C:\u0000 is a path"#)
                }
                // JSON nested past the bound is refused before decoding; at the bound it is read (and refused for its shape).
                let past = String(repeating: "[", count: JSONScan.maxDepth + 1) + String(repeating: "]", count: JSONScan.maxDepth + 1)
                try await client.execute(uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(string: past)) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("nests \(JSONScan.maxDepth + 1) levels"))
                }
                let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
                try await client.execute(uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(string: deep)) { response in
                    #expect(response.status == .badRequest)
                }
                let atBound =
                    "{\"bio\": " + String(repeating: "[", count: JSONScan.maxDepth - 1) + String(repeating: "]", count: JSONScan.maxDepth - 1) + "}"
                try await client.execute(uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(string: atBound)) { response in
                    #expect(response.status == .unprocessableContent, "read, then refused: bio is not a list")
                    #expect(firstFieldError(response) == "bio")
                }
                // A UTF-16 body (which JSON decoders accept) cannot carry a NUL past the byte scan.
                var utf16 = Data([0xFF, 0xFE])
                utf16.append(#"{"firstName": "Mal\u0000lory"}"#.data(using: .utf16LittleEndian)!)
                try await client.execute(uri: "/api/v1/me", method: .patch, headers: mallory.headers, body: ByteBuffer(data: utf16)) { response in
                    #expect(response.status == .badRequest, "\(String(buffer: response.body))")
                }
                // A query string.
                try await client.execute(uri: "/api/v1/marketplace/providers?q=pipe%00s", method: .get) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(firstFieldError(response) == "q")
                }
                // GraphQL: a literal argument and a variable.
                let literal = try JSONSerialization.data(withJSONObject: ["query": "{ providers(q: \"a\\u0000b\") { nextCursor } }"])
                try await client.execute(uri: "/graphql", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(data: literal))
                { response in
                    #expect(response.status == .unprocessableContent, "\(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains("\"field\":\"q\""))
                }
                // (The variable's NUL is in the JSON body, so the body's check names it first.)
                let variable = try JSONSerialization.data(withJSONObject: [
                    "query": "query($q: String) { providers(q: $q) { nextCursor } }", "variables": ["q": "a\u{0}b"],
                ])
                try await client.execute(
                    uri: "/graphql", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(data: variable)
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(firstFieldError(response) == "variables.q")
                }
                let getVariables = #"{"q":"a\u0000b"}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let getQuery = "query($q: String) { providers(q: $q) { nextCursor } }".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                try await client.execute(uri: "/graphql?query=\(getQuery)&variables=\(getVariables)", method: .get) { response in
                    #expect(response.status == .unprocessableContent, "\(String(buffer: response.body))")
                    #expect(firstFieldError(response) == "variables.q")
                }

                // A page's form.
                let browser = Browser(client)
                try await browser.signIn(email: mallory.email, password: "correct horse")
                try await browser.get("/account")
                let saved = try await browser.post("/account", [("firstName", "Mal\u{0}lory"), ("lastName", "Test")])
                #expect(saved.status == .unprocessableContent)
                #expect(
                    String(buffer: saved.body).contains("First name: contains an invisible control character (NUL)"),
                    "the page names the field by its label")
                try await browser.get("/account?lang=uk")
                let savedUK = try await browser.post("/account", [("firstName", "Mal\u{0}lory"), ("lastName", "Test")])
                #expect(savedUK.status == .unprocessableContent)
                // (Mustache writes the apostrophe of Ім'я as &#39;.)
                #expect(String(buffer: savedUK.body).contains("Ім&#39;я: містить невидимий керівний символ (NUL)"), "in the reader's language")
                #expect(try await plaza.identity.me(mallory.id).firstName == "Mallory")

                // A CSV import, refused whole.
                try await client.execute(
                    uri: "/api/v1/admin/users/imports?name=people.csv", method: .post,
                    headers: [.authorization: "Bearer \(admin.token)", .contentType: "text/csv"],
                    body: ByteBuffer(string: "email,firstName\nnew@example.com,Ne\u{0}w\n")
                ) { response in
                    #expect(response.status == .unprocessableContent, "\(String(buffer: response.body))")
                    #expect(firstFieldError(response) == "file")
                }
            }
        }
    }
}

@Suite("The rules of a request body")
struct RequestBodyRulesTests {
    @Test("unknown fields and nulls the schema does not allow are 422s naming them; a body needs its Content-Type (415)")
    func bodyRules() async throws {
        try await withTestPlaza(apps: everyApp, configure: { $0.edge.rateLimits = [] }) { plaza in
            let ada = try await person(plaza, "ada-rules@example.com")
            try await plaza.testApplication().test(.router) { client in
                let patch = { (body: String, headers: HTTPFields) in
                    try await client.execute(uri: "/api/v1/me", method: .patch, headers: headers, body: ByteBuffer(string: body)) { $0 }
                }
                let unknown = try await patch(#"{"firstName": "Ada", "nickname": "A", "address": {"city": "x"}}"#, ada.headers)
                #expect(unknown.status == .unprocessableContent)
                let text = String(buffer: unknown.body)
                #expect(
                    text.contains(#""field":"nickname""#) && text.contains(#""field":"address""#) && text.contains("is not a field of this request"),
                    "\(text)")
                let null = try await patch(#"{"firstName": null}"#, ada.headers)
                #expect(null.status == .unprocessableContent && firstFieldError(null) == "firstName", "\(String(buffer: null.body))")
                #expect(String(buffer: null.body).contains("must not be null"))
                var bare = ada.headers
                bare[.contentType] = nil
                let noType = try await patch(#"{"firstName": "Adele"}"#, bare)
                #expect(noType.status == .unsupportedMediaType, "\(String(buffer: noType.body))")
                var text2 = ada.headers
                text2[.contentType] = "text/plain"
                #expect(try await patch(#"{"firstName": "Adele"}"#, text2).status == .unsupportedMediaType)
                #expect(try await plaza.identity.me(ada.id).firstName == "Ada-Rules", "nothing refused was written")
                let fine = try await patch(#"{"firstName": "Adele"}"#, ada.headers)
                #expect(fine.status == .ok)
            }
        }
    }
}
