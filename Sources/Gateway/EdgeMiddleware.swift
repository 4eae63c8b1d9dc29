import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import PlazaKit
import Synchronization

/// The outermost middleware: names the request, finds the client, turns every error into problem+json,
/// adds security headers, logs one line and records metrics.
public struct EdgeMiddleware<Context: PlazaRequestContext>: RouterMiddleware {
    let settings: EdgeSettings
    /// The methods routed for a path, so an unmatched method gets 405 with `Allow` rather than 404.
    let allowedMethods: @Sendable (String) -> [HTTPRequest.Method]
    let accessLog: Logger
    let metrics = RequestMetrics()
    let clientResolver: ClientResolver
    /// Path prefixes whose refusals an app draws in another system's shape.
    let envelopes: [EnvelopedPrefix]

    public init(
        settings: EdgeSettings, accessLog: Logger, envelopes: [EnvelopedPrefix] = [],
        allowedMethods: @escaping @Sendable (String) -> [HTTPRequest.Method]
    ) {
        self.settings = settings
        self.envelopes = envelopes.sorted { $0.prefix.count > $1.prefix.count }
        self.accessLog = accessLog
        self.allowedMethods = allowedMethods
        self.clientResolver = ClientResolver(trustedProxies: settings.trustedProxies)
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(from: request)
        context.client = clientResolver.resolve(peer: context.peerAddress, headers: request.headers)
        context.uploadLimit = settings.maxBodySize
        context.logger[metadataKey: "requestId"] = .string(context.requestID)

        var response: Response
        if let length = request.headers[.contentLength].flatMap(Int.init), length > settings.maxBodySize,
            !settings.streamingBodyPaths.contains(request.uri.path)
        {
            response = problem(
                .payloadTooLarge(limit: settings.maxBodySize, size: length),
                request: request, context: context)
        } else if let parameter = Self.queryParameterWithNUL(request) {
            // Text is stored exactly as sent or refused (InputText): a NUL cannot reach a query or a filter.
            response = problem(.validation(field: parameter, InputText.nulMessage), request: request, context: context)
        } else {
            do {
                response = try await next(request, context)
            } catch {
                response = self.response(for: error, request: request, context: context)
            }
        }
        addHeaders(to: &response, context: context)
        let status = response.status
        // Unmatched paths share one label, so scanners cannot blow up the metric's cardinality.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        // Measured when the response is ready to write: Plaza's bodies are buffered, not streamed.
        let seconds = (ContinuousClock.now - started).timeInterval
        metrics.record(method: request.method, route: route, status: status.code, nanoseconds: Int64(seconds * 1e9))
        if accessLog.logLevel <= .info {
            var metadata: Logger.Metadata = [
                "requestId": .string(context.requestID), "method": .string(request.method.rawValue),
                "path": .string(request.uri.path), "route": .string(route), "status": .stringConvertible(status.code),
                "durationMs": .stringConvertible((seconds * 100_000).rounded() / 100), "ip": .string(context.client.ip),
            ]
            if let principal = context.principal { metadata["principal"] = .string(principal.id.uuidString) }
            accessLog.info("request", metadata: metadata)
        }
        return response
    }

    /// The first query parameter whose name or value decodes to a NUL (`%00`); cheap when there is none.
    static func queryParameterWithNUL(_ request: Request) -> String? {
        guard let query = request.uri.query, query.contains("%00") else { return nil }
        return InputText.fieldWithNUL(in: request.uri.queryParameters.lazy.map { (String($0.key), String($0.value)) })
    }

    /// The caller's `X-Request-Id` if it is a sane token, otherwise a new one.
    static func requestID(from request: Request) -> String {
        if let given = request.headers[.requestID], (1...128).contains(given.utf8.count),
            given.utf8.allSatisfy({
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
                    || $0 == 0x3A
            })
        {
            return given
        }
        return RequestIDs.next()
    }

