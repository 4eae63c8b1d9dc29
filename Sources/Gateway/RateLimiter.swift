import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit
import Synchronization

/// Applies the longest-prefix rule to each request: per user when signed in, per client IP otherwise.
public struct RateLimitMiddleware<Context: PlazaRequestContext>: RouterMiddleware {
    let rules: [RateLimitRule]
    let limiter: RateLimiter

    public init(rules: [RateLimitRule], limiter: RateLimiter = RateLimiter()) {
        self.rules = rules.sorted { $0.prefix.count > $1.prefix.count }
        self.limiter = limiter
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard let rule = rules.first(where: { path.hasPrefix($0.prefix) }) else {
            return try await next(request, context)
        }
        let subject = context.principal.map { "user:\($0.id)" } ?? "ip:\(context.client.ip)"
        switch limiter.take("\(rule.prefix)|\(subject)", limit: rule.limit) {
        case .allowed(let remaining):
            var response = try await next(request, context)
            response.headers[.rateLimitLimit] = String(rule.capacity)
            response.headers[.rateLimitRemaining] = String(remaining)
            return response
        case .limited(let retryAfter):
            throw rule.limit.refusal(retryAfter: retryAfter)
        }
    }
}

extension HTTPField.Name {
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
}
