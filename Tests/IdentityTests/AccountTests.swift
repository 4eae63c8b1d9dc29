import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

struct SessionListBody: Decodable { var items: [SessionInfo] }

@Suite("Accounts: passwords, sessions, brute force")
struct AccountTests {
    func login(_ client: some TestClientProtocol, _ email: String, _ password: String) async throws -> (HTTPResponse.Status, TokenPair?, String?) {
        try await client.execute(
            uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders, body: body(Credentials(email: email, password: password))
        ) { response in
            (response.status, response.status == .ok ? decoded(TokenPair.self, response) : nil, response.headers[.retryAfter])
        }
    }

    @Test("changing the password ends every other session and keeps this one")
    func changePassword() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let phone = try #require(try await signUp(client, email: "pw@example.com"))
                let laptop = try #require(try await login(client, "pw@example.com", "correct horse").1)
                try await client.execute(
                    uri: "/api/v1/me/password", method: .post, headers: bearer(laptop.accessToken),
                    body: body(PasswordChange(currentPassword: "wrong", newPassword: "battery staple"))
                ) { response in
                    #expect(response.status == .unprocessableContent)
                    #expect(decoded(Problem.self, response)?.errors?.first?.field == "currentPassword")
                }
                try await client.execute(
                    uri: "/api/v1/me/password", method: .post, headers: bearer(laptop.accessToken),
                    body: body(PasswordChange(currentPassword: "correct horse", newPassword: "short"))
                ) { response in #expect(decoded(Problem.self, response)?.errors?.first?.field == "newPassword") }
                try await client.execute(
                    uri: "/api/v1/me/password", method: .post, headers: bearer(laptop.accessToken),
                    body: body(PasswordChange(currentPassword: "correct horse", newPassword: "battery staple"))
                ) { response in #expect(response.status == .noContent) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(phone.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(laptop.accessToken)) { #expect($0.status == .ok) }
                #expect(try await login(client, "pw@example.com", "correct horse").0 == .unauthorized)
                #expect(try await login(client, "pw@example.com", "battery staple").0 == .ok)
            }
        }
    }

    @Test("people list and end their own sessions, and cannot see anyone else's")
    func ownSessions() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let first = try #require(try await signUp(client, email: "owner@example.com"))
                let second = try #require(try await login(client, "owner@example.com", "correct horse").1)
                let stranger = try #require(try await signUp(client, email: "stranger@example.com"))
                let sessions = try await client.execute(uri: "/api/v1/me/sessions", method: .get, headers: bearer(second.accessToken)) {
                    decoded(SessionListBody.self, $0)?.items ?? []
                }
                #expect(sessions.count == 2)
                #expect(sessions.filter(\.current).count == 1)
                let other = try #require(sessions.first { !$0.current })
                try await client.execute(uri: "/api/v1/me/sessions/\(other.id)", method: .delete, headers: bearer(stranger.accessToken)) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/api/v1/me/sessions/\(other.id)", method: .delete, headers: bearer(second.accessToken)) { response in
                    #expect(response.status == .noContent)
                }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(first.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(second.accessToken)) { #expect($0.status == .ok) }
            }
        }
    }

    @Test("repeated wrong passwords lock sign-in with 429 and Retry-After; the lock lifts with time")
    func bruteForceLock() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(clock: clock) { plaza in
            try await plaza.testApplication().test(.router) { client in
                _ = try await signUp(client, email: "victim@example.com")
                for _ in 0..<5 { #expect(try await login(client, "victim@example.com", "guess guess").0 == .unauthorized) }
                let (status, _, retryAfter) = try await login(client, "victim@example.com", "correct horse")
                #expect(status == .tooManyRequests, "locked even with the right password")
                #expect(Int(retryAfter ?? "") == 30)
                clock.advance(by: 31)
                #expect(try await login(client, "victim@example.com", "guess guess").0 == .unauthorized)
                let (again, _, longer) = try await login(client, "victim@example.com", "correct horse")
                #expect(again == .tooManyRequests)
                #expect(Int(longer ?? "") == 60, "the lock doubles")
                clock.advance(by: 61)
                #expect(try await login(client, "victim@example.com", "correct horse").0 == .ok)
                // Success clears the count.
                #expect(try await login(client, "victim@example.com", "guess guess").0 == .unauthorized)
                #expect(try await login(client, "victim@example.com", "correct horse").0 == .ok)
            }
        }
    }
}
