import Conversations
import Foundation
import Hummingbird
import PlazaKit
import Web

/// What the marketplace's pages show, assembled from the service's answers (the handlers stay thin), and
/// the forms read back into the service's inputs.
struct MarketplaceViews: Sendable {
    let service: MarketplaceService

    // MARK: Customers

    func find(_ query: [String: String], caller: Caller, scope: PageScope) async throws -> [String: Any] {
        var query = query.filter { !$0.value.isEmpty }
        if query["lat"] == nil, let me = try? await service.myCustomerProfile(caller: caller), let lat = me.lat, let lng = me.lng {
            query["lat"] = String(lat)
            query["lng"] = String(lng)
        }
        var data: [String: Any] = ["q": query["q"] ?? ""]
        let categories = try await service.categories()
        data["categories"] =
            [["value": "", "label": scope.t("mp_any_category"), "selected": false] as [String: Any]]
            + categories.map {
                [
                    "value": $0.id.uuidString.lowercased(), "label": ($0.parentId == nil ? "" : "— ") + $0.name,
                    "selected": query["category"]?.lowercased() == $0.id.uuidString.lowercased(),
                ]
            }
        data["ratings"] = [("", "mp_any_rating"), ("3", "3★"), ("4", "4★"), ("4.5", "4.5★")].map { value, label -> [String: Any] in
            ["value": value, "label": label.hasPrefix("mp_") ? scope.t(label) : label, "selected": (query["minRating"] ?? "") == value]
        }
        let sorts = query["lat"] == nil ? ["rating", "price"] : ["distance", "rating", "price"]
        data["sorts"] = sorts.map { ["value": $0, "label": scope.t("mp_sort_\($0)"), "selected": query["sort"] == $0] as [String: Any] }
        if let lat = query["lat"], let lng = query["lng"] { data["point"] = ["lat": lat, "lng": lng] }
        do {
            let page = try await service.cachedSearch(try ProviderQuery(query: query)).page
            data["providers"] = page.items.map { provider -> [String: Any] in
                var row: [String: Any] = [
                    "id": provider.id.uuidString.lowercased(), "name": provider.displayName, "bio": provider.bio,
                    "rating": String(format: "%.1f", provider.rating), "ratingCount": provider.ratingCount,
                ]
                if let price = provider.priceFrom { row["priceFrom"] = price.formatted(language: scope.language.rawValue) }
                if let distance = provider.distanceKm { row["distance"] = String(format: "%.1f", distance) }
                return row
            }
            if let next = PageScope.nextPage("/marketplace", query: query, cursor: page.nextCursor) { data["next"] = next }
        } catch let error as PlazaError where error.status == .unprocessableContent {
            data["providers"] = [[String: Any]]()
            data["problem"] = error.detail ?? error.title
            data["problems"] = scope.problems(error)
        }
        return data
    }

