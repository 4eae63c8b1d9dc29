import Foundation
import Hummingbird
import Realtime
import Logging
import NIOCore
import PlazaKit

/// The request context of the running server: Hummingbird's core storage plus what Plaza's edge fills in.
public struct AppRequestContext: PlazaRequestContext, RealtimeRequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID: String = ""
    public var principal: Principal?
    public var client = ClientInfo()
    public var uploadLimit: Int = 2 * 1024 * 1024
    public let peerAddress: String?
    public let authorizationTrace = AuthorizationTrace()
    /// Where the realtime route leaves who is upgrading, for the socket that follows.
    public let realtimeUpgrade = RealtimeUpgrade()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.peerAddress = source.channel.remoteAddress?.ipAddress
    }

    public var maxUploadSize: Int { uploadLimit }
}
