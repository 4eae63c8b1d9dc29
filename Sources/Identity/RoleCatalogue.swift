import Foundation
import PlazaKit

/// A role an app brings: `provider` in the marketplace. Its labels name it on pages (`en`, `uk`); people may
/// choose a self-assignable role at sign-up, the others come from admins or organisation owners.
public struct AppRole: Sendable, Equatable {
    public var name: String
    public var description: String
    public var labels: [String: String]
    public var selfAssignable: Bool

    public init(_ name: String, description: String, labels: [String: String], selfAssignable: Bool = false) {
        self.name = name
        self.description = description
        self.labels = labels
        self.selfAssignable = selfAssignable
    }
}

/// A kind of organisation an app brings (a provider company, a brand), with its labels (`en`, `uk`).
public struct OrganisationType: Sendable, Equatable {
    public var name: String
    public var labels: [String: String]

    public init(_ name: String, labels: [String: String]) {
        self.name = name
        self.labels = labels
    }
}