    func provider(_ id: UUID, form: FormData?, caller: Caller, scope: PageScope) async throws -> [String: Any] {
        let profile = try await service.provider(id)
        let names = Dictionary(uniqueKeysWithValues: try await service.categories().map { ($0.id, $0.name) })
        let chosen = form?["categoryId"]
        var data: [String: Any] = [
            "id": profile.id.uuidString.lowercased(), "name": profile.displayName, "bio": profile.bio,
            "rating": String(format: "%.1f", profile.rating.average), "ratingCount": profile.rating.count,
            "radius": String(format: "%.0f", profile.area?.radiusKm ?? 0),
            "offers": profile.offers.map { offer -> [String: Any] in
                [
                    "categoryId": offer.categoryId.uuidString.lowercased(), "category": names[offer.categoryId] ?? "",
                    "min": offer.priceMin.formatted(language: scope.language.rawValue),
                    "max": offer.priceMax.formatted(language: scope.language.rawValue),
                    "selected": chosen == offer.categoryId.uuidString.lowercased(),
                ]
            },
            "hours": profile.availability.map { ["day": scope.t("mp_weekday_\($0.weekday)"), "start": $0.start, "end": $0.end] as [String: Any] },
            "stars": (1...5).reversed().map { ["stars": $0, "count": profile.rating.stars[$0 - 1]] as [String: Any] },
            "reviews": try await service.reviews(ofProvider: id, page: PageRequest(limit: 10)).items.map { review -> [String: Any] in
                var row: [String: Any] = ["rating": review.rating, "text": review.text, "when": Formats.date(review.createdAt, scope.language)]
                if let answer = review.answer { row["answer"] = answer }
                return row
            },
        ]
        Self.addPhotos(profile.photos, to: &data)
        if let video = profile.videoFileId { data["video"] = video.uuidString.lowercased() }
        let mayRequest = service.policy.allowsQuietly(caller, MarketplacePolicy.createRequest, .none) && caller.principal?.id != profile.userId
        data["mayRequest"] = mayRequest
        if mayRequest, let user = caller.principal?.id {
            let me = try await service.myCustomerProfile(caller: caller)
            let contact = try await service.identity.contact(user)
            data["timeZone"] = contact?.timeZone ?? "UTC"
            let lat = form?["lat"] ?? (me.lat ?? profile.area?.lat).map { String($0) } ?? ""
            let lng = form?["lng"] ?? (me.lng ?? profile.area?.lng).map { String($0) } ?? ""
            var values: [String: String] = ["lat": lat, "lng": lng]
            values["description"] = form?["description"] ?? ""
            values["address"] = form?["address"] ?? me.address ?? ""
            values["windowStart"] = form?["windowStart"] ?? ""
            values["windowEnd"] = form?["windowEnd"] ?? ""
            data["form"] = values
        }
        return data
    }

    func newRequest(_ form: FormData, provider: UUID, caller: Caller) async throws -> NewServiceRequest {
        var errors: [FieldError] = []
        let category = form.text("categoryId").flatMap(UUID.init(uuidString:))
        if category == nil { errors.append(FieldError(field: "categoryId", message: "is not a category")) }
        let lat = Double(form.text("lat") ?? "")
        let lng = Double(form.text("lng") ?? "")
        if lat == nil { errors.append(FieldError(field: "lat", message: "must be a number")) }
        if lng == nil { errors.append(FieldError(field: "lng", message: "must be a number")) }
        var zone: String?
        if let user = caller.principal?.id { zone = try await service.identity.contact(user)?.timeZone }
        let windowStart = try Self.localTime(form.text("windowStart"), zone: zone, field: "windowStart", into: &errors)
        let windowEnd = try Self.localTime(form.text("windowEnd"), zone: zone, field: "windowEnd", into: &errors)
        guard errors.isEmpty, let category, let lat, let lng else { throw PlazaError.validation(errors) }
        return NewServiceRequest(
            categoryId: category, providerId: provider, description: form["description"] ?? "", address: form["address"] ?? "", lat: lat, lng: lng,
            windowStart: windowStart, windowEnd: windowEnd)
    }

    func requests(_ query: [String: String], caller: Caller, scope: PageScope) async throws -> [String: Any] {
        let role = query["role"].flatMap { ["customer", "provider"].contains($0) ? $0 : nil }
        let page = try await service.requests(
            role: role, status: nil, page: try PageRequest(query: query.filter { $0.key == "cursor" }), caller: caller)
        let names = Dictionary(uniqueKeysWithValues: try await service.categories().map { ($0.id, $0.name) })
        var data: [String: Any] = ["items": page.items.map { row($0, names, scope) }]
        if let next = PageScope.nextPage("/marketplace/requests", query: query, cursor: page.nextCursor) { data["next"] = next }
        return data
    }

