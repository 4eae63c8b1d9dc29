import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

extension MarketplaceRoutes {
    func addRequests(to routes: inout RouteTable<Context>) {
        let service = self.service
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let read = Access.resourceAction(MarketplacePolicy.readRequest)
        routes.add(
            Endpoint(
                .post, "\(base)/requests", operationID: "createServiceRequest",
                summary: "Ask one provider (providerId) or every provider nearby who offers the category.", tag: tag,
                access: .action(MarketplacePolicy.createRequest), requestBody: .json(NewServiceRequest.self),
                responses: [EndpointResponse(201, "The request, pending.", body: .json(ServiceRequest.self))], idempotent: true
            ) { request, context in
                let created = try await service.createRequest(
                    try await request.decodeJSON(NewServiceRequest.self, context: context), caller: context.caller)
                return try .json(created, status: .created, headers: [.location: "\(base)/requests/\(created.id)"])
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests", operationID: "listMyServiceRequests", summary: "Your requests, newest first, as customer or as provider.",
                tag: tag, access: .authenticated,
                parameters: [
                    EndpointParameter(
                        "role", in: .query, schema: .string(enumValues: ["customer", "provider"]),
                        description: "Which side: provider for providers, customer otherwise, by default."),
                    EndpointParameter("status", in: .query, schema: .string(enumValues: RequestLifecycle.shape.states)), .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of requests.", body: .page(of: ServiceRequest.self))]
            ) { request, context in
                let query = request.queryItems
                return try .json(
                    try await service.requests(
                        role: query["role"], status: query["status"], page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/open", operationID: "listOpenServiceRequests",
                summary: "Pending open requests you could take: your categories, inside your service area.", tag: tag,
                access: .action(MarketplacePolicy.browseOpenRequests), parameters: [.limit, .cursor],
                responses: [EndpointResponse(200, "A page of requests.", body: .page(of: ServiceRequest.self))]
            ) { request, context in
                try .json(try await service.openRequests(page: try PageRequest(query: request.queryItems), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/{id}", operationID: "getServiceRequest", summary: "A request (its customer, its provider).", tag: tag,
                access: read, parameters: [id], responses: [EndpointResponse(200, "The request.", body: .json(ServiceRequest.self))]
            ) { _, context in try .json(try await service.request(try context.uuidParameter("id"), caller: context.caller)) })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/{id}/history", operationID: "getServiceRequestHistory", summary: "Every step of a request, oldest first.",
                tag: tag, access: read, parameters: [id], responses: [EndpointResponse(200, "The history.", body: .json(RequestHistory.self))]
            ) { _, context in try .json(RequestHistory(items: try await service.history(of: try context.uuidParameter("id"), caller: context.caller)))
            })
        let commands: [(String, String, Action)] = [
            ("accept", "Take the request (its provider, or any provider it is open to); `price` is the price agreed.", MarketplacePolicy.respond),
            ("decline", "Turn the request down (its provider).", MarketplacePolicy.respond),
            ("start", "Start the job (its provider).", MarketplacePolicy.respond),
            ("complete", "Finish the job (its provider); `price` is what it cost, the agreed price when absent.", MarketplacePolicy.respond),
            ("cancel", "Call the request off before work starts (its customer).", MarketplacePolicy.cancel),
        ]
        for (command, summary, action) in commands {
            routes.add(
                Endpoint(
                    .post, "\(base)/requests/{id}/\(command)", operationID: "\(command)ServiceRequest", summary: summary, tag: tag,
                    access: .resourceAction(action), parameters: [id],
                    requestBody: EndpointBody(
                        schemaName: RequestCommand.schemaName, schema: RequestCommand.schema(currency: service.settings.currency)
                    ).optional,
                    responses: [EndpointResponse(200, "The request as it now is.", body: .json(ServiceRequest.self))]
                ) { request, context in
                    let body = try await request.decodeJSONIfPresent(RequestCommand.self, context: context) ?? RequestCommand()
                    return try .json(try await service.send(command, to: try context.uuidParameter("id"), body, caller: context.caller))
                })
        }
        routes.add(
            Endpoint(
                .post, "\(base)/requests/{id}/photos", operationID: "addServiceRequestPhotos",
                summary: "Add photos (uploaded as service-photo files) to your request before the job is done.", tag: tag,
                access: .resourceAction(MarketplacePolicy.editRequest), parameters: [id], requestBody: .json(PhotosInput.self),
                responses: [EndpointResponse(200, "The request.", body: .json(ServiceRequest.self))]
            ) { request, context in
                let input = try await request.decodeJSON(PhotosInput.self, context: context)
                return try .json(try await service.addPhotos(input.photos, to: try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/{id}/conversation", operationID: "getServiceRequestConversation",
                summary: "The thread between the customer and the assigned provider, newest messages first.", tag: tag, access: read,
                parameters: [id, .limit], responses: [EndpointResponse(200, "The thread.", body: .json(RequestConversation.self))]
            ) { request, context in
                let page = try PageRequest(query: request.queryItems)
                return try .json(
                    try await service.conversation(ofRequest: try context.uuidParameter("id"), limit: page.limit, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "\(base)/requests/{id}/location", operationID: "shareServiceRequestLocation",
                summary: "Share where you are during the job (its provider; at most every 2 seconds); only the customer sees it.", tag: tag,
                access: .resourceAction(MarketplacePolicy.track), parameters: [id], requestBody: .json(LocationInput.self),
                responses: [EndpointResponse(201, "The point.", body: .json(LocationPoint.self))]
            ) { request, context in
                let point = try await request.decodeJSON(LocationInput.self, context: context)
                return try .json(try await service.track(try context.uuidParameter("id"), point, caller: context.caller), status: .created)
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/{id}/location", operationID: "getServiceRequestLocation",
                summary: "The provider's last point and the active job's trail (its customer).", tag: tag, access: read, parameters: [id],
                responses: [EndpointResponse(200, "The tracking.", body: .json(Tracking.self))]
            ) { _, context in try .json(try await service.tracking(try context.uuidParameter("id"), caller: context.caller)) })
    }

    func addReviews(to routes: inout RouteTable<Context>) {
        let service = self.service
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        routes.add(
            Endpoint(
                .post, "\(base)/requests/{id}/review", operationID: "reviewServiceRequest",
                summary: "Review a completed request (its customer, once): 1 to 5 stars and a text.", tag: tag,
                access: .resourceAction(MarketplacePolicy.review), parameters: [id], requestBody: .json(ReviewInput.self),
                responses: [EndpointResponse(201, "The review.", body: .json(ProviderReview.self))]
            ) { request, context in
                let input = try await request.decodeJSON(ReviewInput.self, context: context)
                return try .json(try await service.review(try context.uuidParameter("id"), input, caller: context.caller), status: .created)
            })
        routes.add(
            Endpoint(
                .get, "\(base)/requests/{id}/review", operationID: "getServiceRequestReview",
                summary: "The request's review (404 until there is one).",
                tag: tag, access: .resourceAction(MarketplacePolicy.readRequest), parameters: [id],
                responses: [EndpointResponse(200, "The review.", body: .json(ProviderReview.self))]
            ) { _, context in
                let id = try context.uuidParameter("id")
                guard let review = try await service.review(ofRequest: id, caller: context.caller) else {
                    throw PlazaError.notFound("The request has no review yet.")
                }
                return try .json(review)
            })
        routes.add(
            Endpoint(
                .get, "\(base)/reviews", operationID: "listReviewsForModeration",
                summary: "Reviews for moderators, newest first: visible ones, or ?state=hidden.", tag: "Moderation",
                access: .action(MarketplacePolicy.moderate),
                parameters: [EndpointParameter("state", in: .query, schema: .string(enumValues: ["visible", "hidden"])), .limit, .cursor],
                responses: [EndpointResponse(200, "A page of reviews.", body: .page(of: ProviderReview.self))]
            ) { request, context in
                let query = request.queryItems
                guard ["visible", "hidden"].contains(query["state"] ?? "visible") else {
                    throw PlazaError.validation(field: "state", "must be visible or hidden")
                }
                return try .json(
                    try await service.moderationQueue(
                        hidden: query["state"] == "hidden", page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "\(base)/reviews/{id}/answer", operationID: "answerReview", summary: "Answer a review of you (the provider, once).", tag: tag,
                access: .resourceAction(MarketplacePolicy.answerReview), parameters: [id], requestBody: .json(ReviewText.self),
                responses: [EndpointResponse(200, "The review.", body: .json(ProviderReview.self))]
            ) { request, context in
                let input = try await request.decodeJSON(ReviewText.self, context: context)
                return try .json(try await service.answer(review: try context.uuidParameter("id"), input, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "\(base)/reviews/{id}/hide", operationID: "hideReview",
                summary: "Hide a review, with the reason in `text` (moderators); it stops counting in the rating.", tag: "Moderation",
                access: .action(MarketplacePolicy.moderate), parameters: [id], requestBody: .json(ReviewText.self),
                responses: [EndpointResponse(200, "The review.", body: .json(ProviderReview.self))]
            ) { request, context in
                let input = try await request.decodeJSON(ReviewText.self, context: context)
                return try .json(try await service.hide(review: try context.uuidParameter("id"), input, caller: context.caller))
            })
    }
}
