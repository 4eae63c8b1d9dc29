import Crypto
import Foundation
import Identity
import Jobs
import Logging
import PlazaKit
import SQLKit
import Storage
import Synchronization

/// Who may do what with files.
public enum FilePolicy {
    public static let upload: Action = "files.file.upload"
    /// Reading a private file (public files need no permission).
    public static let read: Action = "files.file.read"
    public static let delete: Action = "files.file.delete"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(upload, .authenticated)
        policy.allow(read, .owner, .participant)
        policy.allow(delete, .owner)
        return policy
    }
}

/// Stores uploads, makes their variants and decides who reads them.
public final class FileService: Sendable {
    public static let variantsJob = "files.variants"

    let store: Store
    let queue: JobQueue
    let identity: IdentityService
    let blobs: any BlobStore
    let images: Images
    let secrets: Secrets
    let policy: any Policy
    let settings: FileSettings
    let logger: Logger
    private let entities = Registry<FileEntityFacts>("file entity")
    private let purposes = Registry<FilePurpose>("file purpose")
    /// Entity kinds whose files are theirs alone: a file bound to one becomes private (a request's photos of a home).
    private let privateEntities = Mutex<Set<String>>([])

    public init(
        store: Store, queue: JobQueue, identity: IdentityService, blobs: any BlobStore, secrets: Secrets, policy: any Policy, settings: FileSettings,
        logger: Logger, images: Images = Images()
    ) {
        self.store = store
        self.queue = queue
        self.identity = identity
        self.blobs = blobs
        self.secrets = secrets
        self.policy = policy
        self.settings = settings
        self.logger = logger
        self.images = images
        for purpose in FilePurpose.core { try! purposes.add(purpose.name, purpose, owner: "Files") }
    }

    /// Declares what files of a purpose may be; a name declared before throws ``DuplicateName``.
    public func register(_ purpose: FilePurpose, owner: String = #fileID) throws {
        try purposes.add(purpose.name, purpose, owner: owner)
    }

    /// The purpose of that name, if one is declared.
    public func purpose(named name: String) -> FilePurpose? { purposes[name] }

    /// Every declared purpose, the core's first.
    public var allPurposes: [FilePurpose] { purposes.values }

    /// A module that binds files to its entities (`message`, `category`) says who may read them; with
    /// `keepsFilesPrivate`, a file bound to one is private from then on, read only by those the facts let in (or
    /// through a signed link), whatever its purpose's visibility.
    public func registerEntity(_ kind: String, keepsFilesPrivate: Bool = false, owner: String = #fileID, facts: @escaping FileEntityFacts) throws {
        try entities.add(kind, facts, owner: owner)
        if keepsFilesPrivate { privateEntities.withLock { _ = $0.insert(kind) } }
    }

    public func register(in registry: JobRegistry) throws {
        try registry.register(Self.variantsJob, payload: VariantsPayload.self) { [self] payload, _ in
            try await makeNamedVariants(of: payload.fileId)
        }
        try registry.register(Self.sweepJob) { [self] _, _ in try await sweep() }
    }

    /// When an account's data is erased, its files go too.
    public func subscriptions() -> [Jobs.Subscription] {
        [
            Jobs.Subscription("files.user-purged", topics: [UserPurged.topic], delivery: .work) { [self] event in
                let purged = try event.decode(UserPurged.self)
                try await remove(try await records(where: "owner_id = \(bind: purged.userId)"), caller: .system("retention"))
            }
        ]
    }

    struct VariantsPayload: Codable, Sendable {
        var fileId: UUID
    }

    // MARK: Uploading

    /// May `caller` upload for `purpose`? Asked before any byte of the file is written.
    func authorizeUpload(_ purpose: FilePurpose, caller: Caller) throws {
        try policy.authorize(caller, FilePolicy.upload)
        if purpose.uploadAction != FilePolicy.upload { try policy.authorize(caller, purpose.uploadAction) }
    }

