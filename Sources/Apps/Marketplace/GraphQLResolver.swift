import Conversations
import Foundation
import Graphiti
import GraphQLTransport
import PlazaKit

/// A page of providers or requests, as GraphQL returns them.
public struct ProviderPage: Codable, Sendable { public var items: [ProviderSummary]; public var nextCursor: String? }
public struct RequestPage: Codable, Sendable { public var items: [ServiceRequest]; public var nextCursor: String? }

/// The marketplace's GraphQL queries and mutations (seed 001's synchronous API): each one calls the
/// service the REST route calls, with the caller.
public struct MarketplaceResolver: Sendable {
    let service: MarketplaceService

    public struct IDArguments: Codable, Sendable { public var id: UUID }
    public struct PageArguments: Codable, Sendable { public var limit: Int?; public var cursor: String? }
    public struct ProviderArguments: Codable, Sendable {
        public var q: String?
        public var category: UUID?
        public var lat: Double?
        public var lng: Double?
        public var radiusKm: Double?
        public var minRating: Double?
        public var availableAt: Date?
        public var sort: String?
        public var limit: Int?
        public var cursor: String?
    }
    public struct MyRequestsArguments: Codable, Sendable {
        public var role: String?
        public var status: String?
        public var limit: Int?
        public var cursor: String?
    }
    public struct CommandArguments: Codable, Sendable {
        public var id: UUID
        public var expectedVersion: Int?
        public var comment: String?
        public var price: MoneyInput?
    }
    public struct CreateRequestArguments: Codable, Sendable { public var input: NewServiceRequest }
    public struct ProviderInputArguments: Codable, Sendable { public var input: ProviderInput }
    public struct UpdateProviderArguments: Codable, Sendable { public var id: UUID; public var input: ProviderInput }

    /// GraphQL keeps input and output types apart, and Graphiti maps one Swift type to one GraphQL type:
    /// these mirror ``ProviderUpdate`` and its parts as inputs.
    public struct OfferInput: Codable, Sendable { public var categoryId: UUID; public var priceMin: MoneyInput; public var priceMax: MoneyInput }
    /// `Money` as GraphQL input: minor units (GraphQL's `Int` holds every price the marketplace accepts) and a code.
    public struct MoneyInput: Codable, Sendable {
        public var amount: Int
        public var currency: String

        func money(field: String) throws -> Money {
            guard let known = Currency(code: currency) else {
                throw PlazaError.validation(field: "\(field).currency", "must be one of \(Currency.all.map(\.code).joined(separator: ", "))")
            }
            return Money(amount: Int64(amount), currency: known)
        }
    }
    public struct SlotInput: Codable, Sendable { public var weekday: Int; public var start: String; public var end: String }
    public struct TimeOffInput: Codable, Sendable { public var startsAt: Date; public var endsAt: Date; public var reason: String? }
    public struct AreaInput: Codable, Sendable { public var lat: Double; public var lng: Double; public var radiusKm: Double }
    public struct ProviderInput: Codable, Sendable {
        public var displayName: String?
        public var bio: String?
        public var photos: [UUID]?
        public var videoFileId: UUID?
        public var removeVideo: Bool?
        public var area: AreaInput?
        public var timeZone: String?
        public var offers: [OfferInput]?
        public var availability: [SlotInput]?
        public var timeOff: [TimeOffInput]?

        func update() throws -> ProviderUpdate {
            ProviderUpdate(
                displayName: displayName, bio: bio, photos: photos, videoFileId: videoFileId, removeVideo: removeVideo,
                area: area.map { ServiceArea(lat: $0.lat, lng: $0.lng, radiusKm: $0.radiusKm) }, timeZone: timeZone,
                offers: try offers?.enumerated().map { index, offer in
                    Offer(
                        categoryId: offer.categoryId, priceMin: try offer.priceMin.money(field: "offers[\(index)].priceMin"),
                        priceMax: try offer.priceMax.money(field: "offers[\(index)].priceMax"))
                },
                availability: availability?.map { WeeklySlot(weekday: $0.weekday, start: $0.start, end: $0.end) },
                timeOff: timeOff?.map { TimeOff(startsAt: $0.startsAt, endsAt: $0.endsAt, reason: $0.reason) })
        }
    }
    public struct ReviewArguments: Codable, Sendable { public var id: UUID; public var rating: Int; public var text: String }
    public struct ConversationArguments: Codable, Sendable { public var id: UUID; public var limit: Int? }

    // MARK: Queries

    func categories(context: GraphQLContext, arguments: NoArguments) async throws -> [ServiceCategory] {
        try service.policy.authorize(context.caller, MarketplacePolicy.browse)
        return try await service.categories()
    }

