import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Listens on PostgreSQL NOTIFY channels over one dedicated connection and calls the handlers registered
/// for each channel: how instances wake each other's workers and fan events out.
///
/// Reconnects with backoff when the connection drops; a missed notification only delays work until the
/// listeners' next poll.
public final class PostgresListener: Service, Sendable {
    public typealias Handler = @Sendable (_ payload: String) -> Void

    private let url: String
    private let logger: Logger
    private let handlers = Mutex<[String: [Handler]]>([:])

    public init(url: String, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    /// Registers a handler for a channel; call before `run()`.
    public func on(_ channel: String, _ handler: @escaping Handler) {
        handlers.withLock { $0[channel, default: []].append(handler) }
    }

    public func run() async throws {
        let configuration = try PostgresURL.connectionConfiguration(url)
        guard !handlers.withLock({ $0.isEmpty }) else { return }
        var delay = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
                ).get()
                delay = .milliseconds(100)
                let channels = handlers.withLock { $0 }
                _ = await cancelWhenGracefulShutdown {
                    await withTaskGroup(of: Void.self) { group in
                        for (channel, callbacks) in channels {
                            group.addTask {
                                do {
                                    try await connection.listen(on: channel) { notifications in
                                        for try await notification in notifications {
                                            for callback in callbacks { callback(notification.payload) }
                                        }
                                    }
                                } catch {
                                    self.logger.warning("LISTEN \(channel) ended", metadata: ["error": "\(error)"])
                                }
                            }
                        }
                        // If one channel's listener ends, the connection is in doubt: start over.
                        await group.next()
                        group.cancelAll()
                    }
                }
                try? await connection.close()
            } catch {
                logger.warning("cannot connect for LISTEN; retrying", metadata: ["error": "\(error)", "in": "\(delay)"])
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            // The back-off (up to 10 s) must not hold up a stop while the database is away.
            let pause = delay
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            delay = min(delay * 2, .seconds(10))
        }
    }
}
