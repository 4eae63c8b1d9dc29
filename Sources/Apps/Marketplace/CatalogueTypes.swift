import Foundation
import PlazaKit

/// A node of the category tree (plumbing → leaks, boilers).
public struct ServiceCategory: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var parentId: UUID?
    public var name: String
    public var slug: String
    public var description: String?
    /// A file uploaded with purpose `category-image`.
    public var imageFileId: UUID?
    public var position: Int

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "parentId": .nullable(.uuid), "name": .text, "slug": .text, "description": .nullable(.text),
                "imageFileId": .nullable(.uuid), "position": .integer(format: "int32"),
            ],
            required: ["id", "parentId", "name", "slug", "position"])
    }
}

/// `POST /api/v1/marketplace/categories` and `PATCH …/{id}` (absent fields stay as they are).
public struct CategoryInput: Codable, Sendable, Equatable, APISchema {
    public var parentId: UUID?
    public var name: String?
    public var slug: String?
    public var description: String?
    public var imageFileId: UUID?
    public var position: Int?

    public init(
        parentId: UUID? = nil, name: String? = nil, slug: String? = nil, description: String? = nil, imageFileId: UUID? = nil, position: Int? = nil
    ) {
        self.parentId = parentId
        self.name = name
        self.slug = slug
        self.description = description
        self.imageFileId = imageFileId
        self.position = position
    }

    static let nameLimit = TextLimit(1...100)
    static let slugLimit = TextLimit(1...100)
    static let slugPattern = "^[a-z0-9-]+$"
    static let descriptionLimit = TextLimit.atMost(2000)
    static let positionLimit = IntegerLimit(0...100_000)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "parentId": .uuid, "name": nameLimit.schema,
                "slug": .string(
                    description: "Lower-case letters, digits and dashes; made from the name when absent.", minLength: slugLimit.length.lowerBound,
                    maxLength: slugLimit.length.upperBound, pattern: slugPattern),
                "description": descriptionLimit.schema, "imageFileId": .uuid, "position": positionLimit.schema,
            ],
            required: [])
    }
}

/// A category a provider offers, with its price range in the marketplace's currency.
public struct Offer: Codable, Sendable, Equatable, APISchema {
    public var categoryId: UUID
    public var priceMin: Money
    public var priceMax: Money

    public init(categoryId: UUID, priceMin: Money, priceMax: Money) {
        self.categoryId = categoryId
        self.priceMin = priceMin
        self.priceMax = priceMax
    }

    public static var schema: JSONSchema { schema(currency: nil) }

    /// With a currency: as the API takes an offer, in the marketplace's currency.
    static func schema(currency: Currency?) -> JSONSchema {
        .object(
            properties: ["categoryId": .uuid, "priceMin": MarketplacePrice.schema(currency), "priceMax": MarketplacePrice.schema(currency)],
            required: ["categoryId", "priceMin", "priceMax"])
    }
}

/// Hours a provider works every week, in the provider's time zone: weekday 1 is Monday, 7 Sunday.
public struct WeeklySlot: Codable, Sendable, Equatable, APISchema {
    public var weekday: Int
    /// `HH:mm`.
    public var start: String
    /// `HH:mm`, after `start`; `24:00` is the end of the day.
    public var end: String

    public init(weekday: Int, start: String, end: String) {
        self.weekday = weekday
        self.start = start
        self.end = end
    }

    /// A time of day as the validator reads it (``MarketplaceService/minute(_:)``): midnight may end a day as 24:00.
    static let timePattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"

    public static var schema: JSONSchema {
        .object(
            properties: [
                "weekday": .integer(format: "int32", minimum: 1, maximum: 7),
                "start": .string(description: "HH:mm, 00:00 to 24:00", pattern: timePattern),
                "end": .string(description: "HH:mm, 00:00 to 24:00", pattern: timePattern),
            ],
            required: ["weekday", "start", "end"])
    }
}

