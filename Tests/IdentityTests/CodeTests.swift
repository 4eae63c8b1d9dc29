import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Jobs
import NIOCore
import PlazaKit
import PlazaServer
import PlazaTesting
import Testing

@testable import Identity

@Suite("One-time codes: verification, reset, email change")
struct CodeTests {
    @Test("sign-up sends a verification code; the code verifies the address once")
    func verifyEmail() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "verify@example.com"))
                let code = try #require(try await plaza.issuedCodes().last)
                #expect(code.purpose == .verifyEmail)
                #expect(code.email == "verify@example.com")
                #expect(code.code.count == 6)
                let wrong = code.code == "000000" ? "111111" : "000000"
                try await client.execute(
                    uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                    body: body(EmailVerification(email: "verify@example.com", code: wrong))
                ) { response in
                    #expect(response.status == .badRequest)
                    #expect(decoded(Problem.self, response)?.type.hasSuffix("/code-invalid") == true)
                }
                try await client.execute(
                    uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                    body: body(EmailVerification(email: "verify@example.com", code: code.code))
                ) { response in #expect(response.status == .noContent) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { response in
                    #expect(decoded(Me.self, response)?.emailVerified == true)
                }
                try await client.execute(
                    uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                    body: body(EmailVerification(email: "verify@example.com", code: code.code))
                ) { response in #expect(response.status == .badRequest, "single use") }
            }
        }
    }

    @Test("five wrong guesses use a code up, even though each refusal rolls its own request back; a merge code too")
    func fiveGuesses() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                _ = try #require(try await signUp(client, email: "guess@example.com"))
                let code = try #require(try await plaza.issuedCodes().last).code
                let wrong = code == "000000" ? "111111" : "000000"
                for _ in 0..<5 {
                    try await client.execute(
                        uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                        body: body(EmailVerification(email: "guess@example.com", code: wrong))
                    ) { #expect($0.status == .badRequest) }
                }
                try await client.execute(
                    uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                    body: body(EmailVerification(email: "guess@example.com", code: code))
                ) { #expect($0.status == .badRequest, "the right code comes too late") }
                let attempts = try await plaza.store.sql.raw("SELECT MAX(attempts) AS n FROM identity_codes").first()?.decode(
                    column: "n", as: Int.self)
                #expect(attempts == 5)
            }
        }
    }

    @Test("with verification required, an unverified account cannot sign in")
    func requireVerifiedEmail() async throws {
        try await withTestPlaza(configure: { $0.requireVerifiedEmail = true }) { plaza in
            try await plaza.testApplication().test(.router) { client in
                try await client.execute(
                    uri: "/api/v1/auth/register", method: .post, headers: jsonHeaders,
                    body: body(Registration(email: "strict@example.com", password: "correct horse", firstName: "S", lastName: "T"))
                ) { #expect($0.status == .created) }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "strict@example.com", password: "correct horse"))
                ) { response in
                    #expect(response.status == .forbidden)
                    #expect(decoded(Problem.self, response)?.type.hasSuffix("/email-not-verified") == true)
                }
                let code = try #require(try await plaza.issuedCodes().last)
                try await client.execute(
                    uri: "/api/v1/auth/verify-email", method: .post, headers: jsonHeaders,
                    body: body(EmailVerification(email: "strict@example.com", code: code.code))
                ) { #expect($0.status == .noContent) }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "strict@example.com", password: "correct horse"))
                ) { #expect($0.status == .ok) }
            }
        }
    }

    @Test("a password reset needs the newest code, expires, ends every session, and hides who has an account")
    func passwordReset() async throws {
        let clock = ManualClock(Date())
        try await withTestPlaza(clock: clock) { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "forgetful@example.com"))
                for email in ["forgetful@example.com", "nobody@example.com"] {
                    try await client.execute(
                        uri: "/api/v1/auth/password-reset/request", method: .post, headers: jsonHeaders, body: body(CodeRequest(email: email))
                    ) { #expect($0.status == .accepted) }
                }
                // A second request within a minute is quietly not sent (and still answers 202).
                try await client.execute(
                    uri: "/api/v1/auth/password-reset/request", method: .post, headers: jsonHeaders,
                    body: body(CodeRequest(email: "forgetful@example.com"))
                ) { #expect($0.status == .accepted) }
                let resets = try await plaza.issuedCodes().filter { $0.purpose == .resetPassword }
                #expect(resets.map(\.email) == ["forgetful@example.com"])
                let code = try #require(resets.last)
                // Expired after 15 minutes.
                clock.advance(by: 16 * 60)
                try await client.execute(
                    uri: "/api/v1/auth/password-reset", method: .post, headers: jsonHeaders,
                    body: body(PasswordReset(email: "forgetful@example.com", code: code.code, newPassword: "new secret words"))
                ) { #expect($0.status == .badRequest) }
                try await client.execute(
                    uri: "/api/v1/auth/password-reset/request", method: .post, headers: jsonHeaders,
                    body: body(CodeRequest(email: "forgetful@example.com"))
                ) { #expect($0.status == .accepted) }
                let fresh = try #require(try await plaza.issuedCodes().last)
                try await client.execute(
                    uri: "/api/v1/auth/password-reset", method: .post, headers: jsonHeaders,
                    body: body(PasswordReset(email: "forgetful@example.com", code: fresh.code, newPassword: "new secret words"))
                ) { #expect($0.status == .noContent) }
                try await client.execute(
                    uri: "/api/v1/auth/password-reset", method: .post, headers: jsonHeaders,
                    body: body(PasswordReset(email: "forgetful@example.com", code: fresh.code, newPassword: "another one here"))
                ) { #expect($0.status == .badRequest, "reused") }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { #expect($0.status == .unauthorized) }
                try await client.execute(
                    uri: "/api/v1/auth/login", method: .post, headers: jsonHeaders,
                    body: body(Credentials(email: "forgetful@example.com", password: "new secret words"))
                ) { #expect($0.status == .ok) }
            }
        }
    }

    @Test("an email change is confirmed by a code sent to the new address")
    func emailChange() async throws {
        try await withTestPlaza { plaza in
            try await plaza.testApplication().test(.router) { client in
                let tokens = try #require(try await signUp(client, email: "old@example.com"))
                _ = try await signUp(client, email: "taken@example.com")
                try await client.execute(
                    uri: "/api/v1/me/email", method: .post, headers: bearer(tokens.accessToken),
                    body: body(EmailChange(newEmail: "taken@example.com", password: "correct horse"))
                ) { #expect($0.status == .conflict) }
                try await client.execute(
                    uri: "/api/v1/me/email", method: .post, headers: bearer(tokens.accessToken),
                    body: body(EmailChange(newEmail: "new@example.com", password: "wrong password"))
                ) { #expect($0.status == .unprocessableContent) }
                try await client.execute(
                    uri: "/api/v1/me/email", method: .post, headers: bearer(tokens.accessToken),
                    body: body(EmailChange(newEmail: "New@Example.com", password: "correct horse"))
                ) { #expect($0.status == .accepted) }
                let code = try #require(try await plaza.issuedCodes().last)
                #expect(code.purpose == .changeEmail)
                #expect(code.email == "new@example.com")
                try await client.execute(
                    uri: "/api/v1/me/email/confirm", method: .post, headers: bearer(tokens.accessToken), body: body(CodeConfirmation(code: code.code))
                ) { #expect($0.status == .noContent) }
                try await client.execute(uri: "/api/v1/me", method: .get, headers: bearer(tokens.accessToken)) { response in
                    #expect(decoded(Me.self, response)?.email == "new@example.com")
                }
            }
        }
    }
}
