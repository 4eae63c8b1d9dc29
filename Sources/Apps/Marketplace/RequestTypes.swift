import Conversations
import Foundation
import PlazaKit
import Workflows

/// `POST /api/v1/marketplace/requests`: for one provider (`providerId`, a profile's id) or, without it,
/// open to every provider nearby who offers the category.
public struct NewServiceRequest: Codable, Sendable, Equatable, APISchema {
    public var categoryId: UUID
    public var providerId: UUID?
    public var description: String
    public var address: String
    public var lat: Double
    public var lng: Double
    public var windowStart: Date?
    public var windowEnd: Date?
    /// Files uploaded with purpose `service-photo`.
    public var photos: [UUID]?

    public init(
        categoryId: UUID, providerId: UUID? = nil, description: String, address: String, lat: Double, lng: Double,
        windowStart: Date? = nil, windowEnd: Date? = nil, photos: [UUID]? = nil
    ) {
        self.categoryId = categoryId
        self.providerId = providerId
        self.description = description
        self.address = address
        self.lat = lat
        self.lng = lng
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.photos = photos
    }

    static let descriptionLimit = TextLimit(1...4000)
    static let addressLimit = TextLimit(1...300)

    public static var schema: JSONSchema {
        .object(
            properties: [
                "categoryId": .uuid, "providerId": .uuid, "description": descriptionLimit.schema,
                "address": addressLimit.schema, "lat": NumberLimit.latitude.schema, "lng": NumberLimit.longitude.schema, "windowStart": .dateTime,
                "windowEnd": .dateTime, "photos": .list(.uuid, maxItems: MarketplaceService.maxRequestPhotos),
            ],
            required: ["categoryId", "description", "address", "lat", "lng"])
    }
}

/// A service request as its customer and its provider see it.
public struct ServiceRequest: Codable, Sendable, Equatable, APISchema {
    /// `pending`, `accepted`, `declined`, `expired`, `in_progress`, `completed` or `cancelled`.
    public var status: String
    public var id: UUID
    public var customerId: UUID
    public var providerId: UUID?
    public var providerUserId: UUID?
    public var categoryId: UUID
    public var description: String
    public var address: String
    public var lat: Double
    public var lng: Double
    public var windowStart: Date?
    public var windowEnd: Date?
    public var photos: [UUID]
    public var workflowId: UUID
    /// Send it back as `expectedVersion` to make sure nobody moved the request meanwhile.
    public var version: Int
    /// What the caller's side could send now (the other side's commands are not listed).
    public var allowedCommands: [String]
    public var conversationId: UUID?
    public var agreedPrice: Money?
    public var finalPrice: Money?
    public var createdAt: Date
    public var updatedAt: Date
    public var acceptedAt: Date?
    public var completedAt: Date?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid,
                "status": .string(enumValues: ["pending", "accepted", "declined", "expired", "in_progress", "completed", "cancelled"]),
                "customerId": .uuid, "providerId": .nullable(.uuid), "providerUserId": .nullable(.uuid), "categoryId": .uuid, "description": .text,
                "address": .text, "lat": .number, "lng": .number, "windowStart": .nullable(.dateTime), "windowEnd": .nullable(.dateTime),
                "photos": .array(.uuid), "workflowId": .uuid, "version": .integer(format: "int32"), "allowedCommands": .array(.text),
                "conversationId": .nullable(.uuid), "agreedPrice": .nullable(Money.schema), "finalPrice": .nullable(Money.schema),
                "createdAt": .dateTime, "updatedAt": .dateTime, "acceptedAt": .nullable(.dateTime), "completedAt": .nullable(.dateTime),
            ],
            required: [
                "id", "status", "customerId", "providerId", "categoryId", "description", "address", "lat", "lng", "photos", "workflowId", "version",
                "allowedCommands", "createdAt", "updatedAt",
            ])
    }
}

/// The body of `POST /api/v1/marketplace/requests/{id}/{command}` (every field optional).
public struct RequestCommand: Codable, Sendable, Equatable, APISchema {
    /// The request's version the sender saw; a different one is a 409.
    public var expectedVersion: Int?
    /// Kept in the request's history (a reason to decline, a note).
    public var comment: String?
    /// `accept`: the price agreed; `complete`: the price charged (the agreed one when absent).
    public var price: Money?

    public init(expectedVersion: Int? = nil, comment: String? = nil, price: Money? = nil) {
        self.expectedVersion = expectedVersion
        self.comment = comment
        self.price = price
    }

    public static var schema: JSONSchema { schema(currency: nil) }

    /// The body as the API takes it: a price in the marketplace's `currency`.
    static func schema(currency: Currency?) -> JSONSchema {
        .object(
            properties: [
                "expectedVersion": .integer(format: "int32"), "comment": WorkflowEngine.commentLimit.schema,
                "price": MarketplacePrice.schema(currency),
            ],
            required: [])
    }
}

/// One step of a request's history.
public struct RequestStep: Codable, Sendable, Equatable, APISchema {
    public var at: Date
    public var actorId: UUID?
    public var from: String?
    public var to: String
    public var command: String
    public var comment: String?

    init(_ step: WorkflowStep) {
        at = step.at
        actorId = step.actorId
        from = step.from
        to = step.to
        command = step.command
        comment = step.comment
    }