    func response(for error: any Error, request: Request, context: Context) -> Response {
        switch error {
        case let error as PlazaError:
            return problem(error, request: request, context: context)
        case let error as any AnsweredInItsOwnForm:
            return error.response
        case let error as HTTPError where error.status == .notFound && context.endpointPath == "NotFound":
            let methods = allowedMethods(request.uri.path)
            if !methods.isEmpty {
                let allow = methods.map(\.rawValue).sorted().joined(separator: ", ")
                return problem(
                    PlazaError(
                        .methodNotAllowed, code: "method-not-allowed", title: "Method not allowed",
                        detail: "\(request.method.rawValue) is not allowed on \(request.uri.path); use \(allow).",
                        headers: ["Allow": allow]),
                    request: request, context: context)
            }
            return problem(
                .notFound("No route matches \(request.method.rawValue) \(request.uri.path)."), request: request, context: context)
        case let error as HTTPError:
            return problem(
                PlazaError(
                    error.status, code: "http-\(error.status.code)", title: error.status.reasonPhrase,
                    detail: error.body ?? error.status.reasonPhrase),
                request: request, context: context)
        case let error as DecodingError:
            return problem(PlazaJSON.problem(for: error), request: request, context: context)
        case let error as any HTTPResponseError where error.status.code < 500:
            return problem(
                PlazaError(error.status, code: "http-\(error.status.code)", title: error.status.reasonPhrase),
                request: request, context: context)
        default:
            context.logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error))])
            return problem(
                PlazaError(
                    .internalServerError, code: "internal", title: "Internal error",
                    detail: "Something went wrong on our side. Quote request id \(context.requestID) when reporting it."),
                request: request, context: context)
        }
    }

    func problem(_ error: PlazaError, request: Request, context: Context) -> Response {
        let problem = error.problem(instance: request.uri.path, requestId: context.requestID)
        if let enveloped = envelopes.first(where: { request.uri.path.hasPrefix($0.prefix) }) {
            return enveloped.envelope.response(error, problem)
        }
        if !request.uri.path.hasPrefix("/api"), request.headers[.accept]?.contains("text/html") == true {
            return Self.htmlError(problem, headers: error.headers)
        }
        return Response.problem(problem, headers: error.headers)
    }

    /// A readable page for people who opened a page URL in a browser.
    static func htmlError(_ problem: Problem, headers extra: [String: String]) -> Response {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(problem.status) \(escape(problem.title)) · Plaza</title></head>
            <body><main><h1>\(escape(problem.title))</h1><p>\(escape(problem.detail ?? ""))</p>
            <p><small>Request id: \(escape(problem.requestId ?? ""))</small></p><p><a href="/">Back to Plaza</a></p></main></body></html>
            """
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        for (name, value) in extra { if let field = HTTPField.Name(name) { headers[field] = value } }
        return Response(status: .init(code: problem.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func addHeaders(to response: inout Response, context: Context) {
        response.headers[.requestID] = context.requestID
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.referrerPolicy] = "strict-origin-when-cross-origin"
        if response.headers[.contentSecurityPolicy] == nil {
            var policy = settings.contentSecurityPolicy
            // A page whose form leads on to another site (OAuth's consent and sign-in, which end in a redirect
            // to the client) names that one origin; browsers check `form-action` on every redirect after a post.
            if let origin = response.headers[.formActionOrigin], Self.isOrigin(origin) {
                policy = policy.replacingOccurrences(of: "form-action 'self'", with: "form-action 'self' \(origin)")
            }
            response.headers[.contentSecurityPolicy] = policy
        }
        response.headers[.formActionOrigin] = nil
        if context.client.isSecure {
            response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains"
        }
    }
}

extension EdgeMiddleware {
    /// `scheme://host[:port]` and nothing that could end the directive or start another.
    static func isOrigin(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme, url.host?.isEmpty == false, url.path.isEmpty,
            url.query == nil, url.fragment == nil, text.count < 300
        else { return false }
        return ["http", "https"].contains(scheme.lowercased()) || scheme.contains(".")
            ? text.allSatisfy { $0.isLetter || $0.isNumber || ":/.-[]".contains($0) } : false
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let xForwardedProto = HTTPField.Name("X-Forwarded-Proto")!
}

/// Request ids made here: a random 64-bit prefix per process and a counter, in hex (`3f9c…-00000000002a`).
/// Unique across instances without a syscall or a lock on the request path, unlike a random UUID.
enum RequestIDs {
    static let prefix: String = {
        var rng = SystemRandomNumberGenerator()
        return hex(rng.next(), width: 16)
    }()
    static let counter = Atomic<UInt64>(0)

    static func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + "-" + hex(value, width: 12)
    }

    static func hex(_ value: UInt64, width: Int) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes = [UInt8](repeating: 0x30, count: width)
        var rest = value
        for index in stride(from: width - 1, through: 0, by: -1) {
            bytes[index] = digits[Int(rest & 0xF)]
            rest >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// The request counters and latency histograms, looked up once per route rather than on every request.
final class RequestMetrics: Sendable {
    struct Key: Hashable {
        let method: HTTPRequest.Method
        let route: String
        let status: Int
    }
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[Key: Metrics.Timer]>([:])

    func record(method: HTTPRequest.Method, route: String, status: Int, nanoseconds: Int64) {
        let key = Key(method: method, route: route, status: status)
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "plaza_http_requests_total", dimensions: [("method", method.rawValue), ("route", route), ("status", String(status))])
            counters[key] = counter
            return counter
        }
        counter.increment()
        let timerKey = Key(method: method, route: route, status: 0)
        let timer = timers.withLock { timers in
            if let timer = timers[timerKey] { return timer }
            let timer = Metrics.Timer(label: "plaza_http_request_duration_seconds", dimensions: [("method", method.rawValue), ("route", route)])
            timers[timerKey] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }
}

/// Finds the client's address and scheme, believing forwarding headers only from trusted proxies.
struct ClientResolver: Sendable {
    let trustedProxies: [IPAddressRange]

    func isTrusted(_ address: String) -> Bool { trustedProxies.contains { $0.contains(address) } }

    func resolve(peer: String?, headers: HTTPFields) -> ClientInfo {
        let peerAddress = peer ?? "unknown"
        guard peer != nil, isTrusted(peerAddress) else { return ClientInfo(ip: peerAddress, isSecure: false) }
        // Walk X-Forwarded-For from the nearest hop outwards; the first untrusted hop is the client.
        var client = peerAddress
        let hops = headers[values: .xForwardedFor]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        for hop in hops.reversed() {
            client = hop
            if !isTrusted(hop) { break }
        }
        let proto = headers[.xForwardedProto]?.split(separator: ",").first?.trimmingCharacters(in: .whitespaces).lowercased()
        return ClientInfo(ip: client, isSecure: proto == "https")
    }
}
