import Conversations
import Foundation
import Graphiti
import GraphQL
import GraphQLTransport
import PlazaKit

/// An object type of the schema (Graphiti's `Type`, which Swift would otherwise read as a metatype or as
/// GraphQL's protocol of the same name).
typealias GraphType<Object> = Graphiti.`Type`<MarketplaceResolver, GraphQLContext, Object>

/// The marketplace's GraphQL schema, served at `/graphql`. Each type is declared by a small function of
/// its own: Graphiti's result builders are heavy for the type checker when one closure holds them all.
public struct MarketplaceGraphQL: API, Sendable {
    public typealias R = MarketplaceResolver
    public typealias C = GraphQLContext
    public let resolver: MarketplaceResolver
    public let schema: Schema<MarketplaceResolver, GraphQLContext>

    public init(service: MarketplaceService) throws {
        resolver = MarketplaceResolver(service: service)
        let coders = Coders()
        coders.encoder.dateEncodingStrategy = .iso8601
        coders.decoder.dateDecodingStrategy = .iso8601
        let builder = SchemaBuilder(R.self, C.self).setCoders(to: coders)
        builder.add {
            Scalar(UUID.self, as: "UUID"); Scalar(Date.self, as: "DateTime")
        }
        builder.add {
            Self.money(); Self.category(); Self.offer(); Self.slot(); Self.timeOff(); Self.area(); Self.rating()
        }
        builder.add {
            Self.profile(); Self.summary(); Self.providerPage()
        }
        builder.add {
            Self.request(); Self.requestPage(); Self.review(); Self.message(); Self.conversation()
        }
        builder.add {
            Self.moneyInput(); Self.offerInput(); Self.slotInput(); Self.timeOffInput(); Self.areaInput(); Self.providerInput(); Self.requestInput()
        }
        builder.addQuery {
            Field("categories", at: R.categories)
            Field("providers", at: R.providers) {
                Argument("q", at: \.q); Argument("category", at: \.category); Argument("lat", at: \.lat); Argument("lng", at: \.lng)
                Argument("radiusKm", at: \.radiusKm); Argument("minRating", at: \.minRating); Argument("availableAt", at: \.availableAt)
                Argument("sort", at: \.sort); Argument("limit", at: \.limit); Argument("cursor", at: \.cursor)
            }
            Field("provider", at: R.provider) { Argument("id", at: \.id) }
            Field("myProvider", at: R.myProvider)
        }
        builder.addQuery {
            Field("request", at: R.request) { Argument("id", at: \.id) }
            Field("myRequests", at: R.myRequests) {
                Argument("role", at: \.role); Argument("status", at: \.status); Argument("limit", at: \.limit); Argument("cursor", at: \.cursor)
            }
            Field("openRequests", at: R.openRequests) {
                Argument("limit", at: \.limit); Argument("cursor", at: \.cursor)
            }
            Field("requestConversation", at: R.requestConversation) {
                Argument("id", at: \.id); Argument("limit", at: \.limit)
            }
        }
        builder.addMutation {
            Field("createRequest", at: R.createRequest) { Argument("input", at: \.input) }
            Field("reviewRequest", at: R.reviewRequest) {
                Argument("id", at: \.id); Argument("rating", at: \.rating); Argument("text", at: \.text)
            }
            Field("createProvider", at: R.createProvider) { Argument("input", at: \.input) }
            Field("updateProvider", at: R.updateProvider) {
                Argument("id", at: \.id); Argument("input", at: \.input)
            }
        }
        // accept, decline, start, complete, cancel: one mutation each, with the same arguments.
        for (name, resolve) in [
            ("acceptRequest", R.acceptRequest), ("declineRequest", R.declineRequest), ("startRequest", R.startRequest),
            ("completeRequest", R.completeRequest), ("cancelRequest", R.cancelRequest),
        ] as [(String, AsyncResolve<R, C, R.CommandArguments, ServiceRequest>)] {
            builder.addMutation {
                Field(name, at: resolve) {
                    Argument("id", at: \.id); Argument("expectedVersion", at: \.expectedVersion); Argument("comment", at: \.comment)
                    Argument("price", at: \.price)
                }
            }
        }
        schema = try builder.build()
    }

