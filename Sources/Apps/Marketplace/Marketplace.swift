/// # Marketplace — the home-services marketplace (seed 001)
///
/// Customers find providers (plumbers, electricians, mechanics) by category, text, distance, availability
/// and rating, send them service requests, follow each request live, chat with the provider who took it and
/// review the work; providers keep a profile (offers with price ranges, a service area, weekly hours and
/// time off), answer requests, move their jobs on, share their location on the way and see their earnings.
///
/// - A request's lifecycle is a ``Workflows`` instance (`marketplace.request`): pending → accepted or
///   declined or expired (a timer) → in_progress → completed, cancelled by the customer before work starts.
///   Every command commits with its domain change, its notification and its live event, or not at all.
/// - Search runs on SQLite FTS5 or PostgreSQL full text and trigrams, with a bounding box and a planar
///   distance (exact within a fraction of a percent at city scale) for radius and distance sort, keyset pages.
/// - Reviews: the customer of a completed request, once; the provider answers once; the rating average,
///   count and star distribution move in the same transaction; moderators hide reviews, which stop counting.
/// - Authorization as the seed lists it (``MarketplacePolicy``): a request exists only for its customer, its
///   provider and, while open, the providers it was offered to; everyone else gets 404.
public enum MarketplaceModule {}