    /// Checks a staged upload and keeps it: type from its bytes, images decoded in full, then the blob is
    /// stored, the record written and the variants job queued in one transaction.
    func store(_ staged: StagedUpload, caller: Caller) async throws -> StoredFile {
        defer { try? FileManager.default.removeItem(at: staged.file) }
        return try await keep(staged, try await check(staged, caller: caller), caller: caller)
    }

    /// What a staged upload was found to be: its type from its bytes and, for an image, its size.
    struct CheckedUpload: Sendable {
        var type: MediaType
        var dimensions: (Int, Int)?
    }

    /// Checks a staged upload without keeping anything: the caller may upload it, its bytes are a type its
    /// purpose takes, and an image decodes in full.
    func check(_ staged: StagedUpload, caller: Caller) async throws -> CheckedUpload {
        try authorizeUpload(staged.purpose, caller: caller)
        let allowed = staged.purpose.allowedTypes.map(\.rawValue).sorted().joined(separator: ", ")
        guard let type = staged.sniffed else {
            throw Self.unsupported("The file's content is not a type Plaza accepts for \(staged.purpose.name) (\(allowed)).")
        }
        guard staged.purpose.allowedTypes.contains(type) else {
            throw Self.unsupported("A \(type.rawValue) file is not accepted for \(staged.purpose.name); send one of \(allowed).")
        }
        return CheckedUpload(type: type, dimensions: type.isImage ? try await checkImage(staged.file.path, claimed: type) : nil)
    }

    /// Keeps a checked upload: the blob is stored, the record written and the variants job queued in one
    /// transaction. The staging file is the caller's to remove.
    func keep(_ staged: StagedUpload, _ checked: CheckedUpload, caller: Caller) async throws -> StoredFile {
        let type = checked.type
        let dimensions = checked.dimensions
        let now = store.clock.now()
        let id = PlazaID.make(at: now)
        let key = Self.originalKey(id)
        try await blobs.put(key, from: staged.file, size: staged.size, sha256: staged.sha256, contentType: type.rawValue)
        do {
            let owner = caller.principal?.id
            let makeVariants = type.isImage && !staged.purpose.variants.isEmpty
            try await store.transaction { [dimensions] transaction in
                try await transaction.sql.raw(
                    """
                    INSERT INTO files (id, owner_id, purpose, name, content_type, size, sha256, visibility, width, height, storage_key, created_at)
                    VALUES (\(bind: id), \(bind: owner), \(bind: staged.purpose.name), \(bind: staged.name), \(bind: type.rawValue),
                            \(bind: staged.size), \(bind: staged.sha256), \(bind: staged.purpose.visibility.rawValue),
                            \(bind: dimensions?.0), \(bind: dimensions?.1), \(bind: key), \(bind: now))
                    """
                ).run()
                if makeVariants {
                    _ = try await self.queue.enqueue(
                        JobRequest(Self.variantsJob, payload: VariantsPayload(fileId: id), uniqueKey: "files.variants:\(id)"), in: transaction)
                }
            }
        } catch {
            try? await blobs.delete(key)
            throw error
        }
        if staged.purpose == .avatar, let owner = caller.principal?.id { try await becomeAvatar(id, of: owner, caller: caller) }
        return try await file(id, caller: caller)
    }

    /// A new avatar is bound to its person, set through Identity, and the one it replaces is deleted.
    private func becomeAvatar(_ id: UUID, of owner: UUID, caller: Caller) async throws {
        try await store.transaction { transaction in
            try await transaction.sql.raw(
                "UPDATE files SET entity_kind = 'user', entity_id = \(bind: owner.uuidString.lowercased()) WHERE id = \(bind: id)"
            ).run()
        }
        if let previous = try await identity.setAvatar(id, for: owner, caller: caller), previous != id, let old = try await record(previous) {
            try await remove([old], caller: caller)
        }
    }