    /// What the expensive fields cost against ``GraphQLLimits/maxCost``: a search runs a full-text and geo query,
    /// a page of requests or a conversation a query each; every other field costs 1.
    public static let costs = [
        "Query.providers": 100, "Query.myRequests": 20, "Query.openRequests": 20, "Query.requestConversation": 20,
        "Query.provider": 10, "Query.request": 10,
    ]

    /// `/graphql` runs this schema within the given limits.
    public func executor(limits: GraphQLLimits) -> GraphQLExecutor {
        GraphQLExecutor(schema: schema.schema, rootValue: resolver, costs: Self.costs, limits: limits)
    }

    // MARK: Output types

    static func money() -> GraphType<Money> {
        GraphType(Money.self) {
            Field("amount", at: \.graphQLAmount); Field("currency", at: \.currency.code)
        }
    }
    static func category() -> GraphType<ServiceCategory> {
        GraphType(ServiceCategory.self) {
            Field("id", at: \.id); Field("parentId", at: \.parentId); Field("name", at: \.name); Field("slug", at: \.slug)
            Field("description", at: \.description); Field("imageFileId", at: \.imageFileId); Field("position", at: \.position)
        }
    }
    static func offer() -> GraphType<Offer> {
        GraphType(Offer.self) {
            Field("categoryId", at: \.categoryId); Field("priceMin", at: \.priceMin); Field("priceMax", at: \.priceMax)
        }
    }
    static func slot() -> GraphType<WeeklySlot> {
        GraphType(WeeklySlot.self) {
            Field("weekday", at: \.weekday); Field("start", at: \.start); Field("end", at: \.end)
        }
    }
    static func timeOff() -> GraphType<TimeOff> {
        GraphType(TimeOff.self) {
            Field("startsAt", at: \.startsAt); Field("endsAt", at: \.endsAt); Field("reason", at: \.reason)
        }
    }
    static func area() -> GraphType<ServiceArea> {
        GraphType(ServiceArea.self) {
            Field("lat", at: \.lat); Field("lng", at: \.lng); Field("radiusKm", at: \.radiusKm)
        }
    }
    static func rating() -> GraphType<RatingSummary> {
        GraphType(RatingSummary.self) {
            Field("average", at: \.average); Field("count", at: \.count); Field("stars", at: \.stars)
        }
    }
    static func profile() -> GraphType<ProviderProfile> {
        GraphType(ProviderProfile.self) {
            Field("id", at: \.id); Field("userId", at: \.userId); Field("displayName", at: \.displayName); Field("bio", at: \.bio)
            Field("photos", at: \.photos); Field("videoFileId", at: \.videoFileId); Field("area", at: \.area); Field("timeZone", at: \.timeZone)
            Field("offers", at: \.offers); Field("availability", at: \.availability); Field("timeOff", at: \.timeOff)
            Field("rating", at: \.rating); Field("completedJobs", at: \.completedJobs); Field("createdAt", at: \.createdAt)
            Field("updatedAt", at: \.updatedAt)
        }
    }
    static func summary() -> GraphType<ProviderSummary> {
        GraphType(ProviderSummary.self) {
            Field("id", at: \.id); Field("userId", at: \.userId); Field("displayName", at: \.displayName); Field("bio", at: \.bio)
            Field("rating", at: \.rating); Field("ratingCount", at: \.ratingCount); Field("priceFrom", at: \.priceFrom)
            Field("distanceKm", at: \.distanceKm); Field("photo", at: \.photo); Field("categoryIds", at: \.categoryIds)
        }
    }
    static func providerPage() -> GraphType<ProviderPage> {
        GraphType(ProviderPage.self) {
            Field("items", at: \.items); Field("nextCursor", at: \.nextCursor)
        }
    }
    static func request() -> GraphType<ServiceRequest> {
        GraphType(ServiceRequest.self) {
            Field("id", at: \.id); Field("status", at: \.status); Field("customerId", at: \.customerId); Field("providerId", at: \.providerId)
            Field("providerUserId", at: \.providerUserId); Field("categoryId", at: \.categoryId); Field("description", at: \.description)
            Field("address", at: \.address); Field("lat", at: \.lat); Field("lng", at: \.lng); Field("windowStart", at: \.windowStart)
            Field("windowEnd", at: \.windowEnd); Field("photos", at: \.photos); Field("workflowId", at: \.workflowId); Field("version", at: \.version)
            Field("allowedCommands", at: \.allowedCommands); Field("conversationId", at: \.conversationId)
            Field("agreedPrice", at: \.agreedPrice); Field("finalPrice", at: \.finalPrice); Field("createdAt", at: \.createdAt)
            Field("updatedAt", at: \.updatedAt); Field("acceptedAt", at: \.acceptedAt); Field("completedAt", at: \.completedAt)
        }
    }
    static func requestPage() -> GraphType<RequestPage> {
        GraphType(RequestPage.self) {
            Field("items", at: \.items); Field("nextCursor", at: \.nextCursor)
        }
    }
    static func review() -> GraphType<ProviderReview> {
        GraphType(ProviderReview.self) {
            Field("id", at: \.id); Field("requestId", at: \.requestId); Field("providerId", at: \.providerId); Field("customerId", at: \.customerId)
            Field("rating", at: \.rating); Field("text", at: \.text); Field("answer", at: \.answer); Field("answeredAt", at: \.answeredAt)
            Field("hiddenAt", at: \.hiddenAt); Field("createdAt", at: \.createdAt)
        }
    }
    static func message() -> GraphType<Message> {
        GraphType(Message.self) {
            Field("id", at: \.id); Field("conversationId", at: \.conversationId); Field("seq", at: \.seq); Field("authorId", at: \.authorId)
            Field("body", at: \.body); Field("attachments", at: \.attachments); Field("createdAt", at: \.createdAt); Field("editedAt", at: \.editedAt)
            Field("deletedAt", at: \.deletedAt)
        }
    }
    static func conversation() -> GraphType<RequestConversation> {
        GraphType(RequestConversation.self) {
            Field("id", at: \.id); Field("messages", at: \.messages)
        }
    }