    func request(_ id: UUID, caller: Caller, scope: PageScope) async throws -> [String: Any] {
        let request = try await service.request(id, caller: caller)
        let names = Dictionary(uniqueKeysWithValues: try await service.categories().map { ($0.id, $0.name) })
        let topic = id.uuidString.lowercased()
        let me = caller.principal?.id
        var data = row(request, names, scope)
        data["address"] = request.address
        data["version"] = request.version
        data["statusTopic"] = "marketplace-request:\(topic)"
        if let price = request.agreedPrice { data["agreedPrice"] = price.formatted(language: scope.language.rawValue) }
        if let price = request.finalPrice { data["finalPrice"] = price.formatted(language: scope.language.rawValue) }
        data["commands"] = request.allowedCommands.map { command -> [String: Any] in
            [
                "command": command, "label": scope.t("mp_cmd_\(command)"), "withPrice": command == "accept" || command == "complete",
                "danger": command == "decline" || command == "cancel", "id": topic, "version": request.version,
            ]
        }
        data["history"] = try await service.history(of: id, caller: caller).map { step -> [String: Any] in
            var entry: [String: Any] = ["when": Formats.dateTime(step.at, scope.language), "text": scope.t("mp_state_\(step.to)")]
            if let comment = step.comment { entry["comment"] = comment }
            return entry
        }
        if let conversation = request.conversationId {
            let customer = try await service.displayName(ofCustomer: request.customerId)
            let provider = try await service.providerName(request.providerId) ?? ""
            let messages = try await service.conversations.messages(in: conversation, before: nil, limit: 50, caller: caller)
            data["hasChat"] = true
            data["chatTopic"] = "conversation:\(conversation.uuidString.lowercased())"
            data["messages"] = messages.reversed().map { message -> [String: Any] in
                [
                    "author": message.authorId == request.customerId ? customer : provider, "body": message.body ?? "",
                    "when": Formats.dateTime(message.createdAt, scope.language), "mine": message.authorId == me,
                ]
            }
        }
        if me == request.customerId {
            let tracking = try await service.tracking(id, caller: caller)
            var section: [String: Any] = ["locationTopic": "marketplace-location:\(topic)"]
            if let last = tracking.last {
                section["last"] = [
                    "lat": String(format: "%.5f", last.lat), "lng": String(format: "%.5f", last.lng),
                    "when": Formats.dateTime(last.at, scope.language),
                ]
            }
            data["tracking"] = section
        }
        let review = try await service.review(ofRequest: id, caller: caller)
        if let review {
            var shown: [String: Any] = ["rating": review.rating, "text": review.text]
            if let answer = review.answer { shown["answer"] = answer }
            data["review"] = shown
        }
        data["mayReview"] = review == nil && request.status == "completed" && me == request.customerId
        Self.addPhotos(request.photos, to: &data)
        data["mayAddPhotos"] =
            me == request.customerId && ["pending", "accepted", "in_progress"].contains(request.status)
            && request.photos.count < MarketplaceService.maxRequestPhotos
        data["ratingChoices"] = [5, 4, 3, 2, 1]
        return data
    }

    /// Runs a request page's form: on success back to the request (with a notice), on a refusal the request
    /// page again with what went wrong and the refusal's status.
    func acting(on id: UUID, scope: PageScope, caller: Caller, _ body: () async throws -> String?) async throws -> Response {
        do {
            let notice = try await body()
            return scope.redirect("/marketplace/requests/\(id)" + (notice.map { "?notice=\($0)" } ?? ""))
        } catch let error as PlazaError where error.status.code < 500 && error.status != .notFound {
            var data = try await request(id, caller: caller, scope: scope)
            data["problem"] = error.detail ?? error.title
            data["problems"] = scope.problems(error)
            return scope.render("mp-request", data, status: error.status)
        }
    }

    private func row(_ request: ServiceRequest, _ names: [UUID: String], _ scope: PageScope) -> [String: Any] {
        [
            "id": request.id.uuidString.lowercased(), "category": names[request.categoryId] ?? "", "description": request.description,
            "status": request.status, "statusText": scope.t("mp_state_\(request.status)"),
        ]
    }

    // MARK: Providers