    /// The pixel limit from the header (no decoding), the decoder agreeing with the first bytes (a file
    /// that starts like a JPEG must be one), then a full decode that fails on truncated or corrupt data.
    private func checkImage(_ path: String, claimed: MediaType) async throws -> (Int, Int) {
        let header: Images.Header
        do {
            header = try await images.header(of: path)
        } catch {
            // What the image library said stays in the log: it names the library, not the client's problem.
            logger.debug("image header refused", metadata: ["error": "\(error)"])
            throw PlazaError.validation(field: "file", "is not an image Plaza can read")
        }
        guard header.width > 0, header.height > 0, header.width * header.height <= settings.maxPixels else {
            throw PlazaError.validation(
                field: "file", "is \(header.width)×\(header.height) pixels; at most \(settings.maxPixels / 1_000_000) megapixels are accepted")
        }
        guard claimed.isRead(by: header.loader) else {
            throw PlazaError.validation(field: "file", "starts like \(claimed.rawValue) but its contents are another format")
        }
        do {
            try await images.verify(path)
        } catch {
            logger.debug("image decode refused", metadata: ["error": "\(error)"])
            throw PlazaError.validation(field: "file", "is a damaged or truncated image")
        }
        // EXIF orientations 5–8 turn the picture a quarter: the upright size swaps.
        return header.orientation >= 5 ? (header.height, header.width) : (header.width, header.height)
    }

    static func unsupported(_ detail: String) -> PlazaError {
        PlazaError(.unsupportedMediaType, code: "unsupported-type", title: "Unsupported file type", detail: detail)
    }

    static func originalKey(_ id: UUID) -> String {
        let text = id.uuidString.lowercased()
        return "originals/\(text.suffix(2))/\(text)"
    }

    static func variantKey(_ id: UUID, _ spec: VariantSpec) -> String {
        let text = id.uuidString.lowercased()
        return "variants/\(text.suffix(2))/\(text)/\(spec.name).\(spec.format.rawValue)"
    }

    // MARK: Reading

    struct Record: Sendable {
        var id: UUID
        var ownerID: UUID?
        var purpose: FilePurpose
        var name: String
        var contentType: String
        var size: Int64
        var sha256: String
        var visibility: FileVisibility
        var width: Int?
        var height: Int?
        var entityKind: String?
        var entityID: String?
        var key: String
        var createdAt: Date
    }

    func record(_ id: UUID) async throws -> Record? {
        try await records(where: "id = \(bind: id)").first
    }

    /// The files matching `condition`, read in one query.
    func records(where condition: SQLQueryString) async throws -> [Record] {
        try await store.sql.raw(
            """
            SELECT id, owner_id, purpose, name, content_type, size, sha256, visibility, width, height, entity_kind, entity_id, storage_key, created_at
            FROM files WHERE \(condition)
            """
        ).all().map { row in
            Record(
                id: try row.decode(column: "id", as: UUID.self), ownerID: try row.decode(column: "owner_id", as: UUID?.self),
                // A purpose no installed app declares any more (its app was removed): private, without variants.
                purpose: purpose(named: try row.decode(column: "purpose", as: String.self)) ?? .attachment,
                name: try row.decode(column: "name", as: String.self), contentType: try row.decode(column: "content_type", as: String.self),
                size: try row.decode(column: "size", as: Int64.self), sha256: try row.decode(column: "sha256", as: String.self),
                visibility: FileVisibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .private,
                width: try row.decode(column: "width", as: Int?.self), height: try row.decode(column: "height", as: Int?.self),
                entityKind: try row.decode(column: "entity_kind", as: String?.self), entityID: try row.decode(column: "entity_id", as: String?.self),
                key: try row.decode(column: "storage_key", as: String.self), createdAt: try row.decode(column: "created_at", as: Date.self))
        }
    }