    func providers(context: GraphQLContext, arguments: ProviderArguments) async throws -> ProviderPage {
        try service.policy.authorize(context.caller, MarketplacePolicy.browse)
        var query: [String: String] = [:]
        query["q"] = arguments.q
        query["category"] = arguments.category?.uuidString
        query["lat"] = arguments.lat.map { String($0) }
        query["lng"] = arguments.lng.map { String($0) }
        query["radiusKm"] = arguments.radiusKm.map { String($0) }
        query["minRating"] = arguments.minRating.map { String($0) }
        query["availableAt"] = arguments.availableAt?.formatted(.iso8601)
        query["sort"] = arguments.sort
        query["limit"] = arguments.limit.map { String($0) }
        query["cursor"] = arguments.cursor
        let page = try await service.cachedSearch(try ProviderQuery(query: query)).page
        return ProviderPage(items: page.items, nextCursor: page.nextCursor)
    }

    func provider(context: GraphQLContext, arguments: IDArguments) async throws -> ProviderProfile {
        try service.policy.authorize(context.caller, MarketplacePolicy.browse)
        return try await service.provider(arguments.id)
    }

    func myProvider(context: GraphQLContext, arguments: NoArguments) async throws -> ProviderProfile {
        try await service.myProvider(caller: context.caller)
    }

    func request(context: GraphQLContext, arguments: IDArguments) async throws -> ServiceRequest {
        try await service.request(arguments.id, caller: context.caller)
    }

    func myRequests(context: GraphQLContext, arguments: MyRequestsArguments) async throws -> RequestPage {
        let page = try await service.requests(
            role: arguments.role, status: arguments.status, page: try Self.page(arguments.limit, arguments.cursor), caller: context.caller)
        return RequestPage(items: page.items, nextCursor: page.nextCursor)
    }

    func openRequests(context: GraphQLContext, arguments: PageArguments) async throws -> RequestPage {
        let page = try await service.openRequests(page: try Self.page(arguments.limit, arguments.cursor), caller: context.caller)
        return RequestPage(items: page.items, nextCursor: page.nextCursor)
    }

    func requestConversation(context: GraphQLContext, arguments: ConversationArguments) async throws -> RequestConversation {
        try await service.conversation(ofRequest: arguments.id, limit: try Self.page(arguments.limit, nil).limit, caller: context.caller)
    }

    // MARK: Mutations

    func createRequest(context: GraphQLContext, arguments: CreateRequestArguments) async throws -> ServiceRequest {
        try await service.createRequest(arguments.input, caller: context.caller)
    }

    func acceptRequest(context: GraphQLContext, arguments: CommandArguments) async throws -> ServiceRequest {
        try await send("accept", context, arguments)
    }
    func declineRequest(context: GraphQLContext, arguments: CommandArguments) async throws -> ServiceRequest {
        try await send("decline", context, arguments)
    }
    func startRequest(context: GraphQLContext, arguments: CommandArguments) async throws -> ServiceRequest {
        try await send("start", context, arguments)
    }
    func completeRequest(context: GraphQLContext, arguments: CommandArguments) async throws -> ServiceRequest {
        try await send("complete", context, arguments)
    }
    func cancelRequest(context: GraphQLContext, arguments: CommandArguments) async throws -> ServiceRequest {
        try await send("cancel", context, arguments)
    }

    private func send(_ command: String, _ context: GraphQLContext, _ arguments: CommandArguments) async throws -> ServiceRequest {
        try await service.send(
            command, to: arguments.id,
            RequestCommand(
                expectedVersion: arguments.expectedVersion, comment: arguments.comment, price: try arguments.price?.money(field: "price")),
            caller: context.caller)
    }

    func reviewRequest(context: GraphQLContext, arguments: ReviewArguments) async throws -> ProviderReview {
        try await service.review(arguments.id, ReviewInput(rating: arguments.rating, text: arguments.text), caller: context.caller)
    }

    func createProvider(context: GraphQLContext, arguments: ProviderInputArguments) async throws -> ProviderProfile {
        try await service.createProvider(try arguments.input.update(), caller: context.caller)
    }

    func updateProvider(context: GraphQLContext, arguments: UpdateProviderArguments) async throws -> ProviderProfile {
        try await service.updateProvider(arguments.id, try arguments.input.update(), caller: context.caller)
    }

    static func page(_ limit: Int?, _ cursor: String?) throws -> PageRequest {
        var query: [String: String] = [:]
        query["limit"] = limit.map { String($0) }
        query["cursor"] = cursor
        return try PageRequest(query: query)
    }
}
