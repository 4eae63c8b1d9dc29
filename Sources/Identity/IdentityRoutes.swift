import Foundation
import HTTPTypes
import Hummingbird
import Jobs
import PlazaKit

/// `/api/v1/auth/*`, `/api/v1/me` and `/oauth/jwks`.
public struct IdentityRoutes<Context: PlazaRequestContext>: Sendable {
    let identity: IdentityService
    let queue: JobQueue

    public init(identity: IdentityService, queue: JobQueue) {
        self.identity = identity
        self.queue = queue
    }

    public var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let (identity, queue) = (self.identity, self.queue)
        let tag = "Identity"

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/register", operationID: "register",
                summary: "Create an account (customer, or another role people may choose) with email and password.", tag: tag,
                access: .public,
                requestBody: EndpointBody(schemaName: Registration.schemaName, schema: Registration.schema(roles: identity.catalogue.selfAssignable)),
                responses: [EndpointResponse(201, "The new account.", body: .json(Me.self))]
            ) { request, context in
                let me = try await identity.register(try await request.decodeJSON(Registration.self, context: context), caller: context.caller)
                return try .json(me, status: .created, headers: [.location: "/api/v1/me"])
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/login", operationID: "login",
                summary: "Sign in: an access token and a refresh token, or (two-step sign-in) a challenge for POST /api/v1/auth/mfa.",
                tag: tag, access: .public, requestBody: .json(Credentials.self),
                responses: [
                    EndpointResponse(200, "Signed in.", body: .json(TokenPair.self)),
                    EndpointResponse(202, "The password is right; now a code from the authenticator app.", body: .json(MFAChallenge.self)),
                ]
            ) { request, context in
                let credentials = try await request.decodeJSON(Credentials.self, context: context)
                switch try await identity.beginLogin(credentials, caller: context.caller, userAgent: request.headers[.userAgent]) {
                case .done(let tokens): return try .json(tokens)
                case .secondFactor(let challenge): return try .json(challenge, status: .accepted)
                }
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/mfa", operationID: "loginSecondFactor",
                summary: "The second step of signing in: the challenge and a code from the app (or a recovery code).", tag: tag, access: .public,
                requestBody: .json(MFAVerification.self), responses: [EndpointResponse(200, "Signed in.", body: .json(TokenPair.self))]
            ) { request, context in
                try .json(
                    try await identity.completeLogin(
                        try await request.decodeJSON(MFAVerification.self, context: context), caller: context.caller,
                        userAgent: request.headers[.userAgent]))
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/me/mfa", operationID: "mfaStatus",
                summary: "Whether two-step sign-in is on, recovery codes left, whether your roles need it.",
                tag: tag, access: .authenticated, responses: [EndpointResponse(200, "The state.", body: .json(MFAStatus.self))]
            ) { _, context in try .json(try await identity.mfaStatus(caller: context.caller)) })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/mfa/totp", operationID: "startTOTP",
                summary: "A new authenticator secret (text, otpauth URI, QR code); pending until confirmed.", tag: tag, access: .authenticated,
                responses: [EndpointResponse(200, "The secret.", body: .json(TOTPEnrolment.self))]
            ) { _, context in try .json(try await identity.startTOTP(caller: context.caller), headers: [.cacheControl: "no-store"]) })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/mfa/totp/confirm", operationID: "confirmTOTP",
                summary: "Turn two-step sign-in on with the app's current code; answers the recovery codes, once.", tag: tag, access: .authenticated,
                requestBody: .json(MFACode.self), responses: [EndpointResponse(200, "On.", body: .json(RecoveryCodes.self))]
            ) { request, context in
                try .json(
                    try await identity.confirmTOTP(try await request.decodeJSON(MFACode.self, context: context), caller: context.caller),
                    headers: [.cacheControl: "no-store"])
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/mfa/recovery-codes", operationID: "regenerateRecoveryCodes",
                summary: "New recovery codes for the app's current code; the old ones stop working.", tag: tag, access: .authenticated,
                requestBody: .json(MFACode.self), responses: [EndpointResponse(200, "The codes.", body: .json(RecoveryCodes.self))]
            ) { request, context in
                try .json(
                    try await identity.regenerateRecoveryCodes(try await request.decodeJSON(MFACode.self, context: context), caller: context.caller),
                    headers: [.cacheControl: "no-store"])
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/me/mfa", operationID: "disableMFA", summary: "Turn two-step sign-in off (password and a code).", tag: tag,
                access: .authenticated, requestBody: .json(MFADisable.self), responses: [EndpointResponse(204, "Off.")]
            ) { request, context in
                try await identity.disableMFA(try await request.decodeJSON(MFADisable.self, context: context), caller: context.caller)
                return .noContent
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/refresh", operationID: "refresh",
                summary: "Swap a refresh token for a new pair; reusing one ends its session.", tag: tag, access: .public,
                requestBody: .json(RefreshRequest.self), responses: [EndpointResponse(200, "A new pair.", body: .json(TokenPair.self))]
            ) { request, context in
                try .json(try await identity.refresh(try await request.decodeJSON(RefreshRequest.self, context: context), caller: context.caller))
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/logout", operationID: "logout", summary: "End this session.", tag: tag, access: .authenticated,
                responses: [EndpointResponse(204, "Signed out.")]
            ) { _, context in
                try await identity.logout(caller: context.caller)
                return .noContent
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/me", operationID: "me", summary: "The signed-in user, with roles and organisations.", tag: tag,
                access: .authenticated, responses: [EndpointResponse(200, "The user.", body: .json(Me.self))]
            ) { _, context in
                guard let principal = context.principal else { throw PlazaError.unauthorized() }
                return try .json(try await identity.me(principal.id))
            })

        routes.add(
            Endpoint(
                .patch, "/api/v1/me", operationID: "updateProfile",
                summary: "Change your profile: names, bio, birth date, mobile, gender, locale, time zone.", tag: tag,
                access: .authenticated, requestBody: .json(ProfileUpdate.self),
                responses: [EndpointResponse(200, "The updated user.", body: .json(Me.self))]
            ) { request, context in
                try .json(
                    try await identity.updateProfile(try await request.decodeJSON(ProfileUpdate.self, context: context), caller: context.caller))
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/genders", operationID: "listGenders", summary: "The choices for a profile's gender.", tag: tag,
                access: .authenticated, responses: [EndpointResponse(200, "The choices.", body: .json(GenderList.self))]
            ) { _, _ in
                try .json(GenderList(items: try await identity.genders()))
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/auth/verify-email/request", operationID: "requestEmailVerification",
                summary: "Send a new email verification code (the answer is the same whether or not the account exists).",
                tag: tag, access: .public, requestBody: .json(CodeRequest.self), responses: [EndpointResponse(202, "Sent if it applies.")]
            ) { request, context in
                try await identity.requestEmailVerification(try await request.decodeJSON(CodeRequest.self, context: context), caller: context.caller)
                return .accepted
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/auth/verify-email", operationID: "verifyEmail", summary: "Verify an email address with its code.",
                tag: tag, access: .public, requestBody: .json(EmailVerification.self), responses: [EndpointResponse(204, "Verified.")]
            ) { request, context in
                try await identity.verifyEmail(try await request.decodeJSON(EmailVerification.self, context: context), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/auth/password-reset/request", operationID: "requestPasswordReset",
                summary: "Send a password reset code (the answer is the same whether or not the account exists).",
                tag: tag, access: .public, requestBody: .json(CodeRequest.self), responses: [EndpointResponse(202, "Sent if it applies.")]
            ) { request, context in
                try await identity.requestPasswordReset(try await request.decodeJSON(CodeRequest.self, context: context), caller: context.caller)
                return .accepted
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/auth/password-reset", operationID: "resetPassword",
                summary: "Set a new password with a reset code; every session ends.", tag: tag, access: .public,
                requestBody: .json(PasswordReset.self), responses: [EndpointResponse(204, "Password set.")]
            ) { request, context in
                try await identity.resetPassword(try await request.decodeJSON(PasswordReset.self, context: context), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/email", operationID: "requestEmailChange",
                summary: "Change your email: a code goes to the new address.", tag: tag, access: .authenticated,
                requestBody: .json(EmailChange.self), responses: [EndpointResponse(202, "Code sent to the new address.")]
            ) { request, context in
                try await identity.requestEmailChange(try await request.decodeJSON(EmailChange.self, context: context), caller: context.caller)
                return .accepted
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/email/confirm", operationID: "confirmEmailChange",
                summary: "Finish an email change with the code from the new address.", tag: tag, access: .authenticated,
                requestBody: .json(CodeConfirmation.self), responses: [EndpointResponse(204, "Changed.")]
            ) { request, context in
                try await identity.confirmEmailChange(try await request.decodeJSON(CodeConfirmation.self, context: context), caller: context.caller)
                return .noContent
            })

        routes.add(
            Endpoint(
                .post, "/api/v1/me/mobile/verification", operationID: "requestMobileVerification",
                summary: "Send a code by SMS to your mobile number.", tag: tag, access: .authenticated,
                responses: [EndpointResponse(202, "Sent."), EndpointResponse(409, "No number, verified already, or no SMS here.")]
            ) { _, context in
                try await identity.requestMobileVerification(caller: context.caller)
                return .accepted
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/mobile/verify", operationID: "verifyMobile", summary: "Verify your mobile number with the SMS code.",
                tag: tag, access: .authenticated, requestBody: .json(CodeConfirmation.self), responses: [EndpointResponse(204, "Verified.")]
            ) { request, context in
                try await identity.verifyMobile(try await request.decodeJSON(CodeConfirmation.self, context: context), caller: context.caller)
                return .noContent
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/me/password", operationID: "changePassword",
                summary: "Change your password; every other session ends.", tag: tag, access: .authenticated,
                requestBody: .json(PasswordChange.self), responses: [EndpointResponse(204, "Changed.")]
            ) { request, context in
                try await identity.changePassword(try await request.decodeJSON(PasswordChange.self, context: context), caller: context.caller)
                return .noContent
            })

        routes.add(
            Endpoint(
                .get, "/api/v1/me/sessions", operationID: "listSessions", summary: "Your open sessions.", tag: tag,
                access: .authenticated, responses: [EndpointResponse(200, "Sessions, newest first.", body: .json(SessionList.self))]
            ) { _, context in try .json(SessionList(items: try await identity.sessions(caller: context.caller))) })

        routes.add(
            Endpoint(
                .delete, "/api/v1/me/sessions/{id}", operationID: "revokeSession", summary: "End one of your sessions.", tag: tag,
                access: .resourceAction(IdentityPolicy.revokeSession), parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(204, "Ended.")]
            ) { _, context in
                try await identity.revokeSession(try context.uuidParameter("id"), caller: context.caller)
                return .noContent
            })

        routes.add(
            Endpoint(
                .get, "/oauth/jwks", operationID: "jwks", summary: "The public keys that verify Plaza's access tokens.", tag: tag,
                access: .public, responses: [EndpointResponse(200, "A JSON Web Key Set.", body: .json(JWKSDocument.self))]
            ) { _, _ in
                try .json(try await identity.jwks(), headers: [.cacheControl: "public, max-age=300"])
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/me", operationID: "deleteAccount",
                summary: "Delete your account: it stops working now and is erased after 30 days.", tag: tag, access: .authenticated,
                requestBody: .json(AccountDeletion.self), responses: [EndpointResponse(204, "Deleted.")]
            ) { request, context in
                try await identity.deleteAccount(
                    try await request.decodeJSON(AccountDeletion.self, context: context), caller: context.caller, queue: queue)
                return .noContent
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/me/export", operationID: "exportData", summary: "Everything Plaza holds about you, as JSON.", tag: tag,
                access: .authenticated, responses: [EndpointResponse(200, "Your data.", body: .json(DataExport.self))]
            ) { _, context in
                try .json(
                    try await identity.export(caller: context.caller), headers: [.contentDisposition: "attachment; filename=\"plaza-export.json\""])
            })
        routes.add(
            Endpoint(
                .get, "/api/v1/admin/roles", operationID: "listRoles", summary: "The roles and their permissions.", tag: "Administration",
                access: .action(IdentityPolicy.readUsers), responses: [EndpointResponse(200, "Roles.", body: .json(RoleList.self))]
            ) { _, _ in try .json(RoleList(items: try await identity.roles())) })
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/users/{id}/roles", operationID: "grantRole", summary: "Grant a system or app role.",
                tag: "Administration", access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                requestBody: .json(RoleGrant.self), responses: [EndpointResponse(200, "The user.", body: .json(Me.self))]
            ) { request, context in
                let grant = try await request.decodeJSON(RoleGrant.self, context: context)
                return try .json(try await identity.grantRole(grant, to: try context.uuidParameter("id"), caller: context.caller))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/users/{id}/roles/revoke", operationID: "revokeRole",
                summary: "Take a role away; the user's sessions end so no token keeps it.", tag: "Administration",
                access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                requestBody: .json(RoleGrant.self), responses: [EndpointResponse(200, "The user.", body: .json(Me.self))]
            ) { request, context in
                let grant = try await request.decodeJSON(RoleGrant.self, context: context)
                return try .json(try await identity.revokeRole(grant, from: try context.uuidParameter("id"), caller: context.caller))
            })

        let roleName = EndpointParameter("name", in: .path, schema: .text)
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/roles", operationID: "createRole", summary: "Create a role with a list of permissions.",
                tag: "Administration", access: .action(IdentityPolicy.manageRoles), requestBody: .json(NewRole.self),
                responses: [EndpointResponse(201, "The role.", body: .json(RoleInfo.self))]
            ) { request, context in
                let role = try await identity.createRole(try await request.decodeJSON(NewRole.self, context: context), caller: context.caller)
                return try .json(role, status: .created)
            })
        routes.add(
            Endpoint(
                .put, "/api/v1/admin/roles/{name}", operationID: "updateRole",
                summary: "Change a role's description and permissions; every instance applies them at once.", tag: "Administration",
                access: .action(IdentityPolicy.manageRoles), parameters: [roleName], requestBody: .json(RoleChange.self),
                responses: [EndpointResponse(200, "The role.", body: .json(RoleInfo.self))]
            ) { request, context in
                let change = try await request.decodeJSON(RoleChange.self, context: context)
                return try .json(try await identity.updateRole(context.parameters.get("name") ?? "", change, caller: context.caller))
            })
        routes.add(
            Endpoint(
                .delete, "/api/v1/admin/roles/{name}", operationID: "deleteRole", summary: "Delete a role nobody holds (not Plaza's own).",
                tag: "Administration", access: .action(IdentityPolicy.manageRoles), parameters: [roleName],
                responses: [EndpointResponse(204, "Deleted.")]
            ) { _, context in
                try await identity.deleteRole(context.parameters.get("name") ?? "", caller: context.caller)
                return .noContent
            })

        routes.add(contentsOf: OrganisationRoutes<Context>(identity: identity).table)

        routes.add(
            Endpoint(
                .get, "/api/v1/admin/users", operationID: "searchUsers",
                summary: "Search users by name, email or mobile (q), role, status and organisation.", tag: "Administration",
                access: .action(IdentityPolicy.readUsers),
                parameters: [
                    .init("q", in: .query), .init("role", in: .query),
                    .init("status", in: .query, schema: .string(enumValues: ["active", "disabled", "deleted", "merged"])),
                    .init("organisationId", in: .query, schema: .uuid), .limit, .cursor,
                ],
                responses: [EndpointResponse(200, "A page of users.", body: .page(of: UserSummary.self))]
            ) { request, _ in
                let query = request.queryItems
                return try .json(try await identity.searchUsers(try UserQuery(query: query), page: try PageRequest(query: query)))
            })

        for (verb, status) in [("disable", "disabled"), ("enable", "active")] {
            routes.add(
                Endpoint(
                    .post, "/api/v1/admin/users/{id}/\(verb)", operationID: "\(verb)User",
                    summary: verb == "disable"
                        ? "Disable an account: its sessions end and its tokens stop working at once." : "Re-enable an account.",
                    tag: "Administration", access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                    responses: [EndpointResponse(200, "The user.", body: .json(UserSummary.self))]
                ) { _, context in
                    try .json(try await identity.setStatus(of: try context.uuidParameter("id"), to: status, caller: context.caller))
                })
        }

        routes.add(
            Endpoint(
                .post, "/api/v1/admin/users/{id}/sessions/revoke", operationID: "revokeUserSessions",
                summary: "End every session of a user.", tag: "Administration", access: .action(IdentityPolicy.manageUsers),
                parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(200, "How many sessions ended.", body: .json(RevokedCount.self))]
            ) { _, context in
                let id = try context.uuidParameter("id")
                guard try await identity.searchUser(id) != nil else { throw PlazaError.notFound("No user has the id \(id).") }
                return try .json(RevokedCount(revoked: try await identity.revokeSessions(of: id, caller: context.caller)))
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/users/{id}/merge", operationID: "requestMerge",
                summary: "Start merging another account into this one: its owner gets a one-time code.", tag: "Administration",
                access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                requestBody: .json(MergeRequest.self), responses: [EndpointResponse(202, "The code is on its way to the other account's owner.")]
            ) { request, context in
                try await identity.requestMerge(
                    into: try context.uuidParameter("id"), try await request.decodeJSON(MergeRequest.self, context: context), caller: context.caller)
                return Response(status: .accepted)
            })
        routes.add(
            Endpoint(
                .post, "/api/v1/admin/users/{id}/merge/confirm", operationID: "confirmMerge",
                summary: "Merge, with the code the other account's owner received: everything of theirs moves here; that account stops signing in.",
                tag: "Administration", access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                requestBody: .json(MergeConfirmation.self), responses: [EndpointResponse(200, "Merged; what moved.", body: .json(MergeResult.self))]
            ) { request, context in
                try .json(
                    try await identity.confirmMerge(
                        into: try context.uuidParameter("id"), try await request.decodeJSON(MergeConfirmation.self, context: context),
                        caller: context.caller))
            })
        let imports = "/api/v1/admin/users/imports"
        routes.add(
            Endpoint(
                .post, imports, operationID: "importUsers",
                summary:
                    "Import or update accounts from CSV (email, first_name, last_name, locale, time_zone, mobile, roles) as a job; "
                    + "?name= names the file.",
                tag: "Administration", access: .action(IdentityPolicy.manageUsers),
                parameters: [.init("name", in: .query, description: "The file's name, for the list.")],
                requestBody: EndpointBody(schemaName: nil, schema: .string(minLength: 1), mediaType: "text/csv"),
                responses: [EndpointResponse(202, "Queued; follow it at Location.", body: .json(UserImport.self))]
            ) { request, context in
                let limit = IdentityService.importLimit
                guard let body = try? await request.body.collect(upTo: limit) else { throw PlazaError.payloadTooLarge(limit: limit) }
                let started = try await identity.startImport(
                    csv: String(buffer: body), fileName: request.uri.queryParameters.get("name") ?? "import.csv", queue: queue, caller: context.caller
                )
                return try .json(started, status: .accepted, headers: [.location: "\(imports)/\(started.id.uuidString.lowercased())"])
            })
        routes.add(
            Endpoint(
                .get, imports, operationID: "listUserImports", summary: "The latest 50 imports, newest first.", tag: "Administration",
                access: .action(IdentityPolicy.manageUsers), responses: [EndpointResponse(200, "The imports.", body: .json(UserImportList.self))]
            ) { _, context in try .json(UserImportList(items: try await identity.userImports(caller: context.caller))) })
        routes.add(
            Endpoint(
                .get, imports + "/{id}", operationID: "getUserImport", summary: "An import's progress and refused rows.", tag: "Administration",
                access: .action(IdentityPolicy.manageUsers), parameters: [.init("id", in: .path, schema: .uuid)],
                responses: [EndpointResponse(200, "The import.", body: .json(UserImport.self))]
            ) { _, context in try .json(try await identity.userImport(try context.uuidParameter("id"), caller: context.caller)) })
        return routes
    }
}

/// `GET /api/v1/admin/roles`.
public struct RoleList: Codable, Sendable, APISchema {
    public var items: [RoleInfo]
    public static var schema: JSONSchema { .object(properties: ["items": .array(RoleInfo.schema)], required: ["items"]) }
}

/// `GET /api/v1/genders`.
public struct GenderList: Codable, Sendable, APISchema {
    public var items: [Gender]
    public static var schema: JSONSchema { .object(properties: ["items": .array(Gender.schema)], required: ["items"]) }
}

/// `GET /api/v1/me/sessions`.
public struct SessionList: Codable, Sendable, APISchema {
    public var items: [SessionInfo]
    public static var schema: JSONSchema { .object(properties: ["items": .array(SessionInfo.schema)], required: ["items"]) }
}

/// How many sessions an admin's revocation ended.
public struct RevokedCount: Codable, Sendable, APISchema {
    public var revoked: Int
    public static var schema: JSONSchema { .object(properties: ["revoked": .integer(format: "int32")], required: ["revoked"]) }
}