    /// The facts the policy needs about a file: its owner, and the people its entity lets in.
    func facts(_ record: Record) async throws -> ResourceFacts {
        var facts = ResourceFacts(ownerID: record.ownerID)
        if let kind = record.entityKind, let entity = record.entityID, let resolve = entities[kind],
            let entityFacts = try await resolve(entity)
        {
            facts.participantIDs = entityFacts.participantIDs
            if let owner = entityFacts.ownerID { facts.participantIDs.insert(owner) }
            facts.organisationID = entityFacts.organisationID
        }
        return facts
    }

    /// A private file is refused as not found to whoever may not read it: its existence is not theirs to know.
    func authorizeRead(_ record: Record, caller: Caller) async throws {
        guard record.visibility == .private else { return }
        guard caller.principal != nil else { throw PlazaError.unauthorized() }
        guard policy.allowsQuietly(caller, FilePolicy.read, try await facts(record)) else { throw Self.notFound }
    }

    static let notFound = PlazaError.notFound("There is no such file.")

    /// A file's metadata, with links (signed ones for a private file).
    public func file(_ id: UUID, caller: Caller) async throws -> StoredFile {
        guard let record = try await record(id) else { throw Self.notFound }
        try await authorizeRead(record, caller: caller)
        return try await describe(record)
    }

    func describe(_ record: Record) async throws -> StoredFile {
        var variants: [String: String] = [:]
        if record.contentType.hasPrefix("image/") {
            for spec in record.purpose.variants { variants[spec.name] = try await link(record, variant: spec.name) }
        }
        return StoredFile(
            id: record.id, purpose: record.purpose.name, name: record.name, contentType: record.contentType, size: record.size,
            sha256: record.sha256, visibility: record.visibility, width: record.width, height: record.height, ownerId: record.ownerID,
            entity: record.entityKind.map { kind in "\(kind):\(record.entityID ?? "")" },
            url: try await link(record, variant: nil), variants: variants, createdAt: record.createdAt)
    }

    /// `/files/<id>[/<variant>]`, signed with an expiry for a private file.
    func link(_ record: Record, variant: String?) async throws -> String {
        let path = "/files/\(record.id.uuidString.lowercased())" + (variant.map { "/\($0)" } ?? "")
        guard record.visibility == .private else { return path }
        let expires = Int(store.clock.now().timeIntervalSince1970 + settings.signedURLLifetime.timeInterval)
        return path + "?expires=\(expires)&signature=\(try await signature(record.id, variant: variant, expires: expires))"
    }

    func signature(_ id: UUID, variant: String?, expires: Int) async throws -> String {
        let key = SymmetricKey(data: try await secrets.secret(named: "files.links"))
        let message = "\(id.uuidString.lowercased())\n\(variant ?? "")\n\(expires)"
        return Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64URLEncodedString()
    }

    /// Whether a link's signature is right and still in time; a wrong or stale one is refused outright.
    func checkSignature(_ id: UUID, variant: String?, expires: String, signature given: String) async throws {
        guard let expiry = Int(expires) else { throw PlazaError.forbidden("This link is not valid.") }
        let expected = try await signature(id, variant: variant, expires: expiry)
        guard Data(expected.utf8).constantTimeEquals(Data(given.utf8)) else { throw PlazaError.forbidden("This link is not valid.") }
        guard Double(expiry) >= store.clock.now().timeIntervalSince1970 else {
            throw PlazaError.forbidden("This link has expired; ask for the file again for a fresh one.")
        }
    }

    // MARK: Deleting

    /// Deletes a file, its variants and their bytes.
    public func delete(_ id: UUID, caller: Caller) async throws {
        guard let record = try await record(id) else { throw Self.notFound }
        let facts = try await facts(record)
        if record.visibility == .private, !policy.allowsQuietly(caller, FilePolicy.read, facts),
            !policy.allowsQuietly(caller, FilePolicy.delete, facts)
        {
            throw Self.notFound
        }
        try policy.authorize(caller, FilePolicy.delete, ResourceFacts(ownerID: record.ownerID))
        try await remove([record], caller: caller)
    }

