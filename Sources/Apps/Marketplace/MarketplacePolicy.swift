import PlazaKit

/// Who may do what in the marketplace (seed 001's lists): customers create requests, chat with the assigned
/// provider and review; providers answer requests, move their jobs on and manage their own profile; admins
/// keep the catalogue and, with employees, moderate reviews. Relationships (owner, participant) are the
/// request's and the profile's: a request's owner is its customer, its participant the assigned provider.
public enum MarketplacePolicy {
    public static let app = "marketplace"
    public static let browse: Action = "marketplace.catalogue.read"
    public static let manageCategories: Action = "marketplace.categories.manage"
    /// Category images belong to the catalogue, which admins and employees keep.
    public static let uploadCategoryImage: Action = "marketplace.categories.upload-image"
    public static let createProfile: Action = "marketplace.providers.create"
    public static let manageProfile: Action = "marketplace.providers.manage"
    public static let manageCustomerProfile: Action = "marketplace.customers.manage"
    public static let createRequest: Action = "marketplace.requests.create"
    public static let readRequest: Action = "marketplace.requests.read"
    /// Open requests nearby in a provider's categories (before anyone took them).
    public static let browseOpenRequests: Action = "marketplace.requests.browse-open"
    public static let respond: Action = "marketplace.requests.respond"
    public static let cancel: Action = "marketplace.requests.cancel"
    /// Adding photos to one's own request.
    public static let editRequest: Action = "marketplace.requests.edit"
    public static let review: Action = "marketplace.requests.review"
    public static let track: Action = "marketplace.requests.track"
    /// Watching the provider's way to the job: the request's customer.
    public static let watchLocation: Action = "marketplace.requests.watch-location"
    public static let answerReview: Action = "marketplace.reviews.answer"
    public static let moderate: Action = "marketplace.reviews.moderate"

    public static var rules: RulePolicy {
        var policy = RulePolicy()
        policy.allow(browse, .anyone)
        policy.allow(manageCategories, .systemRole(SystemRole.admin))
        policy.allow(uploadCategoryImage, .systemRole(SystemRole.admin), .systemRole(SystemRole.employee))
        policy.allow(createProfile, .appRole(app: app, role: "provider"))
        policy.allow(manageProfile, .owner)
        policy.allow(manageCustomerProfile, .appRole(app: app, role: "customer"))
        policy.allow(createRequest, .appRole(app: app, role: "customer"))
        policy.allow(readRequest, .owner, .participant)
        policy.allow(browseOpenRequests, .appRole(app: app, role: "provider"))
        policy.allow(respond, .participant)
        policy.allow(cancel, .owner)
        policy.allow(editRequest, .owner)
        policy.allow(review, .owner)
        policy.allow(track, .participant)
        policy.allow(watchLocation, .owner)
        policy.allow(answerReview, .owner)
        policy.allow(moderate, .systemRole(SystemRole.employee))
        policy.allow(RequestLifecycle.expireAction, .systemRole(SystemRole.admin))
        return policy
    }
}
