import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/api/v1/workflows/*`: the operators' view of every lifecycle.
public struct WorkflowRoutes<Context: PlazaRequestContext>: Sendable {
    let engine: WorkflowEngine

    public init(engine: WorkflowEngine) {
        self.engine = engine
    }

    public struct CancelInput: Codable, Sendable, APISchema {
        public var reason: String
        public static var schema: JSONSchema { .object(properties: ["reason": WorkflowEngine.reasonLimit.schema], required: ["reason"]) }
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let engine = self.engine
        let tag = "Workflows"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let operate = Access.action(WorkflowPolicy.operate)

        routes.add(
            Endpoint(
                .get, "/api/v1/workflows", operationID: "listWorkflows",
                summary: "Instances newest first; filter by definition, state, failure and idleness.", tag: tag, access: operate,
                parameters: [
                    .limit, .cursor, EndpointParameter("definition", in: .query), EndpointParameter("state", in: .query),
                    EndpointParameter("failed", in: .query, schema: .boolean, description: "true: only those with a failed activity."),
                    EndpointParameter("idleMinutes", in: .query, schema: .integer(minimum: 1), description: "Only those not moved for this long."),
                ],
                responses: [EndpointResponse(200, "A page of instances.", body: .page(of: WorkflowInstance.self))]
            ) { request, context in
                let query = request.queryItems
                return try .json(
                    try await engine.instances(try WorkflowQuery(query: query), page: try PageRequest(query: query), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/workflows/{id}", operationID: "getWorkflow", summary: "An instance with its history, activities and diagram.",
                tag: tag, access: operate, parameters: [id], responses: [EndpointResponse(200, "The instance.", body: .json(WorkflowDetail.self))]
            ) { _, context in
                try .json(try await engine.detail(try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/workflows/{id}/cancel", operationID: "cancelWorkflow",
                summary: "Stop an instance for good (its timers and pending activities are dropped).", tag: tag, access: operate,
                parameters: [id], requestBody: .json(CancelInput.self),
                responses: [
                    EndpointResponse(200, "The cancelled instance.", body: .json(WorkflowInstance.self)), EndpointResponse(409, "Cancelled already."),
                ]
            ) { request, context in
                let input = try await request.decodeJSON(CancelInput.self, context: context)
                return try .json(try await engine.cancel(try context.uuidParameter("id"), reason: input.reason, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/workflows/activities/{id}/reset", operationID: "resetWorkflowActivity",
                summary: "Give a failed activity a fresh set of attempts and run it now.", tag: tag, access: operate, parameters: [id],
                responses: [EndpointResponse(202, "Queued."), EndpointResponse(409, "The activity has not failed.")]
            ) { _, context in
                try await engine.resetActivity(try context.uuidParameter("id"), caller: context.caller)
                return Response(status: .accepted)
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/workflows/activities/{id}/retry", operationID: "retryWorkflowActivity",
                summary: "Give a failed activity one more attempt, now (its attempts so far still count).", tag: tag, access: operate,
                parameters: [id], responses: [EndpointResponse(202, "Queued."), EndpointResponse(409, "The activity has not failed.")]
            ) { _, context in
                try await engine.retryActivity(try context.uuidParameter("id"), caller: context.caller)
                return Response(status: .accepted)
            })
        return routes
    }
}

extension WorkflowInstance: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "definition": .text, "state": .text, "version": .integer(format: "int32"), "subject": .nullable(.text),
                "ownerId": .nullable(.uuid), "parentId": .nullable(.uuid), "participantIds": .array(.uuid), "allowedCommands": .array(.text),
                "failure": .nullable(.text), "cancelledAt": .nullable(.dateTime), "createdAt": .dateTime, "updatedAt": .dateTime,
            ],
            required: ["id", "definition", "state", "version", "participantIds", "allowedCommands", "createdAt", "updatedAt"])
    }
}

extension WorkflowDetail: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "instance": .ref(WorkflowInstance.schemaName),
                "history": .array(
                    .object(
                        properties: [
                            "version": .integer(format: "int32"), "at": .dateTime, "actorId": .nullable(.uuid), "from": .nullable(.text), "to": .text,
                            "command": .text, "payload": .nullable(.anyObject), "comment": .nullable(.text),
                        ],
                        required: ["version", "at", "to", "command"])),
                "activities": .array(
                    .object(
                        properties: [
                            "id": .uuid, "instanceId": .uuid, "version": .integer(format: "int32"), "name": .text,
                            "status": .string(enumValues: ["scheduled", "succeeded", "failed", "cancelled"]),
                            "attempts": .integer(format: "int32"), "maxAttempts": .integer(format: "int32"),
                            "nextAttemptAt": .nullable(.dateTime), "lastError": .nullable(.text),
                        ],
                        required: ["id", "instanceId", "version", "name", "status", "attempts", "maxAttempts"])),
                "diagram": .nullable(.text),
            ],
            required: ["instance", "history", "activities"])
    }
}
