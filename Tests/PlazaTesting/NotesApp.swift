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

    /// The shape of refusals under `/api/notes-legacy/`, where the test app speaks "another system's" API.
    public static let legacy = ErrorEnvelope(
        name: "NotesLegacyError",
        schema: .object(
            properties: [
                "ok": .boolean,
                "error": .object(properties: ["status": .integer(), "code": .text, "message": .text], required: ["status", "code", "message"]),
            ], required: ["ok", "error"])
    ) { error, problem in
        struct Body: Encodable {
            struct Failure: Encodable { let status: Int, code: String, message: String }
            let ok = false
            let error: Failure
        }
        let body = Body(error: .init(status: problem.status, code: error.code, message: problem.detail ?? problem.title))
        return (try? JSONEncoder().encode(body)) ?? Data()
    }

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
        errorEnvelopes: [EnvelopedPrefix("/api/notes-legacy/", legacy)],
        personalData: [PersonalTable("notes_notes", people: ["user_id"], forget: [.delete(where: "user_id = :user")])])

    let store: Store

    public init(core: AppCore) throws {
        store = core.store
    }

    /// `notes-writers:<anything>`: everyone who keeps a note (an audience group, for the notification tests).
    public var parts: AppParts {
        var parts = AppParts()
        parts.audienceGroup("notes-writers") { _ in "SELECT user_id FROM notes_notes" }
        return parts
    }

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
        table.add(
            Endpoint(
                .post, "/api/v1/notes", operationID: "createNote", summary: "Keep a note (at most 3 a minute).", tag: "Notes",
                access: .action(Self.read), requestBody: .json(NewNote.self),
                responses: [EndpointResponse(201, "The note.", body: .json(Note.self))], rateLimit: RateLimit(3, per: .seconds(60))
            ) { request, context in
                guard let me = context.caller.principal?.id else { throw PlazaError.unauthorized() }
                let input = try await request.decodeJSON(NewNote.self, context: context)
                var errors: [FieldError] = []
                NewNote.limit.check(input.body, field: "body", into: &errors)
                guard errors.isEmpty else { throw PlazaError.validation(errors) }
                let note = Note(id: PlazaID.make(at: store.clock.now()), body: input.body)
                try await store.transaction { transaction in
                    try await transaction.sql.raw(
                        "INSERT INTO notes_notes (id, user_id, body) VALUES (\(bind: note.id), \(bind: me), \(bind: note.body))"
                    ).run()
                }
                return try .json(note, status: .created)
            })
        table.add(
            Endpoint(
                .get, "/api/notes-legacy/notes", operationID: "listNotesLegacy", summary: "The caller's notes, in the legacy API (2 a minute).",
                tag: "Notes", access: .action(Self.read), responses: [EndpointResponse(200, "Every note of the caller.", body: .page(of: Note.self))],
                errors: .envelope(Self.legacy), rateLimit: RateLimit(2, per: .seconds(60))
            ) { _, _ in try .json(Page(items: [Note](), nextCursor: nil)) })
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

    public static func add(_ body: String, for user: UUID, in transaction: Transaction) async throws {
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

/// `POST /api/v1/notes`.
public struct NewNote: Codable, Sendable, APISchema {
    public var body: String
    public init(body: String) { self.body = body }
    public static let limit = TextLimit(1...1000)
    public static var schema: JSONSchema { .object(properties: ["body": limit.schema], required: ["body"]) }
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