    /// Removes the files bound to an entity (the module deleting the entity calls this).
    public func deleteFiles(of kind: String, _ entityID: String, caller: Caller) async throws {
        try await remove(try await records(where: "entity_kind = \(bind: kind) AND entity_id = \(bind: entityID)"), caller: caller)
    }

    func remove(_ records: [Record], caller: Caller) async throws {
        guard !records.isEmpty else { return }
        // The variants' keys are read as their rows are deleted, so one made a moment ago is not missed.
        let keys = try await store.transaction { transaction in
            var keys: [String] = []
            for record in records {
                keys.append(record.key)
                // On PostgreSQL the row lock makes a variant being inserted right now wait (and then fail its
                // foreign key, so its maker deletes its bytes) instead of vanishing by cascade unlisted.
                // SQLite has one writer at a time already.
                if transaction.dialect == .postgres {
                    try await transaction.sql.raw("SELECT id FROM files WHERE id = \(bind: record.id) FOR UPDATE").run()
                }
                keys += try await transaction.sql.raw("DELETE FROM file_variants WHERE file_id = \(bind: record.id) RETURNING storage_key")
                    .all().map { try $0.decode(column: "storage_key", as: String.self) }
                try await transaction.sql.raw("DELETE FROM files WHERE id = \(bind: record.id)").run()
                try await transaction.audit(
                    caller, action: "files.delete", resourceType: "file", resourceID: record.id.uuidString.lowercased(),
                    details: .object(["purpose": .string(record.purpose.name), "name": .string(record.name)]))
            }
            return keys
        }
        // After the commit: a crash here leaves bytes without records, which the orphan sweep removes.
        for key in keys { try? await blobs.delete(key) }
        for record in records where record.purpose == .avatar {
            if let owner = record.ownerID, try await identity.avatar(of: owner) == record.id {
                try await identity.setAvatar(nil, for: owner, caller: caller)
            }
        }
    }

    /// The files bound to an entity, in the module's transaction (a profile's photos, including ones it no
    /// longer shows but may show again).
    public func attached(to kind: String, _ entityID: String, in transaction: Transaction) async throws -> Set<UUID> {
        Set(
            try await transaction.sql.raw("SELECT id FROM files WHERE entity_kind = \(bind: kind) AND entity_id = \(bind: entityID)").all()
                .map { try $0.decode(column: "id", as: UUID.self) })
    }

    /// Binds files to an entity of a module (a message's attachments), in the module's own transaction:
    /// each must be a file of `purpose` the caller uploaded and nobody bound yet. A refusal names `field`, the
    /// request's field that listed the files (`photos`, `attachments`).
    public func attach(
        _ ids: [UUID], purpose: FilePurpose, to kind: String, _ entityID: String, field: String, caller: Caller, in transaction: Transaction
    ) async throws {
        for id in ids {
            let row = try await transaction.sql.raw("SELECT owner_id, purpose, entity_kind FROM files WHERE id = \(bind: id)").first()
            guard let row, try row.decode(column: "owner_id", as: UUID?.self) == caller.principal?.id, caller.principal != nil,
                try row.decode(column: "purpose", as: String.self) == purpose.name
            else { throw PlazaError.validation(field: field, "\(id) is not one of your uploads with the purpose \(purpose.name)") }
            guard try row.decode(column: "entity_kind", as: String?.self) == nil else {
                throw PlazaError.validation(field: field, "\(id) is attached elsewhere already")
            }
            let keptPrivate = privateEntities.withLock { $0.contains(kind) }
            try await transaction.sql.raw(
                "UPDATE files SET entity_kind = \(bind: kind), entity_id = \(bind: entityID), visibility = CASE WHEN "
                    + "\(bind: keptPrivate) THEN 'private' ELSE visibility END WHERE id = \(bind: id)"
            ).run()
        }
    }

    // MARK: Variants

