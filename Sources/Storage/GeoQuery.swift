import PlazaKit
import SQLKit

/// Near-a-point filters and sorts for any table with a point in two columns, on both databases.
///
/// The filter is a box first (`lat BETWEEN … AND lng BETWEEN …`, which an index on `(lat, lng)` — or on
/// `(something, lat, lng)` — answers) and then the exact planar radius; the sort key is the squared planar
/// distance (``LocalPlane``), so "nearest first" is `ORDER BY` that expression and a keyset cursor can carry it.
public struct GeoQuery: Sendable {
    public let plane: LocalPlane
    /// The two columns, as written in the query (`p.lat`, `p.lng`). They are SQL, not values: pass names
    /// the code chose, never input.
    public let latColumn: String
    public let lngColumn: String

    public init(near centre: GeoPoint, lat latColumn: String, lng lngColumn: String) {
        plane = LocalPlane(centre)
        self.latColumn = latColumn
        self.lngColumn = lngColumn
    }

    /// The squared distance in km² from the centre to the row's point, as SQL (NULL when the row has none).
    public var squaredDistance: SQLQueryString {
        let x: SQLQueryString = "((\(unsafeRaw: lngColumn) - \(bind: plane.centre.lng)) * \(bind: plane.kmPerDegreeLng))"
        let y: SQLQueryString = "((\(unsafeRaw: latColumn) - \(bind: plane.centre.lat)) * \(bind: LocalPlane.kmPerDegreeLat))"
        return "(\(x) * \(x) + \(y) * \(y))"
    }

    /// Rows whose point is within `radiusKm` of the centre: the box, then the circle.
    public func within(radiusKm: Double) -> [SQLQueryString] {
        box(radiusKm: radiusKm) + ["\(squaredDistance) <= \(bind: radiusKm * radiusKm)"]
    }

    /// Rows whose point is in the box around a circle of `radiusKm`: the index's part of a radius filter, for
    /// a query whose circle is not one number (each row's own service radius).
    public func box(radiusKm: Double) -> [SQLQueryString] {
        let box = plane.box(radiusKm: radiusKm)
        return [
            "\(unsafeRaw: latColumn) BETWEEN \(bind: box.lat.lowerBound) AND \(bind: box.lat.upperBound)",
            "\(unsafeRaw: lngColumn) BETWEEN \(bind: box.lng.lowerBound) AND \(bind: box.lng.upperBound)",
        ]
    }
}
