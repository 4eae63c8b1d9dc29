import Foundation
import HTTPTypes
import NIOCore
import Hummingbird
import PlazaKit

/// `/api/v1/marketplace/*`: the catalogue and profiles here, requests and reviews in
/// `MarketplaceRoutes+Requests.swift`. Handlers decode, call the service and encode.
public struct MarketplaceRoutes<Context: PlazaRequestContext>: Sendable {
    let service: MarketplaceService
    let tag = "Marketplace"
    let base = "/api/v1/marketplace"

    public init(service: MarketplaceService) {
        self.service = service
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        addCatalogue(to: &routes)
        addProviders(to: &routes)
        addRequests(to: &routes)
        addReviews(to: &routes)
        return routes
    }

    private func addCatalogue(to routes: inout RouteTable<Context>) {
        let service = self.service
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let manage = Access.action(MarketplacePolicy.manageCategories)
        routes.add(
            Endpoint(
                .get, "\(base)/categories", operationID: "listServiceCategories", summary: "The category tree, parents before their children.",
                tag: tag, access: .action(MarketplacePolicy.browse),
                responses: [EndpointResponse(200, "Every category.", body: .page(of: ServiceCategory.self))]
            ) { _, _ in try .json(Page(items: try await service.categories(), nextCursor: nil)) })
        routes.add(
            Endpoint(
                .post, "\(base)/categories", operationID: "createServiceCategory", summary: "Add a category (admins).", tag: tag, access: manage,
                requestBody: .json(CategoryInput.self, requiring: ["name"], named: "NewCategory"),
                responses: [EndpointResponse(201, "The category.", body: .json(ServiceCategory.self))]
            ) { request, context in
                let category = try await service.createCategory(
                    try await request.decodeJSON(CategoryInput.self, context: context), caller: context.caller)
                return try .json(category, status: .created, headers: [.location: "\(base)/categories/\(category.id)"])
            })
        routes.add(
            Endpoint(
                .get, "\(base)/categories/{id}", operationID: "getServiceCategory", summary: "One category.", tag: tag,
                access: .action(MarketplacePolicy.browse), parameters: [id],
                responses: [EndpointResponse(200, "The category.", body: .json(ServiceCategory.self))]
            ) { _, context in try .json(try await service.category(try context.uuidParameter("id"))) })
        routes.add(
            Endpoint(
                .patch, "\(base)/categories/{id}", operationID: "updateServiceCategory", summary: "Rename, move or illustrate a category (admins).",
                tag: tag, access: manage, parameters: [id], requestBody: .json(CategoryInput.self),
                responses: [EndpointResponse(200, "The category.", body: .json(ServiceCategory.self))]
            ) { request, context in
                let input = try await request.decodeJSON(CategoryInput.self, context: context)
                return try .json(try await service.updateCategory(try context.uuidParameter("id"), input, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .delete, "\(base)/categories/{id}", operationID: "deleteServiceCategory",
                summary: "Delete a category nobody uses (no subcategories, offers or requests).", tag: tag, access: manage, parameters: [id],
                responses: [EndpointResponse(204, "Deleted.")]
            ) { _, context in
                try await service.deleteCategory(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })
    }

    private func addProviders(to routes: inout RouteTable<Context>) {
        let service = self.service
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let own = Access.resourceAction(MarketplacePolicy.manageProfile)
        routes.add(
            Endpoint(
                .get, "\(base)/providers", operationID: "searchProviders",
                summary: "Providers by text, category (and those under it), distance from a point, availability and rating.", tag: tag,
                access: .action(MarketplacePolicy.browse),
                parameters: [
                    EndpointParameter(
                        "q", in: .query, schema: ProviderQuery.textLimit.schema,
                        description: "Words of a name, a category or a description (prefixes match)."),
                    EndpointParameter("category", in: .query, schema: .emptyOr(.uuid), description: "A category; its subcategories count too."),
                    EndpointParameter("lat", in: .query, schema: NumberLimit.latitude.schema),
                    EndpointParameter("lng", in: .query, schema: NumberLimit.longitude.schema),
                    EndpointParameter(
                        "radiusKm", in: .query, schema: ProviderQuery.radiusLimit.schema, description: "Only providers this close to lat/lng."),
                    EndpointParameter("minRating", in: .query, schema: ProviderQuery.ratingLimit.schema),
                    EndpointParameter("availableAt", in: .query, schema: .emptyOr(.dateTime), description: "Working at this time, not on time off."),
                    EndpointParameter(
                        "sort", in: .query, schema: .string(enumValues: ProviderQuery.Sort.allCases.map(\.rawValue)),
                        description: "distance (the default with a point), rating (otherwise) or price."),
                    .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of providers.", body: .page(of: ProviderSummary.self))]
            ) { request, _ in
                // The cached answer's bytes, encoded once per fresh search.
                let entry = try await service.cachedSearch(try ProviderQuery(query: request.queryItems))
                return Response(
                    status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(data: entry.json)))
            })
        routes.add(
            Endpoint(
                .post, "\(base)/providers", operationID: "createProviderProfile", summary: "Open your provider profile (providers; one each).",
                tag: tag, access: .action(MarketplacePolicy.createProfile),
                requestBody: EndpointBody(
                    schemaName: "NewProvider", schema: ProviderUpdate.schema(currency: service.settings.currency).requiring(["displayName"])),
                responses: [EndpointResponse(201, "The profile.", body: .json(ProviderProfile.self))]
            ) { request, context in
                let profile = try await service.createProvider(
                    try await request.decodeJSON(ProviderUpdate.self, context: context), caller: context.caller)
                return try .json(profile, status: .created, headers: [.location: "\(base)/providers/\(profile.id)"])
            })
        routes.add(
            Endpoint(
                .get, "\(base)/providers/me", operationID: "getMyProviderProfile", summary: "Your provider profile.", tag: tag, access: own,
                responses: [EndpointResponse(200, "The profile.", body: .json(ProviderProfile.self))]
            ) { _, context in try .json(try await service.myProvider(caller: context.caller)) })
        routes.add(
            Endpoint(
                .get, "\(base)/providers/me/earnings", operationID: "getMyEarnings",
                summary: "What your completed jobs brought, by month (prices agreed at acceptance, charged at completion).", tag: tag, access: own,
                responses: [EndpointResponse(200, "Earnings.", body: .json(Earnings.self))]
            ) { _, context in try .json(try await service.earnings(caller: context.caller)) })
        routes.add(
            Endpoint(
                .get, "\(base)/providers/{id}", operationID: "getProviderProfile", summary: "A provider's public profile.", tag: tag,
                access: .action(MarketplacePolicy.browse), parameters: [id],
                responses: [EndpointResponse(200, "The profile.", body: .json(ProviderProfile.self))]
            ) { _, context in try .json(try await service.provider(try context.uuidParameter("id"))) })
        routes.add(
            Endpoint(
                .patch, "\(base)/providers/{id}", operationID: "updateProviderProfile",
                summary: "Change your profile: fields given replace the old ones (lists too).", tag: tag, access: own, parameters: [id],
                requestBody: EndpointBody(schemaName: ProviderUpdate.schemaName, schema: ProviderUpdate.schema(currency: service.settings.currency)),
                responses: [EndpointResponse(200, "The profile.", body: .json(ProviderProfile.self))]
            ) { request, context in
                let input = try await request.decodeJSON(ProviderUpdate.self, context: context)
                return try .json(try await service.updateProvider(try context.uuidParameter("id"), input, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "\(base)/providers/{id}/reviews", operationID: "listProviderReviews", summary: "A provider's reviews, newest first.", tag: tag,
                access: .action(MarketplacePolicy.browse), parameters: [id, .limit, .cursor],
                responses: [EndpointResponse(200, "A page of reviews.", body: .page(of: ProviderReview.self))]
            ) { request, context in
                try .json(try await service.reviews(ofProvider: try context.uuidParameter("id"), page: try PageRequest(query: request.queryItems)))
            })
        let customer = Access.action(MarketplacePolicy.manageCustomerProfile)
        routes.add(
            Endpoint(
                .get, "\(base)/customers/me", operationID: "getMyCustomerProfile", summary: "Your customer profile.", tag: tag, access: customer,
                responses: [EndpointResponse(200, "The profile.", body: .json(CustomerProfile.self))]
            ) { _, context in try .json(try await service.myCustomerProfile(caller: context.caller)) })
        routes.add(
            Endpoint(
                .put, "\(base)/customers/me", operationID: "saveMyCustomerProfile", summary: "Save your customer profile.", tag: tag,
                access: customer,
                requestBody: .json(CustomerUpdate.self), responses: [EndpointResponse(200, "The profile.", body: .json(CustomerProfile.self))]
            ) { request, context in
                try .json(
                    try await service.saveCustomerProfile(try await request.decodeJSON(CustomerUpdate.self, context: context), caller: context.caller)
                )
            })
    }
}
