import Foundation
import Hummingbird
import Identity
import PlazaKit

/// `/organisations/*`: your organisations (every one, for admins), creating one, and — for owners — members,
/// their roles and invitations. `/invitations/accept` takes the link from an invitation email.
struct OrganisationPages<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let identity = pages.identity

        routes.add(.get, "/organisations", "organisationsPage", "Your organisations.", access: .authenticated) { request, context, scope in
            let query = request.queryItems
            let page = try await identity.organisations(
                matching: query["q"], type: query["type"].flatMap { $0.isEmpty ? nil : $0 }, page: try PageRequest(query: query),
                caller: context.caller)
            return scope.render("organisations", Self.list(page, query: query, form: Self.create(scope), scope))
        }
        routes.add(
            .post, "/organisations", "createOrganisationForm", "Create an organisation.",
            access: .action(IdentityPolicy.createOrganisation)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                let organisation = try await identity.createOrganisation(
                    NewOrganisation(name: form["name"] ?? "", slug: form.text("slug"), type: form["type"] ?? ""), caller: context.caller)
                return scope.redirect("/organisations/\(organisation.id)?notice=organisation-created")
            } catch {
                var create = Self.create(scope)
                for index in create.fields.indices { create.fields[index].value = form[create.fields[index].name] ?? "" }
                let page = try await identity.organisations(matching: nil, type: nil, page: PageRequest(), caller: context.caller)
                return try scope.rerender(
                    FormPage(heading: scope.t("nav_organisations"), form: create), after: error, template: "organisations",
                    extra: Self.list(page, query: [:], form: create, scope))
            }
        }
        routes.add(
            .get, "/organisations/{id}", "organisationPage", "An organisation and its members.",
            access: .resourceAction(IdentityPolicy.readOrganisation)
        ) { _, context, scope in
            let id = try context.uuidParameter("id")
            return scope.render("organisation", try await Self.detail(id, identity: identity, context: context, scope))
        }
        routes.add(
            .post, "/organisations/{id}/settings", "organisationSettingsForm", "Rename, retype, move or archive an organisation.",
            access: .resourceAction(IdentityPolicy.manageOrganisation)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                _ = try await identity.updateOrganisation(
                    id, OrganisationUpdate(name: form["name"], type: form["type"], parentId: form["parentId"] ?? "", status: form["status"]),
                    caller: context.caller)
                return scope.redirect("/organisations/\(id)?notice=organisation-saved")
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = try await Self.detail(id, identity: identity, context: context, scope)
                if var settings = data["settings"] as? PageForm {
                    for index in settings.fields.indices { settings.fields[index].value = form[settings.fields[index].name] ?? "" }
                    data["problems"] = settings.attach(error.errors, language: scope.language)
                    data["settings"] = settings
                }
                data["problem"] = scope.t("error_validation")
                return scope.render("organisation", data, status: error.status)
            }
        }
        routes.add(
            .post, "/organisations/{id}/members/{userId}", "memberRolesForm", "Change a member's roles.",
            access: .resourceAction(IdentityPolicy.manageOrganisation)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                _ = try await identity.setMemberRoles(
                    organisation: id, user: try context.uuidParameter("userId"), roles: form.all("roles"), caller: context.caller)
                return scope.redirect("/organisations/\(id)?notice=roles-saved")
            } catch let error as PlazaError where error.status == .unprocessableContent || error.status == .conflict {
                var data = try await Self.detail(id, identity: identity, context: context, scope)
                data["problem"] = error.status == .conflict ? scope.t("error_last_owner") : scope.t("error_validation")
                return scope.render("organisation", data, status: error.status)
            }
        }
        routes.add(
            .post, "/organisations/{id}/members/{userId}/remove", "removeMemberForm", "Remove a member, or leave.",
            access: .authenticated
        ) { request, context, scope in
            _ = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            let user = try context.uuidParameter("userId")
            do {
                try await identity.removeMember(organisation: id, user: user, caller: context.caller)
            } catch let error as PlazaError where error.status == .conflict {
                var data = try await Self.detail(id, identity: identity, context: context, scope)
                data["problem"] = scope.t("error_last_owner")
                return scope.render("organisation", data, status: error.status)
            }
            return scope.redirect(user == context.principal?.id ? "/organisations?notice=left" : "/organisations/\(id)?notice=member-removed")
        }
        routes.add(
            .post, "/organisations/{id}/invitations", "inviteForm", "Invite someone by email.",
            access: .resourceAction(IdentityPolicy.manageOrganisation)
        ) { request, context, scope in
            let form = try await scope.form(request, context)
            let id = try context.uuidParameter("id")
            do {
                _ = try await identity.invite(NewInvitation(email: form["email"] ?? "", roles: form.all("roles")), to: id, caller: context.caller)
                return scope.redirect("/organisations/\(id)?notice=invitation-sent")
            } catch let error as PlazaError where error.status == .unprocessableContent {
                var data = try await Self.detail(id, identity: identity, context: context, scope)
                data["problem"] = scope.t("error_validation")
                data["problems"] = scope.problems(error)
                return scope.render("organisation", data, status: error.status)
            }
        }
        routes.add(
            .get, "/invitations/accept", "acceptInvitationPage", "Join an organisation you were invited to.",
            access: .authenticated
        ) { _, _, scope in
            scope.render("form-page", Self.accept(scope, token: scope.query["token"]).data)
        }
        routes.add(.post, "/invitations/accept", "acceptInvitationForm", "Accept an invitation.", access: .authenticated) { request, context, scope in
            let form = try await scope.form(request, context)
            do {
                let organisation = try await identity.accept(InvitationAcceptance(token: form["token"] ?? ""), caller: context.caller)
                return scope.redirect("/organisations/\(organisation.id)?notice=joined")
            } catch {
                return try scope.rerender(Self.accept(scope, token: form["token"]), after: error)
            }
        }
        return routes.table
    }

    static func create(_ scope: PageScope) -> PageForm {
        PageForm(
            action: "/organisations", submit: scope.t("organisation_create"),
            fields: [
                FormField("name", label: scope.t("field_organisation_name"), required: true),
                FormField("slug", label: scope.t("field_slug"), hint: scope.t("hint_slug")),
                FormField(
                    "type", label: scope.t("field_organisation_type"), kind: .select, value: RoleCatalogue.team.name,
                    options: scope.pages.identity.catalogue.organisationTypeNames.map { ($0, scope.strings["organisation_type_\($0)"] ?? $0) }),
            ])
    }

    static func accept(_ scope: PageScope, token: String?) -> FormPage {
        FormPage(
            heading: scope.t("invitation_heading"), intro: scope.t("invitation_intro"),
            form: PageForm(
                action: "/invitations/accept", submit: scope.t("invitation_accept"),
                fields: [
                    FormField("token", label: scope.t("field_invitation_token"), value: token, required: true)
                ]))
    }

    static func list(_ page: Page<Organisation>, query: [String: String], form: PageForm, _ scope: PageScope) -> [String: Any] {
        var data: [String: Any] = [
            "q": query["q"] ?? "",
            "organisations": page.items.map { organisation -> [String: Any] in
                [
                    "id": organisation.id.uuidString, "title": organisation.name, "slug": organisation.slug,
                    "kind": scope.strings["organisation_type_\(organisation.type)"] ?? organisation.type,
                    "created": Formats.date(organisation.createdAt, scope.language),
                ]
            },
            "form": form,
        ]
        if let cursor = page.nextCursor {
            data["next"] = "/organisations?cursor=\(SignInPages<Context>.encode(cursor))&q=\(SignInPages<Context>.encode(query["q"] ?? ""))"
        }
        return data
    }

    static func detail(_ id: UUID, identity: IdentityService, context: Context, _ scope: PageScope) async throws -> [String: Any] {
        let organisation = try await identity.organisation(id, caller: context.caller)
        let members = try await identity.members(of: id, caller: context.caller)
        let children = try await identity.children(of: id, caller: context.caller)
        let roleNames = try await identity.roles().filter { $0.scope == "organisation" }.map(\.name)
        let viewer = context.principal
        let manages =
            viewer?.systemRoles.contains(SystemRole.admin) == true
            || members.contains { $0.userId == viewer?.id && $0.roles.contains("owner") }
        var data: [String: Any] = [
            "id": organisation.id.uuidString, "title": organisation.name, "slug": organisation.slug,
            "kind": scope.strings["organisation_type_\(organisation.type)"] ?? organisation.type, "manages": manages,
            "archived": organisation.status == "archived",
            "children": children.map { ["childId": $0.id.uuidString, "childName": $0.name] }, "hasChildren": !children.isEmpty,
            "members": members.map { member -> [String: Any] in
                [
                    "userId": member.userId.uuidString, "fullName": "\(member.firstName) \(member.lastName)", "email": member.email,
                    "roleList": member.roles.map { scope.strings["role_\($0)"] ?? $0 }.joined(separator: ", "),
                    "isViewer": member.userId == viewer?.id,
                    "choices": roleNames.map { role in
                        ["role": role, "roleLabel": scope.strings["role_\(role)"] ?? role, "checked": member.roles.contains(role)] as [String: Any]
                    },
                ]
            },
            "inviteRoles": roleNames.map {
                ["role": $0, "roleLabel": scope.strings["role_\($0)"] ?? $0, "checked": $0 == "member"] as [String: Any]
            },
        ]
        if let parent = organisation.parentId {
            data["parentId"] = parent.uuidString
            // A parent the viewer does not belong to is named by its id only.
            data["parentName"] = (try? await identity.organisation(parent, caller: context.caller))?.name ?? parent.uuidString
        }
        if manages {
            // The organisations it could be moved under: those the viewer sees, for the settings form only.
            let visible = try await identity.organisations(
                matching: nil, type: nil, page: PageRequest(limit: PageRequest.maxLimit), caller: context.caller
            ).items
            data["settings"] = PageForm(
                action: "/organisations/\(id)/settings", submit: scope.t("save"),
                fields: [
                    FormField("name", label: scope.t("field_organisation_name"), value: organisation.name, required: true),
                    FormField(
                        "type", label: scope.t("field_organisation_type"), kind: .select, value: organisation.type,
                        options: scope.pages.identity.catalogue.organisationTypeNames.map { ($0, scope.strings["organisation_type_\($0)"] ?? $0) }),
                    FormField(
                        "status", label: scope.t("status"), kind: .select, value: organisation.status,
                        options: Organisation.statuses.map { ($0, scope.t("organisation_status_\($0)")) }),
                    FormField(
                        "parentId", label: scope.t("field_parent"), kind: .select, value: organisation.parentId?.uuidString ?? "",
                        options: [("", "—")] + visible.filter { $0.id != id }.map { ($0.id.uuidString, $0.name) }),
                ])
        }
        return data
    }
}

