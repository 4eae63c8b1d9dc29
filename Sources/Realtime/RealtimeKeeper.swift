import Logging
import ServiceLifecycle

/// The gateway's housekeeping, run beside the server: every `pingInterval` it pings each WebSocket (and
/// drops one that did not answer the last ping) and writes a comment line to each SSE stream; every
/// `Presence.touchInterval` it keeps this instance's presence rows alive. When the server stops it closes
/// every connection (1001) and removes this instance's presence.
public struct RealtimeKeeper: Service {
    let hub: RealtimeHub

    public func run() async throws {
        let (hub, logger) = (self.hub, hub.logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isShuttingDownGracefully, !Task.isCancelled {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: hub.settings.pingInterval) }
                    if !Task.isShuttingDownGracefully { hub.heartbeat() }
                }
            }
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    try await hub.presence.touch()
                } catch {
                    logger.warning("presence touch failed", metadata: ["error": "\(error)"])
                }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Presence.touchInterval) }
            }
            await group.waitForAll()
        }
        await hub.shutdown()
        try? await hub.presence.forgetInstance()
    }
}
