import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// A creating request made under an `Idempotency-Key`, as the idempotency store sees it.
public struct IdempotentRequest: Sendable, Equatable {
    /// Whose key it is: `user:<id>` when signed in, `ip:<address>` otherwise.
    public var scope: String
    public var key: String
    public var method: String
    public var path: String
    public var body: [UInt8]

    public init(scope: String, key: String, method: String, path: String, body: [UInt8]) {
        self.scope = scope
        self.key = key
        self.method = method
        self.path = path
        self.body = body
    }
}

/// The first response given for a key, kept to be replayed.
public struct StoredResponse: Sendable, Codable, Equatable {
    public var status: Int
    public var contentType: String?
    public var location: String?
    public var body: [UInt8]

    public init(status: Int, contentType: String?, location: String?, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.location = location
        self.body = body
    }

    public var response: Response {
        var headers = HTTPFields()
        if let contentType { headers[.contentType] = contentType }
        if let location { headers[.location] = location }
        headers[.idempotencyReplayed] = "true"
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// What to do with a request carrying a key.
public enum IdempotencyDecision: Sendable, Equatable {
    /// First time (or a takeover of a key whose request never finished): run it, as the holder of `claim` —
    /// only the holder may record the answer, so a request that was taken over cannot commit.
    case proceed(claim: String)
    /// Seen and finished: answer what was answered then.
    case replay(StoredResponse)
    /// The key was used for a different request.
    case mismatch
    /// The first request with this key is still running.
    case inProgress
}

/// The first request's answer: the response to send now, and what is kept to replay.
public struct IdempotentOutcome: Sendable {
    public var response: Response
    public var stored: StoredResponse

    public init(response: Response, stored: StoredResponse) {
        self.response = response
        self.stored = stored
    }
}

/// Remembers keys and first responses (implemented in Storage, in the database, so every instance agrees).
public protocol IdempotencyStore: Sendable {
    func begin(_ request: IdempotentRequest) async throws -> IdempotencyDecision
    /// Runs the first request with a key so that what it changes and its response for replay are committed
    /// together or not at all: after a crash at any moment a retry either replays the first answer or runs
    /// for the first time. When `work` throws or answers 5xx, nothing it did is kept and the key is forgotten, so
    /// a retry runs again.
    func perform(
        _ request: IdempotentRequest, claim: String, _ work: @escaping @Sendable () async throws -> IdempotentOutcome
    ) async throws -> IdempotentOutcome
}

extension HTTPField.Name {
    public static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    public static let idempotencyReplayed = HTTPField.Name("Idempotency-Replayed")!
    /// Set by a page to widen its `form-action` by one origin (OAuth's pages, whose forms end in a redirect
    /// to the client); the edge folds it into the Content-Security-Policy and drops it.
    public static let formActionOrigin = HTTPField.Name("Plaza-Form-Action-Origin")!
}

/// Wraps a creating route so a retried request with the same `Idempotency-Key` happens once.
enum IdempotencyGuard {
    static func wrap<Context: PlazaRequestContext>(
        _ handler: @escaping Endpoint<Context>.Handler, store: any IdempotencyStore
    ) -> Endpoint<Context>.Handler {
        { request, context in
            guard let key = request.headers[.idempotencyKey] else { return try await handler(request, context) }
            guard (1...255).contains(key.utf8.count) else {
                throw PlazaError.validation(field: "Idempotency-Key", "must be 1 to 255 characters")
            }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: context.maxUploadSize)
            } catch {
                throw PlazaError.payloadTooLarge(limit: context.maxUploadSize)
            }
            let scope = context.principal.map { "user:\($0.id)" } ?? "ip:\(context.client.ip)"
            let idempotent = IdempotentRequest(
                scope: scope, key: key, method: request.method.rawValue, path: request.uri.path, body: Array(buffer: body))
            switch try await store.begin(idempotent) {
            case .replay(let stored):
                return stored.response
            case .mismatch:
                throw PlazaError(
                    .unprocessableContent, code: "idempotency-mismatch", title: "Idempotency key reused",
                    detail: "This Idempotency-Key was used for a different request.")
            case .inProgress:
                throw PlazaError(
                    .conflict, code: "idempotency-in-progress", title: "Request in progress",
                    detail: "A request with this Idempotency-Key is still running; retry shortly.", headers: ["Retry-After": "1"])
            case .proceed(let claim):
                let collected = request
                return try await store.perform(idempotent, claim: claim) {
                    let response = try await handler(collected, context)
                    let bytes = try await response.collectedBody()
                    let stored = StoredResponse(
                        status: Int(response.status.code), contentType: response.headers[.contentType],
                        location: response.headers[.location], body: bytes)
                    var replayable = Response(status: response.status, headers: response.headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                    replayable.headers[.contentLength] = nil
                    return IdempotentOutcome(response: replayable, stored: stored)
                }.response
            }
        }
    }
}

extension Response {
    /// The body, read into memory: for small answers only (a created resource's JSON, a refusal's problem).
    public func collectedBody() async throws -> [UInt8] {
        let sink = BodySink()
        try await body.write(BodySinkWriter(sink: sink))
        return sink.bytes
    }
}

private final class BodySink: @unchecked Sendable { // one task writes it, then reads it
    var bytes: [UInt8] = []
}

private struct BodySinkWriter: ResponseBodyWriter {
    let sink: BodySink
    mutating func write(_ buffer: ByteBuffer) async throws { sink.bytes.append(contentsOf: buffer.readableBytesView) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
