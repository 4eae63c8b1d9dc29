/// # Gateway — the HTTP edge
///
/// What Kong and the load balancers do in the seeds, done in the server:
///
/// - ``EdgeMiddleware``: request ids (`X-Request-Id`, accepted or made), the client's address behind
///   trusted proxies, RFC 9457 problem+json for every error (404, 405 with `Allow`, 413, 415, 422, 500 —
///   never a stack trace), security headers, a JSON access log line per request, and request metrics.
/// - ``CORSMiddleware``: cross-origin rules from configuration.
/// - ``RateLimitMiddleware``: token buckets per client IP, or per user once signed in, with a rule per
///   route prefix, answering 429 with `Retry-After`.
///
/// Gateway depends only on PlazaKit and Hummingbird; the composition root orders the middlewares.
public enum GatewayModule {}
