import Foundation
import Hummingbird

/// What Plaza knows about the client on the other end, after trusted proxies are taken into account.
public struct ClientInfo: Sendable, Equatable {
    /// The client's IP address: the socket peer, or the first untrusted hop of `X-Forwarded-For`.
    public var ip: String
    /// Whether the client reached Plaza over TLS (directly or through a trusted proxy's `X-Forwarded-Proto`).
    public var isSecure: Bool

    public init(ip: String = "unknown", isSecure: Bool = false) {
        self.ip = ip
        self.isSecure = isSecure
    }
}

/// The request context every module writes its routes against.
///
/// The edge middleware fills in `requestID` and `client`; authentication fills in `principal`.
/// Only the composition root picks the concrete type.
public protocol PlazaRequestContext: RequestContext {
    var requestID: String { get set }
    var principal: Principal? { get set }
    var client: ClientInfo { get set }
    /// The socket peer's address as the server saw it, before proxies are considered.
    var peerAddress: String? { get }
    /// The body size limit the edge set for this request; the concrete context returns it as `maxUploadSize`.
    var uploadLimit: Int { get set }
    /// The actions this request was authorized for (see ``AuthorizationTrace``).
    var authorizationTrace: AuthorizationTrace { get }
}