/// A time a provider does not work (a holiday), whatever the weekly hours say.
public struct TimeOff: Codable, Sendable, Equatable, APISchema {
    public var startsAt: Date
    public var endsAt: Date
    public var reason: String?

    public init(startsAt: Date, endsAt: Date, reason: String? = nil) {
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.reason = reason
    }

    public static var schema: JSONSchema {
        .object(properties: ["startsAt": .dateTime, "endsAt": .dateTime, "reason": .nullable(.text)], required: ["startsAt", "endsAt"])
    }
}

/// Where a provider works: a centre and a radius.
public struct ServiceArea: Codable, Sendable, Equatable, APISchema {
    public var lat: Double
    public var lng: Double
    public var radiusKm: Double

    public init(lat: Double, lng: Double, radiusKm: Double) {
        self.lat = lat
        self.lng = lng
        self.radiusKm = radiusKm
    }

    /// How far a provider travels: at least 100 m, at most 200 km.
    static let radiusLimit = NumberLimit(0.1...200)

    public static var schema: JSONSchema {
        .object(
            properties: ["lat": NumberLimit.latitude.schema, "lng": NumberLimit.longitude.schema, "radiusKm": radiusLimit.schema],
            required: ["lat", "lng", "radiusKm"])
    }
}

/// A provider's reviews in numbers: the mean of the visible ones, how many, and how many of each star.
public struct RatingSummary: Codable, Sendable, Equatable, APISchema {
    public var average: Double
    public var count: Int
    /// Five counts: one star first.
    public var stars: [Int]

    public init(average: Double, count: Int, stars: [Int]) {
        self.average = average
        self.count = count
        self.stars = stars
    }

    public static var schema: JSONSchema {
        .object(
            properties: ["average": .number, "count": .integer(format: "int32"), "stars": .array(.integer(format: "int32"))],
            required: ["average", "count", "stars"])
    }
}

/// A provider's public profile.
public struct ProviderProfile: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var userId: UUID
    public var displayName: String
    public var bio: String
    /// Files uploaded with purpose `service-photo`.
    public var photos: [UUID]
    /// A file uploaded with purpose `service-video`.
    public var videoFileId: UUID?
    public var area: ServiceArea?
    public var timeZone: String
    public var offers: [Offer]
    public var availability: [WeeklySlot]
    public var timeOff: [TimeOff]
    public var rating: RatingSummary
    public var completedJobs: Int
    public var createdAt: Date
    public var updatedAt: Date

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "userId": .uuid, "displayName": .text, "bio": .text, "photos": .array(.uuid), "videoFileId": .nullable(.uuid),
                "area": .nullable(ServiceArea.schema), "timeZone": .text, "offers": .array(Offer.schema), "availability": .array(WeeklySlot.schema),
                "timeOff": .array(TimeOff.schema), "rating": RatingSummary.schema, "completedJobs": .integer(format: "int32"),
                "createdAt": .dateTime, "updatedAt": .dateTime,
            ],
            required: [
                "id", "userId", "displayName", "bio", "photos", "area", "timeZone", "offers", "availability", "timeOff", "rating",
                "completedJobs", "createdAt", "updatedAt",
            ])
    }
}

/// `POST /api/v1/marketplace/providers` (all but `displayName` optional) and `PATCH …/{id}`: absent
/// fields stay as they are; lists given replace the old ones.
public struct ProviderUpdate: Codable, Sendable, Equatable, APISchema {
    public var displayName: String?
    public var bio: String?
    public var photos: [UUID]?
    public var videoFileId: UUID?
    /// Removes the presentation video.
    public var removeVideo: Bool?
    public var area: ServiceArea?
    public var timeZone: String?
    public var offers: [Offer]?
    public var availability: [WeeklySlot]?
    public var timeOff: [TimeOff]?

