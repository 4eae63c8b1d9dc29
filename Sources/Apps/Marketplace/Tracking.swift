import Foundation
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    /// The provider's position on the way to and during a job (`in_progress`): stored as the trail's next
    /// point and pushed to the customer alone (`marketplace-location:<id>`). Points closer together than
    /// `locationInterval` are refused with 429, across instances (the last point's time is in the database).
    public func track(_ id: UUID, _ point: LocationInput, caller: Caller) async throws -> LocationPoint {
        var errors: [FieldError] = []
        NumberLimit.latitude.check(point.lat, field: "lat", into: &errors)
        NumberLimit.longitude.check(point.lng, field: "lng", into: &errors)
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        try await authorizeRead(record, caller: caller)
        try policy.authorize(caller, MarketplacePolicy.track, record.facts)
        guard record.request.status == "in_progress" else {
            throw PlazaError.conflict("Locations are shared only while the job is in progress; it is \(record.request.status).")
        }
        let interval = settings.locationInterval
        let tooOften = PlazaError(
            .tooManyRequests, code: "location-too-often", title: "Too many requests",
            detail: "Send a location at most every \(interval.formatted()) seconds.")
        do {
            return try await store.transaction { transaction in
                let now = transaction.clock.now()
                let last = try await transaction.sql.raw(
                    """
                    SELECT seq, at FROM marketplace_locations WHERE request_id = \(bind: id) ORDER BY seq DESC LIMIT 1
                    """
                ).first()
                let seq = try last.map { try $0.decode(column: "seq", as: Int.self) } ?? 0
                if let at = try last?.decode(column: "at", as: Date.self), now.timeIntervalSince(at) < interval { throw tooOften }
                try await transaction.sql.raw(
                    """
                    INSERT INTO marketplace_locations (request_id, seq, lat, lng, at)
                    VALUES (\(bind: id), \(bind: seq + 1), \(bind: point.lat), \(bind: point.lng), \(bind: now))
                    """
                ).run()
                let stored = LocationPoint(lat: point.lat, lng: point.lng, at: now)
                try await publisher.publish(
                    [
                        "kind": "location", "requestId": .string(id.uuidString.lowercased()), "lat": .number(point.lat), "lng": .number(point.lng),
                        "at": .string(now.formatted(.iso8601)),
                    ] as [String: JSONValue],
                    to: "marketplace-location:\(id.uuidString.lowercased())", in: transaction)
                return stored
            }
        } catch let error where isUniqueViolation(error) {
            throw tooOften // another point took this place in the trail at the same moment
        }
    }

    /// The last point and the trail of the active job, for the request's customer.
    public func tracking(_ id: UUID, caller: Caller) async throws -> Tracking {
        guard let record = try await record(id, on: store.sql) else { throw Self.requestNotFound(id) }
        let facts = try await authorizeRead(record, caller: caller)
        guard policy.allowsQuietly(caller, MarketplacePolicy.watchLocation, facts) else {
            throw PlazaError.forbidden("The provider's location is shown to the request's customer only.")
        }
        try policy.authorize(caller, MarketplacePolicy.watchLocation, facts)
        let points = try await store.sql.raw("SELECT lat, lng, at FROM marketplace_locations WHERE request_id = \(bind: id) ORDER BY seq").all().map {
            row in
            LocationPoint(
                lat: try row.decode(column: "lat", as: Double.self), lng: try row.decode(column: "lng", as: Double.self),
                at: try row.decode(column: "at", as: Date.self))
        }
        return Tracking(last: points.last, trail: record.request.status == "in_progress" ? points : [])
    }

    /// When a job ends its trail goes; only the last point stays.
    func keepLastPoint(of id: UUID, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            """
            DELETE FROM marketplace_locations WHERE request_id = \(bind: id)
              AND seq < (SELECT MAX(seq) FROM marketplace_locations WHERE request_id = \(bind: id))
            """
        ).run()
    }
}
