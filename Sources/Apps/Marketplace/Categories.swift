import Files
import Foundation
import PlazaKit
import SQLKit
import Storage

extension MarketplaceService {
    /// The whole tree, parents before children, each level by position then name.
    public func categories() async throws -> [ServiceCategory] {
        let now = store.clock.now()
        if let cached = categoryCache.get(now: now) { return cached }
        let generation = categoryCache.generation
        let all = try await store.sql.raw("SELECT * FROM marketplace_categories ORDER BY position, name").all().map(Self.category(row:))
        // Depth-first, so a list shows each category under its parent.
        let children = Dictionary(grouping: all, by: \.parentId)
        var ordered: [ServiceCategory] = []
        func visit(_ parent: UUID?) {
            for category in children[parent] ?? [] {
                ordered.append(category)
                visit(category.id)
            }
        }
        visit(nil)
        categoryCache.put(ordered, at: now, readUnder: generation)
        return ordered
    }

    public func category(_ id: UUID) async throws -> ServiceCategory {
        if let cached = try await categories().first(where: { $0.id == id }) { return cached }
        guard let row = try await store.sql.raw("SELECT * FROM marketplace_categories WHERE id = \(bind: id)").first() else {
            throw PlazaError.notFound("There is no category \(id).")
        }
        return try Self.category(row: row)
    }

    public func createCategory(_ input: CategoryInput, caller: Caller) async throws -> ServiceCategory {
        try policy.authorize(caller, MarketplacePolicy.manageCategories)
        guard let name = input.name else { throw PlazaError.validation(field: "name", "is required") }
        let id = try await Self.slugConflicts {
            try await store.transaction { transaction in
                let now = transaction.clock.now()
                let id = PlazaID.make(at: now)
                let fields = try await validated(input, name: name, for: nil, in: transaction)
                try await transaction.sql.raw(
                    """
                    INSERT INTO marketplace_categories (id, parent_id, name, slug, description, image_file_id, position, created_at, updated_at)
                    VALUES (\(bind: id), \(bind: input.parentId), \(bind: fields.name), \(bind: fields.slug), \(bind: fields.description),
                            \(bind: input.imageFileId), \(bind: input.position ?? 0), \(bind: now), \(bind: now))
                    """
                ).run()
                if let image = input.imageFileId {
                    try await files.attach(
                        [image], purpose: .categoryImage, to: "marketplace-category", id.uuidString.lowercased(), field: "imageFileId",
                        caller: caller, in: transaction)
                }
                try await transaction.audit(caller, action: "marketplace.category.create", resourceType: "category", resourceID: id.uuidString)
                try await searchChanged(provider: nil, caller: caller, in: transaction)
                return id
            }
        }
        return try await category(id)
    }

    /// A slug (made from the name, or sent) another category holds: a 409 with a code of its own, which the admin
    /// page words for people (it has no slug field; they chose a name).
    static func slugTaken(_ detail: String) -> PlazaError {
        PlazaError(.conflict, code: "slug-taken", title: "Conflict", detail: detail)
    }

