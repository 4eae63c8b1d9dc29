import Foundation
import PlazaKit

/// `POST /api/v1/auth/register`.
public struct Registration: Codable, Sendable, APISchema {
    public var email: String
    public var password: String
    public var firstName: String
    public var lastName: String
    /// An app role to start with: `customer` (the default) or another that people may choose (``RoleCatalogue``).
    public var role: String?
    public var locale: String?
    public var timeZone: String?

    public init(
        email: String, password: String, firstName: String, lastName: String, role: String? = nil, locale: String? = nil, timeZone: String? = nil
    ) {
        self.email = email
        self.password = password
        self.firstName = firstName
        self.lastName = lastName
        self.role = role
        self.locale = locale
        self.timeZone = timeZone
    }

    /// A person's first or last name.
    public static let nameLimit = TextLimit(1...100)

    public static var schema: JSONSchema { schema(roles: RoleCatalogue.core.selfAssignable) }

    /// The schema with the roles this installation lets people choose.
    public static func schema(roles: [String]) -> JSONSchema {
        .object(
            properties: [
                "email": .string(format: "email"), "password": Passwords.schema,
                "firstName": nameLimit.schema, "lastName": nameLimit.schema, "role": .string(enumValues: roles),
                "locale": .string(enumValues: Identity.locales), "timeZone": .string(description: "An IANA time zone, e.g. Europe/Kyiv."),
            ],
            required: ["email", "password", "firstName", "lastName"])
    }
}

/// `POST /api/v1/auth/login`.
public struct Credentials: Codable, Sendable, APISchema {
    public var email: String
    public var password: String
    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }
    public static var schema: JSONSchema {
        .object(properties: ["email": .string(format: "email"), "password": .text], required: ["email", "password"])
    }
}

/// `POST /api/v1/auth/refresh`.
public struct RefreshRequest: Codable, Sendable, APISchema {
    public var refreshToken: String
    public init(refreshToken: String) {
        self.refreshToken = refreshToken
    }
    public static var schema: JSONSchema { .object(properties: ["refreshToken": .text], required: ["refreshToken"]) }
}

/// What sign-in and refresh answer.
public struct TokenPair: Codable, Sendable, APISchema {
    public var accessToken: String
    public var refreshToken: String
    /// Seconds until the access token expires.
    public var expiresIn: Int
    public var tokenType: String

    public static var schema: JSONSchema {
        .object(
            properties: [
                "accessToken": .string(description: "An ES256 JWT; verify it with /oauth/jwks."),
                "refreshToken": .string(description: "Single use: each refresh returns a new one."),
                "expiresIn": .integer(format: "int32"), "tokenType": .string(enumValues: ["Bearer"]),
            ],
            required: ["accessToken", "refreshToken", "expiresIn", "tokenType"])
    }
}

/// An organisation the user belongs to, with the user's roles in it.
public struct OrganisationMembership: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var slug: String
    public var type: String
    public var roles: [String]
}

/// `GET /api/v1/me`: the signed-in user.
public struct Me: Codable, Sendable, Equatable, APISchema {
    public var id: UUID
    public var email: String
    public var firstName: String
    public var lastName: String
    /// Every role the user holds: system roles and app roles.
    public var roles: [String]
    /// App roles by app (`*` means every app).
    public var appRoles: [String: [String]]
    public var organisations: [OrganisationMembership]
    public var locale: String
    public var timeZone: String
    public var status: String
    public var emailVerified: Bool
    public var createdAt: Date
    public var bio: String?
    /// `YYYY-MM-DD`.
    public var birthDate: String?
    /// E.164, e.g. `+380501234567`.
    public var mobile: String?
    public var phoneVerified: Bool
    /// An id from `GET /api/v1/genders`.
    public var gender: String?
    /// The file id of the avatar (set through the files module).
    public var avatarFileId: UUID?

    public static var schema: JSONSchema {
        .object(
            properties: [
                "id": .uuid, "email": .string(format: "email"), "firstName": .text, "lastName": .text,
                "bio": .nullable(.text), "birthDate": .nullable(.string(format: "date")), "mobile": .nullable(.text),
                "phoneVerified": .boolean, "gender": .nullable(.text), "avatarFileId": .nullable(.uuid),
                "roles": .array(.text), "appRoles": .anyObject,
                "organisations": .array(
                    .object(
                        properties: ["id": .uuid, "name": .text, "slug": .text, "type": .text, "roles": .array(.text)],
                        required: ["id", "name", "slug", "type", "roles"])),
                "locale": .string(enumValues: Identity.locales), "timeZone": .text,
                "status": .string(enumValues: ["active", "disabled", "deleted", "merged"]), "emailVerified": .boolean,
                "createdAt": .dateTime,
            ],
            required: [
                "id", "email", "firstName", "lastName", "roles", "appRoles", "organisations", "locale", "timeZone", "status",
                "emailVerified", "createdAt", "phoneVerified",
            ])
    }
}

/// Module-wide constants.
public enum Identity {
    /// The languages pages and messages come in (seed 003 is Ukrainian).
    public static let locales = ["en", "uk"]
}