    /// Makes every named variant of a file's purpose that does not exist yet (the upload's job), from one
    /// local copy of the original.
    func makeNamedVariants(of id: UUID) async throws {
        guard let record = try await record(id), record.contentType.hasPrefix("image/") else { return }
        var missing: [VariantSpec] = []
        for spec in record.purpose.variants where try await storedVariant(id, spec.name) == nil { missing.append(spec) }
        guard !missing.isEmpty else { return }
        do {
            try await blobs.withLocalCopy(of: record.key) { [missing] path in
                for spec in missing { _ = try await self.makeVariant(record, spec, from: path) }
            }
        } catch {
            // Deleted while its variants were being made (their bytes are gone with it): nothing is left to do.
            if try await self.record(id) == nil { return }
            throw error
        }
    }

    /// The stored variant, made now (once) when it does not exist yet.
    func variant(_ record: Record, _ spec: VariantSpec) async throws -> StoredVariant {
        if let existing = try await storedVariant(record.id, spec.name) { return existing }
        return try await blobs.withLocalCopy(of: record.key) { path in try await self.makeVariant(record, spec, from: path) }
    }

    private func makeVariant(_ record: Record, _ spec: VariantSpec, from path: String) async throws -> StoredVariant {
        let output = try blobs.stagingFile(spec.format.rawValue)
        defer { try? FileManager.default.removeItem(at: output) }
        let made = try await images.variant(of: path, to: output.path, spec: spec)
        let bytes = try Data(contentsOf: output, options: .mappedIfSafe)
        let sha = Hex.string(SHA256.hash(data: bytes))
        let key = Self.variantKey(record.id, spec)
        try await blobs.put(key, from: output, size: Int64(bytes.count), sha256: sha, contentType: spec.format.mediaType)
        let now = store.clock.now()
        do {
            // Two requests may make the same variant at once: the bytes are the same, the first row stays.
            try await store.transaction { transaction in
                try await transaction.sql.raw(
                    """
                    INSERT INTO file_variants (file_id, name, content_type, size, width, height, sha256, storage_key, created_at)
                    VALUES (\(bind: record.id), \(bind: spec.name), \(bind: spec.format.mediaType), \(bind: Int64(bytes.count)),
                            \(bind: made.width), \(bind: made.height), \(bind: sha), \(bind: key), \(bind: now))
                    ON CONFLICT (file_id, name) DO NOTHING
                    """
                ).run()
            }
            guard let stored = try await storedVariant(record.id, spec.name) else { throw Self.notFound }
            return stored
        } catch {
            // The file was deleted while its variant was being made: the bytes must not outlive it, and there is
            // no variant to give (a 404, not the foreign key's refusal).
            if try await self.record(record.id) == nil {
                try? await blobs.delete(key)
                throw Self.notFound
            }
            throw error
        }
    }

    func storedVariant(_ id: UUID, _ name: String) async throws -> StoredVariant? {
        guard
            let row = try await store.sql.raw(
                """
                SELECT name, content_type, size, width, height, sha256, storage_key FROM file_variants WHERE file_id \
                = \(bind: id) AND name = \(bind: name)
                """
            ).first()
        else { return nil }
        return StoredVariant(
            name: try row.decode(column: "name", as: String.self), contentType: try row.decode(column: "content_type", as: String.self),
            size: try row.decode(column: "size", as: Int64.self), width: try row.decode(column: "width", as: Int.self),
            height: try row.decode(column: "height", as: Int.self), sha256: try row.decode(column: "sha256", as: String.self),
            key: try row.decode(column: "storage_key", as: String.self))
    }

    /// Every variant of a file, for its owner and tests.
    public func variants(of id: UUID) async throws -> [StoredVariant] {
        let names = try await store.sql.raw("SELECT name FROM file_variants WHERE file_id = \(bind: id) ORDER BY name")
            .all().map { try $0.decode(column: "name", as: String.self) }
        var out: [StoredVariant] = []
        for name in names { if let variant = try await storedVariant(id, name) { out.append(variant) } }
        return out
    }
}
