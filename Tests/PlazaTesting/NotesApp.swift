import AppHost
import Files
import FluentKit
import Foundation
import Identity
import PlazaKit
import SQLKit
import Storage

/// The smallest app there is, for the seam's own tests: one table of notes, one route that lists the caller's,
/// one role, its merge and forget. Registered by one line (`withTestPlaza(apps: [NotesApp.self])`).
public struct NotesApp: PlazaApp {
    public static let read: Action = "notes.notes.read"
    public static let uploadCover: Action = "notes.covers.upload"

    /// The file purposes the file tests use: a public photo with variants, a video, a cover only staff upload.
    public static let photo = FilePurpose(
        "notes-photo", maxBytes: 20 << 20, allowedTypes: FilePurpose.images,
        variants: [
            VariantSpec(name: "thumb", width: 320, height: 240, fit: .smart), VariantSpec(name: "large", width: 1600, height: 1200, fit: .inside),
        ])
    public static let video = FilePurpose("notes-video", maxBytes: 500 << 20, allowedTypes: [.mp4, .quicktime, .webm])
    public static let cover = FilePurpose(
        "notes-cover", maxBytes: 10 << 20, allowedTypes: FilePurpose.images,
        variants: [VariantSpec(name: "card", width: 400, height: 300, fit: .cover)], uploadAction: uploadCover)

    public static let manifest = AppManifest(
        id: "notes", title: ["en": "Notes", "uk": "Нотатки"],
        migrations: [CreateNotes()],
        policy: {
            var policy = RulePolicy()
            policy.allow(read, .appRole(app: "notes", role: "note-taker"))
            policy.allow(uploadCover, .systemRole(SystemRole.admin), .systemRole(SystemRole.employee))
            return policy
        }(),
        roles: [
            AppRole(
                "note-taker", description: "Keeps notes (the seam's test app).", labels: ["en": "Note taker", "uk": "Нотатник"], selfAssignable: true)
        ],
        organisationTypes: [OrganisationType("study-group", labels: ["en": "Study group", "uk": "Навчальна група"])],
        filePurposes: [photo, video, cover],
        personalData: [PersonalTable("notes_notes", people: ["user_id"], forget: [.delete(where: "user_id = :user")])])

    let store: Store

    public init(core: AppCore) throws {
        store = core.store
    }

    public var parts: AppParts { AppParts() }

    public func routes<Context: PlazaRequestContext>(_ context: Context.Type) -> RouteTable<Context> {
        var table = RouteTable<Context>()
        let store = self.store
        table.add(
            Endpoint(
                .get, "/api/v1/notes", operationID: "listNotes", summary: "The caller's notes.", tag: "Notes", access: .action(Self.read),
                responses: [EndpointResponse(200, "Every note of the caller.", body: .page(of: Note.self))]
            ) { _, context in
                guard let me = context.caller.principal?.id else { throw PlazaError.unauthorized() }
                let notes = try await store.sql.raw("SELECT id, body FROM notes_notes WHERE user_id = \(bind: me) ORDER BY id").all().map {
                    Note(id: try $0.decode(column: "id", as: UUID.self), body: try $0.decode(column: "body", as: String.self))
                }
                return try .json(Page(items: notes, nextCursor: nil))
            })
        return table
    }

    public func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> MergeCounts {
        [
            "notes": try await transaction.sql.raw("UPDATE notes_notes SET user_id = \(bind: target) WHERE user_id = \(bind: source) RETURNING id")
                .all().count
        ]
    }

    public func forget(user: UUID, in transaction: Transaction) async throws {
        try await transaction.sql.raw("DELETE FROM notes_notes WHERE user_id = \(bind: user)").run()
    }

    public func seedDemo(_ demo: DemoSeed, in transaction: Transaction) async throws {
        try await Self.add("Buy milk", for: try demo.account("note-taker"), in: transaction)
    }

    public func contractFixtures(_ demo: DemoSeed, in transaction: Transaction) async throws -> [String: String] {
        try await Self.add("Call the plumber", for: try demo.account("customer"), in: transaction)
        return [:]
    }

    static func add(_ body: String, for user: UUID, in transaction: Transaction) async throws {
        try await transaction.sql.raw(
            "INSERT INTO notes_notes (id, user_id, body) VALUES (\(bind: PlazaID.make(at: transaction.clock.now())), \(bind: user), \(bind: body))"
        ).run()
    }
}

/// A note, as the notes route lists it.
public struct Note: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var body: String
    public static var schema: JSONSchema { .object(properties: ["id": .uuid, "body": .text], required: ["id", "body"]) }
}

/// The notes app's table.
public struct CreateNotes: AsyncMigration {
    public init() {}
    public var name: String { "notes.0001_create_notes" }

    public func prepare(on database: any Database) async throws {
        try await database.schema("notes_notes")
            .field("id", .uuid, .identifier(auto: false))
            .field("user_id", .uuid, .required)
            .field("body", .string, .required)
            .create()
    }

    public func revert(on database: any Database) async throws {
        try await database.schema("notes_notes").delete()
    }
}

/// The notes app with a merge that forgets to move anything: the contract test must catch it.
public struct ForgetfulNotesApp: PlazaApp {
    public static var manifest: AppManifest { NotesApp.manifest }
    let notes: NotesApp

    public init(core: AppCore) throws {
        notes = try NotesApp(core: core)
    }

    public var parts: AppParts { notes.parts }
    public func routes<Context: PlazaRequestContext>(_ context: Context.Type) -> RouteTable<Context> { notes.routes(context) }
    public func merge(from source: UUID, into target: UUID, in transaction: Transaction) async throws -> MergeCounts { [:] }
    public func forget(user: UUID, in transaction: Transaction) async throws { try await notes.forget(user: user, in: transaction) }
    public func seedDemo(_ demo: DemoSeed, in transaction: Transaction) async throws { try await notes.seedDemo(demo, in: transaction) }
    public func contractFixtures(_ demo: DemoSeed, in transaction: Transaction) async throws -> [String: String] {
        try await notes.contractFixtures(demo, in: transaction)
    }
}