extension Templates {
    static let organisations: [String: String] = [
        "organisations": """
        {{<layout}}{{$title}}{{t.nav_organisations}}{{/title}}{{$content}}
        <h1>{{t.nav_organisations}}</h1>
        <div class="columns">
        <section class="card">
        <form method="get" action="/organisations" class="filters">
        <label><span>{{t.search}}</span><input type="search" name="q" value="{{q}}"></label><button type="submit">{{t.search}}</button>
        </form>
        <table>
        <thead><tr><th>{{t.field_organisation_name}}</th><th>{{t.field_organisation_type}}</th><th>{{t.created}}</th></tr></thead>
        <tbody>
        {{#organisations}}<tr><td><a href="/organisations/{{id}}">{{title}}</a> <small>{{slug}}</small></td><td>{{kind}}</td><td>\
        {{created}}</td></tr>{{/organisations}}
        {{^organisations}}<tr><td colspan="3">{{t.nothing_found}}</td></tr>{{/organisations}}
        </tbody>
        </table>
        {{#next}}<p><a href="{{next}}" rel="next">{{t.next_page}}</a></p>{{/next}}
        </section>
        <section class="card">
        <h2>{{t.organisation_create}}</h2>
        {{#form}}{{> form}}{{/form}}
        </section>
        </div>
        {{/content}}{{/layout}}
        """,
        "organisation": """
        {{<layout}}{{$title}}{{title}}{{/title}}{{$content}}
        <p><a href="/organisations">{{t.nav_organisations}}</a></p>
        <h1>{{title}} <small>{{kind}} · {{slug}}{{#archived}} · {{t.organisation_status_archived}}{{/archived}}</small></h1>
        {{#parentId}}<p>{{t.field_parent}}: <a href="/organisations/{{parentId}}">{{parentName}}</a></p>{{/parentId}}
        {{#hasChildren}}<p>{{t.children}}: {{#children}}<a href="/organisations/{{childId}}">{{childName}}</a> {{/children}}</p>{{/hasChildren}}
        <div class="columns">
        <section class="card">
        <h2>{{t.members}}</h2>
        <table>
        <thead><tr><th>{{t.field_name}}</th><th>{{t.field_email}}</th><th>{{t.roles}}</th><th></th></tr></thead>
        <tbody>
        {{#members}}
        <tr><td>{{fullName}}</td><td>{{email}}</td>
        <td>{{#manages}}<form method="post" action="/organisations/{{id}}/members/{{userId}}" class="inline">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#choices}}<label class="check"><input type="checkbox" name="roles" value="{{role}}"{{#checked}} checked{{/checked}}> \
        {{roleLabel}}</label>{{/choices}}
        <button class="small">{{t.save}}</button></form>{{/manages}}{{^manages}}{{roleList}}{{/manages}}</td>
        <td>{{#manages}}<form method="post" action="/organisations/{{id}}/members/{{userId}}/remove" class="inline"><input \
        type="hidden" name="_csrf" value="{{csrf}}"><button class="small danger">{{t.remove}}</button></form>{{/manages}}
        {{^manages}}{{#isViewer}}<form method="post" action="/organisations/{{id}}/members/{{userId}}/remove" class="inline">\
        <input type="hidden" name="_csrf" value="{{csrf}}"><button class="small">{{t.leave}}</button></form>{{/isViewer}}{{/manages}}</td></tr>
        {{/members}}
        </tbody>
        </table>
        </section>
        {{#settings}}
        <section class="card">
        <h2>{{t.organisation_settings}}</h2>
        {{> form}}
        </section>
        {{/settings}}
        {{#manages}}
        <section class="card">
        <h2>{{t.invite_heading}}</h2>
        <form method="post" action="/organisations/{{id}}/invitations" class="stack">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label class="field"><span>{{t.field_email}}</span><input type="email" name="email" required></label>
        <fieldset><legend>{{t.roles}}</legend>{{#inviteRoles}}<label class="check"><input type="checkbox" name="roles" \
        value="{{role}}"{{#checked}} checked{{/checked}}> {{roleLabel}}</label>{{/inviteRoles}}</fieldset>
        <button>{{t.invite_submit}}</button>
        </form>
        </section>
        {{/manages}}
        </div>
        {{/content}}{{/layout}}
        """,
    ]
}
