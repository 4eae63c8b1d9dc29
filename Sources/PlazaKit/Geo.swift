import Foundation

/// A point on the Earth in degrees (WGS 84, as phones and maps give it).
public struct GeoPoint: Sendable, Hashable, Codable {
    public var lat: Double
    public var lng: Double

    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }

    /// Nil unless both are finite and on the globe (latitude −90…90, longitude −180…180).
    public init?(checkingLat lat: Double, lng: Double) {
        guard lat.isFinite, lng.isFinite, (-90...90).contains(lat), (-180...180).contains(lng) else { return nil }
        self.init(lat: lat, lng: lng)
    }

    /// The great-circle distance in kilometres (haversine): the number a person is shown.
    public func kilometres(to other: GeoPoint) -> Double {
        let rad = Double.pi / 180
        let dLat = (other.lat - lat) * rad
        let dLng = (other.lng - lng) * rad
        let a = sin(dLat / 2) * sin(dLat / 2) + cos(lat * rad) * cos(other.lat * rad) * sin(dLng / 2) * sin(dLng / 2)
        return 6371.0088 * 2 * atan2(sqrt(a), sqrt(1 - a))
    }
}

/// A flat map around one point, for searching near it: within a few hundred kilometres, degrees scaled to
/// kilometres at the point's latitude are within a fraction of a percent of the true distance, and the
/// squared planar distance is plain arithmetic an index-backed SQL query can sort by (Storage's `GeoQuery`
/// writes it). Shown distances use ``GeoPoint/kilometres(to:)``.
public struct LocalPlane: Sendable {
    public static let kmPerDegreeLat = 110.574
    public let centre: GeoPoint
    /// Kilometres per degree of longitude at the centre's latitude (never zero, even at a pole).
    public let kmPerDegreeLng: Double

    public init(_ centre: GeoPoint) {
        self.centre = centre
        kmPerDegreeLng = max(0.001, 111.320 * cos(centre.lat * .pi / 180))
    }

    /// The box of degrees that holds a circle of `radiusKm` around the centre: a cheap first filter an index
    /// on (lat, lng) answers, before the exact distance.
    public func box(radiusKm: Double) -> (lat: ClosedRange<Double>, lng: ClosedRange<Double>) {
        let dLat = radiusKm / Self.kmPerDegreeLat
        let dLng = radiusKm / kmPerDegreeLng
        return ((centre.lat - dLat)...(centre.lat + dLat), (centre.lng - dLng)...(centre.lng + dLng))
    }

    /// The squared planar distance in km² from the centre: the order a distance sort uses.
    public func squaredKilometres(to point: GeoPoint) -> Double {
        let x = (point.lng - centre.lng) * kmPerDegreeLng
        let y = (point.lat - centre.lat) * Self.kmPerDegreeLat
        return x * x + y * y
    }
}
