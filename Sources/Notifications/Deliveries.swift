import Foundation
import Jobs
import PlazaKit
import SQLKit
import Storage

/// Filters of the operators' delivery list.
public struct DeliveryQuery: Sendable, Equatable {
    public var state: DeliveryState?
    public var channel: Channel?
    public var user: UUID?
    public var notification: UUID?
    public var template: String?
    public var since: Date?

    public init(
        state: DeliveryState? = nil, channel: Channel? = nil, user: UUID? = nil, notification: UUID? = nil, template: String? = nil,
        since: Date? = nil
    ) {
        self.state = state
        self.channel = channel
        self.user = user
        self.notification = notification
        self.template = template
        self.since = since
    }

    /// Reads `?state=&channel=&userId=&notificationId=&template=&since=`; a bad value is a 422 naming it.
    public init(query: [String: String]) throws {
        func value<T>(_ key: String, _ parse: (String) -> T?, _ expected: String) throws -> T? {
            guard let raw = query[key], !raw.isEmpty else { return nil }
            guard let parsed = parse(raw) else { throw PlazaError.validation(field: key, "must be \(expected)") }
            return parsed
        }
        state = try value("state", DeliveryState.init(rawValue:), DeliveryState.allCases.map(\.rawValue).joined(separator: ", "))
        channel = try value("channel", { Channel(rawValue: $0).flatMap { $0.isOutside ? $0 : nil } }, "email, sms or push")
        user = try value("userId", UUID.init(uuidString:), "an account's id")
        notification = try value("notificationId", UUID.init(uuidString:), "a notification's id")
        template = query["template"].flatMap { $0.isEmpty ? nil : $0 }
        since = try value("since", { PlazaJSON.parseDate($0) }, "a date-time like 2026-11-22T08:00:00Z")
    }
}

/// A provider's report about a message it accepted (an SMS status callback).
public struct ProviderReport: Sendable, Equatable {
    public var reference: String
    public var status: String
    public var errorCode: String?
}

extension NotificationService {
    /// How long one attempt holds its delivery against a second, concurrent attempt.
    static let claim: TimeInterval = 120

