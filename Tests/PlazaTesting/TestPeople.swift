import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import PlazaKit
import PlazaServer

/// Someone signed up and signed in through Identity's service, with a bearer token for API calls.
public struct Person: Sendable {
    public var id: UUID
    public var email: String
    public var token: String
    public var headers: HTTPFields { [.authorization: "Bearer \(token)", .contentType: "application/json"] }
}

/// Signs someone up (first name from the address: `ada@…` is Ada) and in. The sign-up sends its verification
/// code as a notification, as in production.
public func person(_ plaza: Plaza, _ email: String, locale: String = "en") async throws -> Person {
    _ = try await plaza.identity.register(
        Registration(
            email: email, password: "correct horse", firstName: String(email.prefix(while: { $0 != "@" })).capitalized,
            lastName: "Test", locale: locale),
        caller: .system("test"))
    return try await signIn(plaza, email)
}

/// A fresh token for someone (after a test moved the clock past the old one's life).
public func signIn(_ plaza: Plaza, _ email: String, password: String = "correct horse") async throws -> Person {
    let tokens = try await plaza.identity.login(Credentials(email: email, password: password), caller: .system("test"))
    return Person(id: try await plaza.identity.authenticate(bearer: tokens.accessToken).id, email: email, token: tokens.accessToken)
}

/// A JSON request body.
public func json(_ value: some Encodable) -> ByteBuffer { ByteBuffer(data: try! PlazaJSON.encoder().encode(value)) }

/// A response body as `T`; the error names the status and body, so a failing test says what came back.
public func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    do {
        return try PlazaJSON.decoder().decode(T.self, from: Data(buffer: response.body))
    } catch {
        throw UndecodableResponse(description: "cannot decode \(T.self) from \(response.status) \(String(buffer: response.body)): \(error)")
    }
}

public struct UndecodableResponse: Error, CustomStringConvertible {
    public var description: String
}

extension Plaza {
    /// Numbers events and runs due jobs until nothing is left to do (notifications fan out in jobs that events start).
    public func runPendingWork() async throws {
        for _ in 0..<50 {
            let numbered = try await dispatcher.sequence()
            if try await worker.runDue() == 0, numbered == .numbered(0) { return }
        }
    }
}