    // MARK: Input types

    static func moneyInput() -> Input<R, C, R.MoneyInput> {
        Input(R.MoneyInput.self, as: "MoneyInput") {
            InputField("amount", at: \.amount); InputField("currency", at: \.currency)
        }
    }
    static func offerInput() -> Input<R, C, R.OfferInput> {
        Input(R.OfferInput.self, as: "OfferInput") {
            InputField("categoryId", at: \.categoryId); InputField("priceMin", at: \.priceMin); InputField("priceMax", at: \.priceMax)
        }
    }
    static func slotInput() -> Input<R, C, R.SlotInput> {
        Input(R.SlotInput.self, as: "WeeklySlotInput") {
            InputField("weekday", at: \.weekday); InputField("start", at: \.start); InputField("end", at: \.end)
        }
    }
    static func timeOffInput() -> Input<R, C, R.TimeOffInput> {
        Input(R.TimeOffInput.self, as: "TimeOffInput") {
            InputField("startsAt", at: \.startsAt); InputField("endsAt", at: \.endsAt); InputField("reason", at: \.reason)
        }
    }
    static func areaInput() -> Input<R, C, R.AreaInput> {
        Input(R.AreaInput.self, as: "ServiceAreaInput") {
            InputField("lat", at: \.lat); InputField("lng", at: \.lng); InputField("radiusKm", at: \.radiusKm)
        }
    }
    static func providerInput() -> Input<R, C, R.ProviderInput> {
        Input(R.ProviderInput.self, as: "ProviderInput") {
            InputField("displayName", at: \.displayName); InputField("bio", at: \.bio); InputField("photos", at: \.photos)
            InputField("videoFileId", at: \.videoFileId); InputField("removeVideo", at: \.removeVideo); InputField("area", at: \.area)
            InputField("timeZone", at: \.timeZone); InputField("offers", at: \.offers); InputField("availability", at: \.availability)
            InputField("timeOff", at: \.timeOff)
        }
    }
    static func requestInput() -> Input<R, C, NewServiceRequest> {
        Input(NewServiceRequest.self, as: "NewServiceRequestInput") {
            InputField("categoryId", at: \.categoryId); InputField("providerId", at: \.providerId); InputField("description", at: \.description)
            InputField("address", at: \.address); InputField("lat", at: \.lat); InputField("lng", at: \.lng)
            InputField("windowStart", at: \.windowStart); InputField("windowEnd", at: \.windowEnd); InputField("photos", at: \.photos)
        }
    }
}

extension Money {
    /// Minor units as GraphQL's 32-bit `Int` (every marketplace price fits: ``MarketplacePrice/maxAmount``).
    var graphQLAmount: Int { Int(clamping: amount) }
}