    /// One attempt at a delivery: claim it, send it, record what happened, schedule the next try or give up.
    /// A delivery that was sent or given up is left alone, so a job that runs twice sends once.
    func deliver(_ id: UUID) async throws {
        let claimed = try await store.transaction { transaction -> (attempt: Int, channel: String, address: String, content: String?)? in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    UPDATE notification_deliveries
                    SET attempts = attempts + 1, claimed_until = \(bind: now.addingTimeInterval(Self.claim)), updated_at = \(bind: now)
                    WHERE id = \(bind: id) AND state IN ('queued', 'retrying') AND (claimed_until IS NULL OR claimed_until < \(bind: now))
                    RETURNING attempts, channel, address, content
                    """
                ).first()
            else {
                // Another attempt holds it (an operator's retry while a scheduled one runs, or a worker that died
                // mid-send): look again once that claim lapses, when the state will say what happened.
                if let held = try await transaction.sql.raw(
                    """
                    SELECT attempts, claimed_until FROM notification_deliveries
                    WHERE id = \(bind: id) AND state IN ('queued', 'retrying') AND claimed_until >= \(bind: now)
                    """
                ).first() {
                    try await self.scheduleAttempt(
                        id, number: try held.decode(column: "attempts", as: Int.self),
                        at: try held.decode(column: "claimed_until", as: Date.self).addingTimeInterval(1), suffix: ":after-claim",
                        in: transaction)
                }
                return nil
            }
            return (
                try row.decode(column: "attempts", as: Int.self), try row.decode(column: "channel", as: String.self),
                try row.decode(column: "address", as: String.self), try row.decode(column: "content", as: String?.self)
            )
        }
        guard let claimed else { return }
        let started = ContinuousClock.now
        var outcome: Result<String, TransportFailure>
        if let channel = Channel(rawValue: claimed.channel), let transport = transports[channel], let text = claimed.content {
            do {
                let stored = try Self.decode(StoredContent.self, text)
                let reference = try await transport.send(
                    OutgoingMessage(
                        deliveryID: id, channel: channel, address: claimed.address, locale: stored.locale, content: stored.message))
                outcome = .success(reference)
            } catch let failure as TransportFailure {
                outcome = .failure(failure)
            } catch {
                outcome = .failure(TransportFailure("\(error)", permanent: false))
            }
        } else {
            outcome = .failure(TransportFailure("the \(claimed.channel) channel is not configured on this installation", permanent: true))
        }
        let milliseconds = Int((ContinuousClock.now - started) / .milliseconds(1))
        try await record(outcome, of: id, attempt: claimed.attempt, milliseconds: milliseconds)
    }

    private func record(_ outcome: Result<String, TransportFailure>, of id: UUID, attempt: Int, milliseconds: Int) async throws {
        let settings = self.settings
        let logger = self.logger
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            switch outcome {
            case .success(let reference):
                // The words are dropped once sent: a code in an e-mail should not outlive its use in the database.
                try await transaction.sql.raw(
                    """
                    UPDATE notification_deliveries SET state = 'sent', provider_ref = \(bind: reference), sent_at = \(bind: now),
                           updated_at = \(bind: now), content = NULL, last_error = NULL, next_attempt_at = NULL, claimed_until = NULL
                    WHERE id = \(bind: id)
                    """
                ).run()
            case .failure(let failure):
                let message = String(failure.message.prefix(2000))
                if failure.permanent || attempt >= settings.maxAttempts {
                    try await transaction.sql.raw(
                        """
                        UPDATE notification_deliveries SET state = 'given-up', last_error = \(bind: message), updated_at = \(bind: now),
                               next_attempt_at = NULL, claimed_until = NULL
                        WHERE id = \(bind: id)
                        """
                    ).run()
                    logger.warning("a notification was given up", metadata: ["delivery": "\(id)", "error": "\(message)"])
                } else {
                    let next = now.addingTimeInterval(JobQueue.backoff(attempt: attempt, base: settings.baseBackoff, cap: settings.maxBackoff))
                    try await transaction.sql.raw(
                        """
                        UPDATE notification_deliveries SET state = 'retrying', last_error = \(bind: message), updated_at = \(bind: now),
                               next_attempt_at = \(bind: next), claimed_until = NULL
                        WHERE id = \(bind: id)
                        """
                    ).run()
                    try await self.scheduleAttempt(id, number: attempt, at: next, in: transaction)
                }
            }
            let error: String? = if case .failure(let failure) = outcome { String(failure.message.prefix(2000)) } else { nil }
            try await transaction.sql.raw(
                """
                INSERT INTO notification_delivery_attempts (delivery_id, attempt, at, outcome, error, milliseconds)
                VALUES (\(bind: id), \(bind: attempt), \(bind: now), \(bind: error == nil ? "sent" : "failed"), \(bind: error), \(bind: milliseconds))
                ON CONFLICT (delivery_id, attempt) DO NOTHING
                """
            ).run()
        }
    }

    // MARK: Operators

    public func deliveries(_ query: DeliveryQuery, page: PageRequest, caller: Caller) async throws -> Page<NotificationDelivery> {
        try policy.authorize(caller, NotificationPolicy.readDeliveries)
        var sql: SQLQueryString = "SELECT * FROM notification_deliveries WHERE 1 = 1"
        if let state = query.state { sql += " AND state = \(bind: state.rawValue)" }
        if let channel = query.channel { sql += " AND channel = \(bind: channel.rawValue)" }
        if let user = query.user { sql += " AND user_id = \(bind: user)" }
        if let notification = query.notification { sql += " AND notification_id = \(bind: notification)" }
        if let template = query.template { sql += " AND template = \(bind: template)" }
        if let since = query.since { sql += " AND created_at >= \(bind: since)" }
        if let cursor = page.cursor { sql += " AND id < \(bind: try Cursor.decodeID(cursor))" }
        sql += " ORDER BY id DESC LIMIT \(literal: page.limit + 1)"
        return .byID(try await store.sql.raw(sql).all().map { try Self.delivery($0) }, limit: page.limit, id: \.id)
    }

    /// One delivery with every attempt.
    public func delivery(_ id: UUID, caller: Caller) async throws -> NotificationDelivery {
        try policy.authorize(caller, NotificationPolicy.readDeliveries)
        guard let row = try await store.sql.raw("SELECT * FROM notification_deliveries WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("There is no delivery \(id).")
        }
        var delivery = try Self.delivery(row)
        delivery.history = try await store.sql.raw(
            """
            SELECT * FROM notification_delivery_attempts WHERE delivery_id = \(bind: id) ORDER BY attempt
            """
        ).all().map { row in
            DeliveryAttempt(
                attempt: try row.decode(column: "attempt", as: Int.self), at: try row.decode(column: "at", as: Date.self),
                outcome: try row.decode(column: "outcome", as: String.self), error: try row.decode(column: "error", as: String?.self),
                milliseconds: try row.decode(column: "milliseconds", as: Int.self))
        }
        return delivery
    }

    /// Tries a delivery again now: one that is retrying (without waiting), or one that was given up. A sent
    /// delivery is a 409: sending it again is what dedupe exists to prevent.
    public func retry(_ id: UUID, caller: Caller) async throws -> NotificationDelivery {
        try policy.authorize(caller, NotificationPolicy.retryDeliveries)
        try await store.transaction { transaction in
            let now = transaction.clock.now()
            guard
                let row = try await transaction.sql.raw(
                    """
                    SELECT state, attempts, content FROM notification_deliveries WHERE id = \(bind: id)
                    """
                ).first()
            else { throw PlazaError.notFound("There is no delivery \(id).") }
            let state = try row.decode(column: "state", as: String.self)
            guard state == DeliveryState.retrying.rawValue || state == DeliveryState.givenUp.rawValue else {
                throw PlazaError.conflict("This delivery is \(state); only a retrying or given-up delivery can be tried again.")
            }
            guard try row.decode(column: "content", as: String?.self) != nil else {
                throw PlazaError.conflict("This delivery's words are gone, so it cannot be sent again.")
            }
            try await transaction.sql.raw(
                """
                UPDATE notification_deliveries SET state = 'queued', next_attempt_at = NULL, updated_at = \(bind: now) WHERE id = \(bind: id)
                """
            ).run()
            let attempts = try row.decode(column: "attempts", as: Int.self)
            try await self.scheduleAttempt(id, number: attempts, at: nil, suffix: ":retry:\(Int(now.timeIntervalSince1970 * 1000))", in: transaction)
            try await transaction.audit(caller, action: "notifications.delivery.retry", resourceType: "delivery", resourceID: id.uuidString)
        }
        return try await delivery(id, caller: caller)
    }

    /// Records what a provider said later about a message it accepted (SMS `delivered`, `undelivered`, `failed`).
    /// A failure after acceptance is noted, not retried: the provider already tried, and another send could arrive twice.
    public func record(_ report: ProviderReport) async throws {
        try await store.transaction { transaction in
            let status = report.errorCode.map { "\(report.status) (\($0))" } ?? report.status
            try await transaction.sql.raw(
                """
                UPDATE notification_deliveries SET provider_status = \(bind: String(status.prefix(100))), updated_at \
                = \(bind: transaction.clock.now())
                WHERE provider_ref = \(bind: report.reference)
                """
            ).run()
        }
    }

    static func delivery(_ row: any SQLRow) throws -> NotificationDelivery {
        NotificationDelivery(
            id: try row.decode(column: "id", as: UUID.self), notificationId: try row.decode(column: "notification_id", as: UUID.self),
            userId: try row.decode(column: "user_id", as: UUID?.self),
            channel: Channel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .email,
            address: try row.decode(column: "address", as: String.self), template: try row.decode(column: "template", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            state: DeliveryState(rawValue: try row.decode(column: "state", as: String.self)) ?? .queued,
            attempts: try row.decode(column: "attempts", as: Int.self), nextAttemptAt: try row.decode(column: "next_attempt_at", as: Date?.self),
            lastError: try row.decode(column: "last_error", as: String?.self), providerRef: try row.decode(column: "provider_ref", as: String?.self),
            providerStatus: try row.decode(column: "provider_status", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: Date.self), updatedAt: try row.decode(column: "updated_at", as: Date.self),
            sentAt: try row.decode(column: "sent_at", as: Date?.self), history: nil)
    }
}
