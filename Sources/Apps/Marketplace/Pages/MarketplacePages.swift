import Conversations
import Files
import Foundation
import Hummingbird
import PlazaKit
import Web

/// The marketplace's web apps, server-rendered: customers browse and search (`/marketplace`), read a
/// provider and ask for a visit, follow their requests live, chat and review; providers keep their profile
/// and hours, answer requests, move jobs on, chat, and see their history and earnings
/// (`/marketplace/provider`). Every page calls the service the API calls; the policy guards both alike.
public struct MarketplacePages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages
    let service: MarketplaceService

    public init(pages: Pages, service: MarketplaceService) {
        self.pages = pages
        self.service = service
    }

    public var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let view = MarketplaceViews(service: service)
        let browse = Access.action(MarketplacePolicy.browse)
        routes.add(.get, "/marketplace", "marketplacePage", "Find a provider: search and browse.", access: browse) { request, context, scope in
            scope.render("mp-find", try await view.find(request.queryItems, caller: context.caller, scope: scope))
        }
        routes.add(.get, "/marketplace/providers/{id}", "marketplaceProviderPage", "A provider's profile, reviews and request form.", access: browse)
        {
            _, context, scope in
            scope.render("mp-provider", try await view.provider(try context.uuidParameter("id"), form: nil, caller: context.caller, scope: scope))
        }
        routes.add(
            .post, "/marketplace/providers/{id}/request", "marketplaceRequestForm", "Ask a provider for a visit.",
            access: .action(MarketplacePolicy.createRequest)
        ) { request, context, scope in
            let provider = try context.uuidParameter("id")
            // With photos the form is multipart (the page sends that); without, a plain form works too.
            let withFiles = request.headers[.contentType]?.lowercased().hasPrefix("multipart/form-data") == true
            var form: FormData?
            do {
                var photos: [UUID] = []
                if withFiles {
                    let received = try await scope.form(
                        request, files: service.files, field: "photos", purpose: .servicePhoto, maxFiles: MarketplaceService.maxRequestPhotos,
                        caller: context.caller)
                    form = received.0
                    photos = received.1.map(\.id)
                } else {
                    form = try await scope.form(request, context)
                }
                var draft = try await view.newRequest(form ?? FormData(), provider: provider, caller: context.caller)
                draft.photos = photos
                let created = try await service.createRequest(draft, caller: context.caller)
                return scope.redirect("/marketplace/requests/\(created.id)?notice=mp-request-sent")
            } catch let error as PlazaError where error.status.code < 500 && error.code != "csrf" {
                var data = try await view.provider(provider, form: form, caller: context.caller, scope: scope)
                data["problem"] = scope.words(for: "error_\(error.code)") ?? error.detail ?? error.title
                data["problems"] = scope.problems(error)
                return scope.render("mp-provider", data, status: error.status)
            }
        }
        routes.add(.get, "/marketplace/requests", "marketplaceRequestsPage", "Your requests, as customer or provider.", access: .authenticated) {
            request, context, scope in
            scope.render("mp-requests", try await view.requests(request.queryItems, caller: context.caller, scope: scope))
        }
        routes.add(
            .get, "/marketplace/requests/{id}", "marketplaceRequestPage", "A request: live status, history, chat, review.",
            access: .resourceAction(MarketplacePolicy.readRequest)
        ) { _, context, scope in
            scope.render("mp-request", try await view.request(try context.uuidParameter("id"), caller: context.caller, scope: scope))
        }
        for command in RequestLifecycle.providerCommands + RequestLifecycle.customerCommands {
            let action = command == "cancel" ? MarketplacePolicy.cancel : MarketplacePolicy.respond
            routes.add(
                .post, "/marketplace/requests/{id}/\(command)", "marketplace\(command.capitalized)Form", "\(command.capitalized) a request.",
                access: .resourceAction(action)
            ) { request, context, scope in
                let form = try await scope.form(request, context)
                let id = try context.uuidParameter("id")
                return try await view.acting(on: id, scope: scope, caller: context.caller) {
                    let price = try MarketplaceViews.price(form.text("price"), field: "price", currency: service.settings.currency)
                    _ = try await service.send(
                        command, to: id,
                        RequestCommand(expectedVersion: form.text("expectedVersion").flatMap(Int.init), comment: form.text("comment"), price: price),
                        caller: context.caller)
                    return "mp-moved"
                }
            }
        }
        routes.add(
            .post, "/marketplace/requests/{id}/messages", "marketplaceMessageForm", "Write in a request's chat.",
            access: .resourceAction(MarketplacePolicy.readRequest)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            return try await view.acting(on: id, scope: scope, caller: context.caller) {
                let thread = try await service.conversationID(ofRequest: id, caller: context.caller)
                _ = try await service.conversations.send(MessageDraft(body: form["body"] ?? ""), to: thread, caller: context.caller)
                return nil
            }
        }
        routes.add(
            .post, "/marketplace/requests/{id}/review", "marketplaceReviewForm", "Review a completed request.",
            access: .resourceAction(MarketplacePolicy.review)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            return try await view.acting(on: id, scope: scope, caller: context.caller) {
                _ = try await service.review(
                    id, ReviewInput(rating: Int(form["rating"] ?? "") ?? 0, text: form["text"] ?? ""), caller: context.caller)
                return "mp-reviewed"
            }
        }
        routes.add(
            .post, "/marketplace/requests/{id}/photos", "marketplaceRequestPhotoForm", "Add a photo to your request (multipart).",
            access: .resourceAction(MarketplacePolicy.editRequest), uploads: true
        ) { request, context, scope in
            try await scope.checkUploadForm(request)
            let id = try context.uuidParameter("id")
            return try await view.acting(on: id, scope: scope, caller: context.caller) {
                let file = try await service.files.upload(request, caller: context.caller, only: .servicePhoto)
                _ = try await service.addPhotos([file.id], to: id, caller: context.caller)
                return "mp-photo-added"
            }
        }
        for (path, purpose, notice) in [("photos", FilePurpose.servicePhoto, "mp-photo-added"), ("video", .serviceVideo, "mp-video-added")] {
            routes.add(
                .post, "/marketplace/provider/\(path)", "marketplaceProfile\(path.capitalized)Form",
                "Add a \(purpose.name) to your profile (multipart).",
                access: .action(MarketplacePolicy.createProfile), uploads: true
            ) { request, context, scope in
                try await scope.checkUploadForm(request)
                do {
                    let profile = try await service.myProvider(caller: context.caller)
                    let file = try await service.files.upload(request, caller: context.caller, only: purpose)
                    let update = purpose == .serviceVideo ? ProviderUpdate(videoFileId: file.id) : ProviderUpdate(photos: profile.photos + [file.id])
                    _ = try await service.updateProvider(profile.id, update, caller: context.caller)
                    return scope.redirect("/marketplace/provider?notice=\(notice)")
                } catch let error as PlazaError where error.status.code < 500 {
                    var data = try await view.dashboard(form: nil, caller: context.caller, scope: scope)
                    data["problem"] = scope.words(for: "error_\(error.code)") ?? error.detail ?? error.title
                    data["problems"] = scope.problems(error)
                    return scope.render("mp-dashboard", data, status: error.status)
                }
            }
        }
        addAdministration(to: &routes, view: view)
        routes.add(
            .get, "/marketplace/provider", "marketplaceDashboardPage", "A provider's profile, hours, requests, jobs and earnings.",
            access: .action(MarketplacePolicy.createProfile)
        ) { _, context, scope in
            scope.render("mp-dashboard", try await view.dashboard(form: nil, caller: context.caller, scope: scope))
        }
        routes.add(
            .post, "/marketplace/provider", "marketplaceProfileForm", "Save a provider's profile.",
            access: .action(MarketplacePolicy.createProfile)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                let existing = try? await service.myProvider(caller: context.caller)
                let update = try await view.profileUpdate(form, current: existing)
                if let existing {
                    _ = try await service.updateProvider(existing.id, update, caller: context.caller)
                } else {
                    _ = try await service.createProvider(update, caller: context.caller)
                }
                return scope.redirect("/marketplace/provider?notice=mp-profile-saved")
            } catch let error as PlazaError where error.status.code < 500 {
                var data = try await view.dashboard(form: form, caller: context.caller, scope: scope)
                data["problem"] = scope.words(for: "error_\(error.code)") ?? error.detail ?? error.title
                data["problems"] = scope.problems(error)
                return scope.render("mp-dashboard", data, status: error.status)
            }
        }
        return routes.table
    }

    /// `/admin/marketplace`: the category tree (admins) and review moderation (employees and admins).
    private func addAdministration(to routes: inout PageRoutes<Context>, view: MarketplaceViews) {
        let service = self.service
        routes.add(
            .get, "/admin/marketplace", "marketplaceAdminPage", "The category tree and review moderation.",
            access: .action(MarketplacePolicy.moderate)
        ) { request, context, scope in
            scope.render("mp-admin", try await view.admin(request.queryItems, caller: context.caller, scope: scope))
        }
        @Sendable func again(_ error: PlazaError, _ context: Context, _ scope: PageScope) async throws -> Response {
            var data = try await view.admin([:], caller: context.caller, scope: scope)
            data["problem"] = scope.words(for: "error_\(error.code)") ?? error.detail ?? error.title
            data["problems"] = scope.problems(error)
            return scope.render("mp-admin", data, status: error.status)
        }
        routes.add(
            .post, "/admin/marketplace/categories", "marketplaceCategoryCreateForm", "Add a category.",
            access: .action(MarketplacePolicy.manageCategories)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                _ = try await service.createCategory(
                    CategoryInput(parentId: form.text("parentId").flatMap(UUID.init(uuidString:)), name: form["name"] ?? ""), caller: context.caller)
                return scope.redirect("/admin/marketplace?notice=mp-category-saved")
            } catch let error as PlazaError where error.status.code < 500 { return try await again(error, context, scope) }
        }
        routes.add(
            .post, "/admin/marketplace/categories/{id}", "marketplaceCategoryForm", "Rename or reorder a category.",
            access: .action(MarketplacePolicy.manageCategories)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                guard let position = Int(form.text("position") ?? "0") else {
                    throw PlazaError.validation(field: "position", "must be a whole number")
                }
                _ = try await service.updateCategory(
                    try context.uuidParameter("id"), CategoryInput(name: form["name"] ?? "", position: position), caller: context.caller)
                return scope.redirect("/admin/marketplace?notice=mp-category-saved")
            } catch let error as PlazaError where error.status.code < 500 && error.status != .notFound {
                return try await again(error, context, scope)
            }
        }
        routes.add(
            .post, "/admin/marketplace/categories/{id}/delete", "marketplaceCategoryDeleteForm", "Delete a category nobody uses.",
            access: .action(MarketplacePolicy.manageCategories)
        ) { request, context, scope in
            _ = try await scope.form(request, context)
            do {
                try await service.deleteCategory(try context.uuidParameter("id"), caller: context.caller)
                return scope.redirect("/admin/marketplace?notice=mp-category-deleted")
            } catch let error as PlazaError where error.status == .conflict { return try await again(error, context, scope) }
        }
        routes.add(
            .post, "/admin/marketplace/reviews/{id}/hide", "marketplaceReviewHideForm", "Hide a review, with a reason.",
            access: .action(MarketplacePolicy.moderate)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                _ = try await service.hide(review: try context.uuidParameter("id"), ReviewText(text: form["reason"] ?? ""), caller: context.caller)
                return scope.redirect("/admin/marketplace?notice=mp-review-hidden")
            } catch let error as PlazaError where error.status.code < 500 && error.status != .notFound {
                return try await again(error, context, scope)
            }
        }
    }
}

/// The marketplace's page bundle, declared in its manifest.
enum MarketplacePageBundle {
    /// The marketplace's templates, words and header links, for ``Pages``.
    static var bundle: PageBundle {
        PageBundle(
            templates: MarketplaceTemplates.all, strings: [.en: MarketplaceWords.en, .uk: MarketplaceWords.uk],
            links: [
                PageBundle.Link(href: "/marketplace", label: "mp_nav_find") { _ in true },
                PageBundle.Link(href: "/marketplace/requests", label: "mp_nav_requests") { _ in true },
                PageBundle.Link(href: "/marketplace/provider", label: "mp_nav_provider") { $0.hasAppRole("provider", in: MarketplacePolicy.app) },
                PageBundle.Link(href: "/admin/marketplace", label: "mp_nav_admin") {
                    $0.hasSystemRole(SystemRole.admin) || $0.hasSystemRole(SystemRole.employee)
                },
            ])
    }
}