    func dashboard(form: FormData?, caller: Caller, scope: PageScope) async throws -> [String: Any] {
        let profile = try? await service.myProvider(caller: caller)
        let categories = try await service.categories()
        let names = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, $0.name) })
        let offers = Dictionary(uniqueKeysWithValues: (profile?.offers ?? []).map { ($0.categoryId, $0) })
        var data: [String: Any] = ["userTopic": caller.principal.map { "user:\($0.id.uuidString.lowercased())" } ?? ""]
        if let profile {
            data["profileId"] = profile.id.uuidString.lowercased()
            Self.addPhotos(profile.photos, to: &data)
            if let video = profile.videoFileId { data["video"] = video.uuidString.lowercased() }
        }
        data["form"] = [
            "displayName": form?["displayName"] ?? profile?.displayName ?? "", "bio": form?["bio"] ?? profile?.bio ?? "",
            "lat": form?["lat"] ?? profile?.area.map { String($0.lat) } ?? "", "lng": form?["lng"] ?? profile?.area.map { String($0.lng) } ?? "",
            "radiusKm": form?["radiusKm"] ?? profile?.area.map { String(format: "%g", $0.radiusKm) } ?? "10",
            "timeZone": form?["timeZone"] ?? profile?.timeZone ?? "Europe/Kyiv",
        ]
        data["categoryRows"] = categories.map { category -> [String: Any] in
            let id = category.id.uuidString.lowercased()
            let offer = offers[category.id]
            return [
                "id": id, "name": (category.parentId == nil ? "" : "— ") + category.name,
                "offered": form.map { $0.all("offer").contains(id) } ?? (offer != nil),
                "min": form?["min_\(id)"] ?? offer.map { Self.plain($0.priceMin) } ?? "",
                "max": form?["max_\(id)"] ?? offer.map { Self.plain($0.priceMax) } ?? "",
            ]
        }
        data["days"] = (1...7).map { weekday -> [String: Any] in
            let slot = profile?.availability.first { $0.weekday == weekday }
            return [
                "weekday": weekday, "day": scope.t("mp_weekday_\(weekday)"), "start": form?["start_\(weekday)"] ?? slot?.start ?? "",
                "end": form?["end_\(weekday)"] ?? slot.map { $0.end == "24:00" ? "23:59" : $0.end } ?? "",
            ]
        }
        guard profile != nil else { return data }
        let mine = try await service.requests(role: "provider", status: nil, page: PageRequest(limit: 100), caller: caller).items
        data["incoming"] = mine.filter { ["pending", "accepted", "in_progress"].contains($0.status) }.map { row($0, names, scope) }
        data["open"] = try await service.openRequests(page: PageRequest(limit: 20), caller: caller).items.map { row($0, names, scope) }
        data["jobs"] = mine.filter { $0.status == "completed" }.map { request -> [String: Any] in
            var entry = row(request, names, scope)
            entry["finalPrice"] = request.finalPrice?.formatted(language: scope.language.rawValue) ?? "—"
            return entry
        }
        let earnings = try await service.earnings(caller: caller)
        let language = scope.language.rawValue
        data["months"] = earnings.months.map {
            ["month": $0.month, "jobs": $0.jobs, "total": $0.total.formatted(language: language)] as [String: Any]
        }
        data["earningsTotal"] = earnings.total.formatted(language: language)
        return data
    }

    /// The dashboard's form as a profile change. The form shows one slot a day; when its hours are what it
    /// showed, the hours are left alone (so split hours set through the API survive an edit of the bio).
    func profileUpdate(_ form: FormData, current: ProviderProfile?) async throws -> ProviderUpdate {
        var errors: [FieldError] = []
        var area: ServiceArea?
        if form.text("lat") != nil || form.text("lng") != nil {
            let lat = Double(form.text("lat") ?? "")
            let lng = Double(form.text("lng") ?? "")
            let radius = Double(form.text("radiusKm") ?? "10")
            if let lat, let lng, let radius {
                area = ServiceArea(lat: lat, lng: lng, radiusKm: radius)
            } else {
                errors.append(FieldError(field: "area", message: "latitude, longitude and radius must be numbers"))
            }
        }
        var offers: [Offer] = []
        for id in form.all("offer") {
            guard let category = UUID(uuidString: id) else { continue }
            let currency = service.settings.currency
            let min = Money(parsing: form.text("min_\(id)") ?? "0", currency)
            let max = form.text("max_\(id)").map { Money(parsing: $0, currency) } ?? min
            guard let min, let max else {
                errors.append(
                    FieldError(field: "offers", message: "prices must be amounts in \(currency.code), with at most \(currency.minorDigits) decimals"))
                continue
            }
            offers.append(Offer(categoryId: category, priceMin: min, priceMax: max))
        }
        let slots = (1...7).compactMap { weekday -> WeeklySlot? in
            guard let start = form.text("start_\(weekday)"), let end = form.text("end_\(weekday)") else { return nil }
            return WeeklySlot(weekday: weekday, start: start, end: end == "23:59" ? "24:00" : end)
        }
        guard errors.isEmpty else { throw PlazaError.validation(errors) }
        let shown = current.map { profile in
            (1...7).compactMap { weekday in profile.availability.first { $0.weekday == weekday } }
        }
        return ProviderUpdate(
            displayName: form["displayName"] ?? "", bio: form["bio"] ?? "", area: area, timeZone: form.text("timeZone"), offers: offers,
            availability: slots == shown ? nil : slots)
    }

    // MARK: Administration

    func admin(_ query: [String: String], caller: Caller, scope: PageScope) async throws -> [String: Any] {
        let hidden = query["reviews"] == "hidden"
        let reviews = try await service.moderationQueue(
            hidden: hidden, page: try PageRequest(query: query.filter { $0.key == "cursor" }), caller: caller)
        var data: [String: Any] = [
            "reviews": reviews.items.map { review -> [String: Any] in
                [
                    "id": review.id.uuidString.lowercased(), "rating": review.rating, "text": review.text, "hidden": review.hiddenAt != nil,
                    "providerId": review.providerId.uuidString.lowercased(), "when": Formats.dateTime(review.createdAt, scope.language),
                ]
            }
        ]
        if let next = PageScope.nextPage("/admin/marketplace", query: query, cursor: reviews.nextCursor) { data["next"] = next }
        let categories = try await service.categories()
        let parents = Dictionary(uniqueKeysWithValues: categories.map { ($0.id, $0.parentId) })
        data["categories"] = categories.map { category -> [String: Any] in
            var depth = 0
            var cursor = category.parentId
            while let node = cursor, depth < 10 { depth += 1; cursor = parents[node] ?? nil }
            return [
                "id": category.id.uuidString.lowercased(), "name": category.name, "slug": category.slug, "position": category.position,
                "indent": String(repeating: "— ", count: depth),
            ]
        }
        return data
    }

    // MARK: Helpers

    static func addPhotos(_ photos: [UUID], to data: inout [String: Any]) {
        data["photos"] = photos.map { $0.uuidString.lowercased() }
        data["hasPhotos"] = !photos.isEmpty
    }

    /// A price as a form shows it for editing: whole units without decimals when it has none (`450`, `450.50`).
    static func plain(_ price: Money) -> String {
        price.amount % price.currency.scale == 0 ? String(price.amount / price.currency.scale) : price.decimal
    }

    /// A price a person typed (`450`, `450,50`), in the marketplace's currency; nil when the field was left empty.
    static func price(_ text: String?, field: String, currency: Currency) throws -> Money? {
        guard let text else { return nil }
        guard let price = Money(parsing: text, currency) else {
            throw PlazaError.validation(field: field, "must be an amount in \(currency.code), with at most \(currency.minorDigits) decimals")
        }
        return price
    }

    /// A `datetime-local` value (`2026-11-30T09:00`) in the person's time zone.
    static func localTime(_ text: String?, zone: String?, field: String, into errors: inout [FieldError]) throws -> Date? {
        guard let text else { return nil }
        var strategy = Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: zone ?? "UTC") ?? .gmt)
        strategy = strategy.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon)
        if let date = try? Date(text.count == 16 ? text + ":00" : text, strategy: strategy) { return date }
        errors.append(FieldError(field: field, message: "must be a date and time"))
        return nil
    }
}