    public static var schema: JSONSchema {
        .object(
            properties: [
                "at": .dateTime, "actorId": .nullable(.uuid), "from": .nullable(.text), "to": .text, "command": .text, "comment": .nullable(.text),
            ],
            required: ["at", "to", "command"])
    }
}

/// `GET /api/v1/marketplace/requests/{id}/history`.
public struct RequestHistory: Codable, Sendable, Equatable, APISchema {
    public var items: [RequestStep]
    public static var schema: JSONSchema { .object(properties: ["items": .array(RequestStep.schema)], required: ["items"]) }
}

/// `GET /api/v1/marketplace/requests/{id}/conversation`: the thread between customer and provider, newest
/// messages first.
public struct RequestConversation: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var messages: [Message]
    public static var schema: JSONSchema {
        .object(properties: ["id": .uuid, "messages": .array(.ref(Message.schemaName))], required: ["id", "messages"])
    }
}

/// `POST /api/v1/marketplace/requests/{id}/review`.
public struct ReviewInput: Codable, Sendable, Equatable, APISchema {
    public var rating: Int
    public var text: String

    public init(rating: Int, text: String) {
        self.rating = rating
        self.text = text
    }

    static let ratingLimit = IntegerLimit(1...5)
    static let textLimit = TextLimit.atMost(4000)

    public static var schema: JSONSchema {
        .object(
            properties: ["rating": ratingLimit.schema, "text": textLimit.schema],
            required: ["rating", "text"])
    }
}

/// A customer's review of a completed request, with the provider's answer.
public struct ProviderReview: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var requestId: UUID
    public var providerId: UUID
    public var customerId: UUID
    public var rating: Int
    public var text: String
    public var answer: String?
    public var answeredAt: Date?
    /// Set when a moderator hid it: it no longer counts, and only its author, the provider and moderators see it.
    public var hiddenAt: Date?
    public var createdAt: Date

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "requestId": .uuid, "providerId": .uuid, "customerId": .uuid, "rating": .integer(format: "int32"), "text": .text,
                "answer": .nullable(.text), "answeredAt": .nullable(.dateTime), "hiddenAt": .nullable(.dateTime), "createdAt": .dateTime,
            ],
            required: ["id", "requestId", "providerId", "customerId", "rating", "text", "createdAt"])
    }
}

/// A provider's answer to a review, or a moderator's reason to hide one.
public struct ReviewText: Codable, Sendable, Equatable, APISchema {
    public var text: String
    public init(text: String) { self.text = text }
    static let textLimit = TextLimit(1...2000)
    public static var schema: JSONSchema { .object(properties: ["text": textLimit.schema], required: ["text"]) }
}

/// `POST /api/v1/marketplace/requests/{id}/location`: where the provider is now.
public struct LocationInput: Codable, Sendable, Equatable, APISchema {
    public var lat: Double
    public var lng: Double
    public init(lat: Double, lng: Double) {
        self.lat = lat
        self.lng = lng
    }
    public static var schema: JSONSchema {
        .object(properties: ["lat": NumberLimit.latitude.schema, "lng": NumberLimit.longitude.schema], required: ["lat", "lng"])
    }
}

/// A point of a provider's way to a job.
public struct LocationPoint: Codable, Sendable, Equatable, APISchema {
    public var lat: Double
    public var lng: Double
    public var at: Date
    public static var schema: JSONSchema { .object(properties: ["lat": .number, "lng": .number, "at": .dateTime], required: ["lat", "lng", "at"]) }
}

/// `GET /api/v1/marketplace/requests/{id}/location`: the last point and the active job's trail, oldest first.
public struct Tracking: Codable, Sendable, Equatable, APISchema {
    public var last: LocationPoint?
    public var trail: [LocationPoint]
    public static var schema: JSONSchema {
        .object(properties: ["last": .nullable(LocationPoint.schema), "trail": .array(LocationPoint.schema)], required: ["last", "trail"])
    }
}

/// `GET /api/v1/marketplace/providers/me/earnings`: what completed jobs brought, by month (UTC).
public struct Earnings: Codable, Sendable, Equatable, APISchema {
    public struct Month: Codable, Sendable, Equatable {
        /// `YYYY-MM`.
        public var month: String
        public var jobs: Int
        public var total: Money
    }
    public var jobs: Int
    public var total: Money
    public var months: [Month]

    public static var schema: JSONSchema {
        .object(
            properties: [
                "jobs": .integer(format: "int32"), "total": Money.schema,
                "months": .array(
                    .object(
                        properties: ["month": .text, "jobs": .integer(format: "int32"), "total": Money.schema], required: ["month", "jobs", "total"])),
            ],
            required: ["jobs", "total", "months"])
    }
}

/// `POST /api/v1/marketplace/requests/{id}/photos`: files of purpose `service-photo` to add.
public struct PhotosInput: Codable, Sendable, Equatable, APISchema {
    public var photos: [UUID]
    public init(photos: [UUID]) { self.photos = photos }
    public static var schema: JSONSchema {
        .object(properties: ["photos": .list(.uuid, maxItems: MarketplaceService.maxRequestPhotos)], required: ["photos"])
    }
}
