import FluentKit
import Storage

/// Creates file records and their variants.
public struct CreateFiles: AsyncMigration {
    public init() {}
    public var name: String { "0015_create_files" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("files")
            .field("id", .uuid, .identifier(auto: false))
            .field("owner_id", .uuid)
            .field("purpose", .string, .required)
            .field("name", .string, .required)
            .field("content_type", .string, .required)
            .field("size", .int64, .required)
            .field("sha256", .string, .required)
            .field("visibility", .string, .required)
            .field("width", .int)
            .field("height", .int)
            .field("entity_kind", .string)
            .field("entity_id", .string)
            .field("storage_key", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await database.schema("file_variants")
            .field("file_id", .uuid, .required, .references("files", "id", onDelete: .cascade))
            .field("name", .string, .required)
            .field("content_type", .string, .required)
            .field("size", .int64, .required)
            .field("width", .int, .required)
            .field("height", .int, .required)
            .field("sha256", .string, .required)
            .field("storage_key", .string, .required)
            .field("created_at", .datetime, .required)
            .compositeIdentifier(over: "file_id", "name")
            .create()
        try await database.execute(
            "CREATE INDEX files_owner ON files (owner_id, created_at)",
            "CREATE INDEX files_entity ON files (entity_kind, entity_id)")
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("file_variants").delete()
        try await database.schema("files").delete()
    }
}