    public init(
        displayName: String? = nil, bio: String? = nil, photos: [UUID]? = nil, videoFileId: UUID? = nil, removeVideo: Bool? = nil,
        area: ServiceArea? = nil, timeZone: String? = nil, offers: [Offer]? = nil, availability: [WeeklySlot]? = nil, timeOff: [TimeOff]? = nil
    ) {
        self.displayName = displayName
        self.bio = bio
        self.photos = photos
        self.videoFileId = videoFileId
        self.removeVideo = removeVideo
        self.area = area
        self.timeZone = timeZone
        self.offers = offers
        self.availability = availability
        self.timeOff = timeOff
    }

    static let displayNameLimit = TextLimit(1...100)
    static let bioLimit = TextLimit.atMost(4000)

    public static var schema: JSONSchema { schema(currency: nil) }

    /// The body as the API takes it: prices in the marketplace's `currency`.
    static func schema(currency: Currency?) -> JSONSchema {
        .object(
            properties: [
                "displayName": displayNameLimit.schema, "bio": bioLimit.schema,
                "photos": .list(.uuid, maxItems: MarketplaceService.maxPhotos), "videoFileId": .uuid, "removeVideo": .boolean,
                "area": ServiceArea.schema,
                "timeZone": .string(description: "An IANA time zone."),
                "offers": .list(Offer.schema(currency: currency), maxItems: MarketplaceService.maxOffers),
                "availability": .list(WeeklySlot.schema, maxItems: MarketplaceService.maxSlots),
                "timeOff": .list(TimeOff.schema, maxItems: MarketplaceService.maxTimeOff),
            ],
            required: [])
    }
}

/// A provider in search results.
public struct ProviderSummary: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var userId: UUID
    public var displayName: String
    public var bio: String
    public var rating: Double
    public var ratingCount: Int
    /// The lowest price among the offers that matched (the category searched for, or all).
    public var priceFrom: Money?
    /// From the point searched around, when one was given.
    public var distanceKm: Double?
    public var photo: UUID?
    public var categoryIds: [UUID]

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "userId": .uuid, "displayName": .text, "bio": .text, "rating": .number, "ratingCount": .integer(format: "int32"),
                "priceFrom": .nullable(Money.schema), "distanceKm": .nullable(.number), "photo": .nullable(.uuid), "categoryIds": .array(.uuid),
            ],
            required: ["id", "userId", "displayName", "bio", "rating", "ratingCount", "priceFrom", "distanceKm", "photo", "categoryIds"])
    }
}

/// A customer's own profile: how providers see them and where they usually want work done.
public struct CustomerProfile: Codable, Sendable, Equatable, APISchema {
    public var userId: UUID
    public var displayName: String
    public var phone: String?
    public var address: String?
    public var lat: Double?
    public var lng: Double?

    public init(userId: UUID, displayName: String, phone: String? = nil, address: String? = nil, lat: Double? = nil, lng: Double? = nil) {
        self.userId = userId
        self.displayName = displayName
        self.phone = phone
        self.address = address
        self.lat = lat
        self.lng = lng
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "userId": .uuid, "displayName": .text, "phone": .nullable(.text), "address": .nullable(.text), "lat": .nullable(.number),
                "lng": .nullable(.number),
            ],
            required: ["userId", "displayName"])
    }
}

/// `PUT /api/v1/marketplace/customers/me`.
public struct CustomerUpdate: Codable, Sendable, Equatable, APISchema {
    public var displayName: String
    public var phone: String?
    public var address: String?
    public var lat: Double?
    public var lng: Double?

    public init(displayName: String, phone: String? = nil, address: String? = nil, lat: Double? = nil, lng: Double? = nil) {
        self.displayName = displayName
        self.phone = phone
        self.address = address
        self.lat = lat
        self.lng = lng
    }

    static let displayNameLimit = TextLimit(1...100)
    static let phoneLimit = TextLimit.atMost(30)
    static let addressLimit = TextLimit.atMost(300)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "displayName": displayNameLimit.schema, "phone": phoneLimit.schema, "address": addressLimit.schema,
                "lat": NumberLimit.latitude.schema, "lng": NumberLimit.longitude.schema,
            ],
            required: ["displayName"])
    }
}
