import Foundation
import Testing

@testable import PlazaKit

@Suite("Role permissions")
struct RolePermissionsTests {
    @Test("a permission covers itself, a prefix ending in .* covers what is under it, * covers all")
    func covers() {
        #expect(RolePermissions.permission("identity.user.read", covers: "identity.user.read"))
        #expect(!RolePermissions.permission("identity.user.read", covers: "identity.user.manage"))
        #expect(RolePermissions.permission("operations.*", covers: "operations.jobs.read"))
        #expect(!RolePermissions.permission("operations.*", covers: "operationsx.jobs.read"))
        #expect(!RolePermissions.permission("operations.*", covers: "identity.user.read"))
        #expect(RolePermissions.permission("*", covers: "identity.user.read"))
    }

    @Test("only dot-separated lowercase words, an optional .*, or * are permissions")
    func wellFormed() {
        for good in ["*", "operations.*", "identity.user.read", "marketplace.service-request.accept"] {
            #expect(RolePermissions.isWellFormed(good), "\(good)")
        }
        for bad in ["", ".", "Identity.user", "identity..user", "identity.*.read", "identity.user.", "*.read", "identity user", "1.x"] {
            #expect(!RolePermissions.isWellFormed(bad), "\(bad)")
        }
    }

    @Test("the policy allows a declared action to a role whose permissions cover it; organisation roles only in their organisation")
    func policy() {
        let permissions = RolePermissions(["support": ["identity.user.read"], "auditor": ["booking.*"], "everything": ["*"]])
        var policy = RulePolicy(permissions: permissions)
        policy.allow("identity.user.read", .systemRole("admin"))
        policy.allow("booking.booking.read", .owner)
        let acme = UUID()
        let support = Principal(id: UUID(), systemRoles: ["support"])
        #expect(policy.allows(support, "identity.user.read"))
        #expect(!policy.allows(support, "booking.booking.read"))
        #expect(!policy.allows(Principal(id: UUID(), systemRoles: ["everything"]), "undeclared.thing.do"), "undeclared stays refused")

        let auditor = Principal(id: UUID(), organisationRoles: [acme: ["auditor"]])
        #expect(policy.allows(auditor, "booking.booking.read", ResourceFacts(organisationID: acme)))
        #expect(!policy.allows(auditor, "booking.booking.read", ResourceFacts(organisationID: UUID())), "another organisation's booking")
        #expect(!policy.allows(auditor, "booking.booking.read"), "no organisation, no organisation role")

        // A copy of the policy sees changes made through the shared map.
        let copy = policy
        permissions.replace(with: [:])
        #expect(!copy.allows(support, "identity.user.read"))
        #expect(!policy.allows(nil, "identity.user.read"))
    }
}
