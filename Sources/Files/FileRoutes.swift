import Foundation
import HTTPTypes
import Hummingbird
import PlazaKit

/// `/api/v1/files` and the bytes at `/files/…`.
public struct FileRoutes<Context: PlazaRequestContext>: Sendable {
    let service: FileService

    public init(service: FileService) {
        self.service = service
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let service = self.service
        let tag = "Files"
        let id = EndpointParameter("id", in: .path, schema: .uuid)
        let variant = EndpointParameter("variant", in: .path, description: "A variant of the file's purpose (`thumb`, `large`, …).")
        let purposes = service.allPurposes.map(\.name)
        let onDemand = [
            EndpointParameter("w", in: .query, schema: .integer(format: "int32"), description: "On-demand width, from the allow-list."),
            EndpointParameter("h", in: .query, schema: .integer(format: "int32"), description: "On-demand height, from the allow-list."),
            EndpointParameter("fit", in: .query, schema: .string(enumValues: VariantFit.allCases.map(\.rawValue))),
            EndpointParameter("format", in: .query, schema: .string(enumValues: ["webp", "jpeg"])),
            EndpointParameter("expires", in: .query, description: "Part of a signed link to a private file."),
            EndpointParameter("signature", in: .query, description: "Part of a signed link to a private file."),
        ]

        routes.add(
            Endpoint(
                .post, "/api/v1/files", operationID: "uploadFile",
                summary: "Upload a file: multipart (a `purpose` part, then a `file` part), or the raw bytes with ?purpose=&name=.",
                tag: tag, access: .action(FilePolicy.upload),
                parameters: [
                    EndpointParameter("purpose", in: .query, schema: .string(enumValues: purposes), description: "For a raw upload."),
                    EndpointParameter("name", in: .query, description: "For a raw upload: the file's name."),
                ],
                requestBody: EndpointBody(
                    schemaName: nil,
                    schema: .ordered(
                        properties: ["purpose": .string(enumValues: purposes), "file": .string(format: "binary", minLength: 1)],
                        order: ["purpose", "file"],
                        required: ["purpose", "file"]),
                    mediaType: "multipart/form-data"),
                responses: [
                    EndpointResponse(201, "The stored file, with the links of its variants.", body: .json(StoredFile.self)),
                    EndpointResponse(413, "Over the purpose's size limit (stopped while streaming)."),
                    EndpointResponse(415, "A type the purpose does not accept, decided from the content."),
                    EndpointResponse(422, "A bad name, a damaged image, one over the pixel limit, or `file` before `purpose`."),
                ]
            ) { request, context in
                let file = try await service.upload(request, caller: context.caller)
                return try .json(file, status: .created, headers: [.location: "/api/v1/files/\(file.id.uuidString.lowercased())"])
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/files/{id}", operationID: "getFile",
                summary: "A file's metadata and links; a private file only for those who may read it (signed links).",
                tag: tag, access: .public, parameters: [id],
                responses: [EndpointResponse(200, "The file.", body: .json(StoredFile.self))]
            ) { _, context in
                try .json(try await service.file(try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/files/{id}", operationID: "deleteFile", summary: "Delete a file you uploaded, with its variants.",
                tag: tag, access: .resourceAction(FilePolicy.delete), parameters: [id], responses: [EndpointResponse(204, "Deleted.")]
            ) { _, context in
                try await service.delete(try context.uuidParameter("id"), caller: context.caller)
                return Response(status: .noContent)
            })
        routes.add(
            Endpoint(
                .get, "/files/{id}", operationID: "downloadFile",
                summary: "The file's bytes (ranges, ETag, Last-Modified), or an on-demand variant with ?w=&h=&fit=.",
                tag: tag, access: .public, parameters: [id] + onDemand,
                responses: [
                    EndpointResponse(200, "The bytes.", body: .bytes), EndpointResponse(206, "The range asked for.", body: .bytes),
                    EndpointResponse(304, "Not modified."),
                    EndpointResponse(416, "A range outside the file."),
                ]
            ) { request, context in
                let delivery = try await service.delivery(
                    try context.uuidParameter("id"), variant: nil, query: request.queryItems, caller: context.caller)
                return try await delivery.response(to: request, blobs: service.blobs)
            })
        routes.add(
            Endpoint(
                .get, "/files/{id}/{variant}", operationID: "downloadVariant", summary: "A named variant's bytes (made on first request if missing).",
                tag: tag, access: .public, parameters: [id, variant] + onDemand.suffix(2),
                responses: [
                    EndpointResponse(200, "The bytes.", body: .bytes), EndpointResponse(206, "The range asked for.", body: .bytes),
                    EndpointResponse(304, "Not modified."),
                ]
            ) { request, context in
                let name = context.parameters.get("variant") ?? ""
                let delivery = try await service.delivery(
                    try context.uuidParameter("id"), variant: name, query: request.queryItems, caller: context.caller)
                return try await delivery.response(to: request, blobs: service.blobs)
            })
        return routes
    }
}

extension StoredFile: APISchema {
    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "purpose": .string(description: "What the file is for: avatar, attachment, or a purpose an installed app declares."),
                "name": .text, "contentType": .text,
                "size": .integer(), "sha256": .text, "visibility": .string(enumValues: ["public", "private"]),
                "width": .nullable(.integer(format: "int32")), "height": .nullable(.integer(format: "int32")),
                "ownerId": .nullable(.uuid), "entity": .nullable(.text), "url": .text,
                "variants": .anyObject, "createdAt": .dateTime,
            ],
            required: ["id", "purpose", "name", "contentType", "size", "sha256", "visibility", "url", "variants", "createdAt"])
    }
}