    /// Two saves racing for one slug: the index refuses the second, which is the same 409 as a slug already taken.
    static func slugConflicts<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error where isUniqueViolation(error) {
            throw Self.slugTaken("The slug is taken by another category; choose another name, or send another slug.")
        }
    }

    public func updateCategory(_ id: UUID, _ input: CategoryInput, caller: Caller) async throws -> ServiceCategory {
        try policy.authorize(caller, MarketplacePolicy.manageCategories)
        try await Self.slugConflicts {
            try await store.transaction { transaction in
                guard let row = try await transaction.sql.raw("SELECT * FROM marketplace_categories WHERE id = \(bind: id)").first() else {
                    throw PlazaError.notFound("There is no category \(id).")
                }
                let current = try Self.category(row: row)
                let fields = try await validated(input, name: input.name ?? current.name, for: current, in: transaction)
                try await transaction.sql.raw(
                    """
                    UPDATE marketplace_categories SET parent_id = \(bind: input.parentId ?? current.parentId), name = \(bind: fields.name),
                        slug = \(bind: fields.slug), description = \(bind: input.description == nil ? current.description : fields.description),
                        image_file_id = \(bind: input.imageFileId ?? current.imageFileId), position = \(bind: input.position ?? current.position),
                        updated_at = \(bind: transaction.clock.now())
                    WHERE id = \(bind: id)
                    """
                ).run()
                if let image = input.imageFileId, image != current.imageFileId {
                    try await files.attach(
                        [image], purpose: .categoryImage, to: "marketplace-category", id.uuidString.lowercased(), field: "imageFileId",
                        caller: caller, in: transaction)
                }
                if fields.name != current.name { try await reindexProviders(offering: id, in: transaction) }
                try await transaction.audit(caller, action: "marketplace.category.update", resourceType: "category", resourceID: id.uuidString)
                try await searchChanged(provider: nil, caller: caller, in: transaction)
            }
        }
        return try await category(id)
    }

    /// Deletes a category nobody uses: no subcategories, no provider offering it, no request about it.
    public func deleteCategory(_ id: UUID, caller: Caller) async throws {
        try policy.authorize(caller, MarketplacePolicy.manageCategories)
        try await store.transaction { transaction in
            guard try await transaction.sql.raw("SELECT id FROM marketplace_categories WHERE id = \(bind: id)").first() != nil else {
                throw PlazaError.notFound("There is no category \(id).")
            }
            for (table, column, what) in [
                ("marketplace_categories", "parent_id", "subcategories"), ("marketplace_offers", "category_id", "providers offering it"),
                ("marketplace_requests", "category_id", "requests about it"),
            ]
            where try await transaction.sql.raw("SELECT 1 AS one FROM \(unsafeRaw: table) WHERE \(unsafeRaw: column) = \(bind: id) LIMIT 1").first()
                != nil
            {
                throw PlazaError.conflict("The category has \(what); move them first.")
            }
            try await transaction.sql.raw("DELETE FROM marketplace_categories WHERE id = \(bind: id)").run()
            try await transaction.audit(caller, action: "marketplace.category.delete", resourceType: "category", resourceID: id.uuidString)
            try await searchChanged(provider: nil, caller: caller, in: transaction)
        }
    }

    /// The category and every category under it (a search for plumbing finds boiler repair too).
    func descendants(of id: UUID) async throws -> [UUID] {
        let children = Dictionary(grouping: try await categories(), by: \.parentId)
        var found = [id]
        var index = 0
        while index < found.count {
            found += (children[found[index]] ?? []).map(\.id)
            index += 1
        }
        return found
    }

    private func validated(_ input: CategoryInput, name: String, for current: ServiceCategory?, in transaction: Transaction) async throws
        -> (name: String, slug: String, description: String?)
    {
        var errors: [FieldError] = []
        // A name left as it was is not judged again (one stored under older rules stays editable around it).
        if name != current?.name { CategoryInput.nameLimit.check(name, field: "name", into: &errors) }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let derived = Self.slug(name)
        let slug =
            input.slug ?? (current?.name == name ? current?.slug : nil)
            ?? (derived.isEmpty ? "category-" + UUID().uuidString.prefix(8).lowercased() : derived)
        if CategoryInput.slugLimit.problem(slug) != nil || !slug.wholly(matches: CategoryInput.slugPattern) {
            errors.append(FieldError(field: "slug", message: "must be 1 to 100 lower-case letters, digits and dashes"))
        }
        CategoryInput.descriptionLimit.check(input.description, field: "description", into: &errors)
        let description = input.description?.trimmingCharacters(in: .whitespacesAndNewlines)
        CategoryInput.positionLimit.check(input.position, field: "position", into: &errors)
        if let parent = input.parentId {
            // A parent must exist and must not be the category itself or under it (no cycles).
            var cursor: UUID? = parent
            var seen: Set<UUID> = []
            while let node = cursor {
                if node == current?.id || !seen.insert(node).inserted {
                    errors.append(FieldError(field: "parentId", message: "would put the category under itself"))
                    break
                }
                guard let row = try await transaction.sql.raw("SELECT parent_id FROM marketplace_categories WHERE id = \(bind: node)").first() else {
                    errors.append(FieldError(field: "parentId", message: "is not a category"))
                    break
                }
                cursor = try row.decode(column: "parent_id", as: UUID?.self)
            }
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        // A well-formed slug another category holds conflicts with what is stored, like any taken name: a 409.
        if slug != current?.slug,
            try await transaction.sql.raw("SELECT id FROM marketplace_categories WHERE slug = \(bind: slug)").first() != nil
        {
            throw Self.slugTaken("The slug \(slug) is taken by another category; choose another name, or send another slug.")
        }
        return (name, slug, description?.isEmpty == true ? nil : description)
    }

    /// `Boiler repair & service` → `boiler-repair-service`; letters outside ASCII are dropped.
    static func slug(_ name: String) -> String {
        var slug = ""
        for character in name.lowercased().folding(options: .diacriticInsensitive, locale: nil) {
            if character.isASCII, character.isLetter || character.isNumber {
                slug.append(character)
            } else if !slug.isEmpty, slug.last != "-" {
                slug.append("-")
            }
        }
        while slug.hasSuffix("-") { slug.removeLast() }
        return String(slug.prefix(100))
    }

    static func category(row: any SQLRow) throws -> ServiceCategory {
        ServiceCategory(
            id: try row.decode(column: "id", as: UUID.self), parentId: try row.decode(column: "parent_id", as: UUID?.self),
            name: try row.decode(column: "name", as: String.self), slug: try row.decode(column: "slug", as: String.self),
            description: try row.decode(column: "description", as: String?.self),
            imageFileId: try row.decode(column: "image_file_id", as: UUID?.self),
            position: try row.decode(column: "position", as: Int.self))
    }
}
