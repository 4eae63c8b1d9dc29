// swift-tools-version:6.2
// Plaza: one Swift server hosting five multi-role platforms on a shared core.
// The target graph follows docs/architecture.md: apps → core modules → PlazaKit.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Release builds specialize generic code across modules (the edge middlewares are generic over the
    // request context, which only the composition root knows): measured on GET /health.
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "plaza",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "plaza", targets: ["plaza"]),
        .executable(name: "plaza-bench", targets: ["PlazaBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
        .package(url: "https://github.com/GraphQLSwift/Graphiti.git", from: "3.1.0"),
        .package(url: "https://github.com/GraphQLSwift/GraphQL.git", from: "4.3.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
    ],
    targets: [
        // Shared kernel: ids, clock, errors, pagination, principal, policy, route descriptions.
        .target(
            name: "PlazaKit",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Database setup, migrations registry, transactions, dialect helpers.
        .target(
            name: "Storage",
            dependencies: [
                "PlazaKit",
                .product(name: "FluentKit", package: "fluent-kit"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Transactional outbox, event bus, durable job queue, scheduler.
        .target(
            name: "Jobs",
            dependencies: [
                "PlazaKit", "Storage",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Users, organisations, roles, sign-up and sign-in, access tokens, the bearer middleware.
        .target(
            name: "Identity",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "CQREncode",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP edge: request ids, problem+json, CORS, security headers, limits, rate limits, access log.
        .target(
            name: "Gateway",
            dependencies: [
                "PlazaKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Audit log queries, metrics, health and readiness, the operators' API.
        .target(
            name: "Operations",
            dependencies: [
                "PlazaKit", "Storage", "Jobs",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The realtime gateway: one WebSocket endpoint (and SSE) with topics, replay from the event log, presence.
        .target(
            name: "Realtime",
            dependencies: [
                "PlazaKit", "Storage", "Jobs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Threads and messages: participants, receipts, typing, reports and moderation.
        .target(
            name: "Conversations",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "Realtime", "Notifications", "Files",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // Notifications: inbox, preferences, deliveries over e-mail (SMTP), SMS and Web Push, with templates.
        .target(
            name: "Notifications",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "Realtime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTML pages: the shared layout, sign-in and account pages, admin pages; English and Ukrainian.
        // libvips from Debian's libvips-dev (pkg-config `vips`), and a C face on it Swift can call.
        .systemLibrary(name: "CVips", pkgConfig: "vips", providers: [.apt(["libvips-dev"])]),
        // libqrencode from Debian's libqrencode-dev: the QR code of a TOTP enrolment.
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .target(name: "VipsShim", dependencies: ["CVips"]),
        .target(
            name: "Files",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "VipsShim",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Workflows",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", .product(name: "SQLKit", package: "sql-kit"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"), .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // GraphQL over HTTP for an app's schema: documents bounded before parsing, limits, a deadline.
        .target(
            name: "GraphQLTransport",
            dependencies: [
                "PlazaKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The books: an append-only, double-entry ledger of money moving between accounts.
        .target(
            name: "Ledger",
            dependencies: [
                "PlazaKit", "Storage", .product(name: "SQLKit", package: "sql-kit"), .product(name: "FluentKit", package: "fluent-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // The seam between the core and the apps: what an app declares (PlazaApp, AppManifest, AppParts) and
        // what the core hands it (AppCore).
        .target(
            name: "AppHost",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "Realtime", "Notifications", "Conversations", "Files", "Workflows", "Web",
                "GraphQLTransport", "Ledger", .product(name: "Logging", package: "swift-log"), .product(name: "FluentKit", package: "fluent-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        // Seed 001, the home-services marketplace: catalogue, providers, search, requests, reviews, tracking.
        .target(
            name: "Marketplace",
            dependencies: [
                "AppHost", "PlazaKit", "Storage", "Jobs", "Identity", "Realtime", "Notifications", "Conversations", "Files", "Workflows", "Web",
                "GraphQLTransport", "Ledger", .product(name: "SQLKit", package: "sql-kit"), .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Graphiti", package: "Graphiti"), .product(name: "GraphQL", package: "GraphQL"),
            ],
            path: "Sources/Apps/Marketplace",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Web",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "Notifications", "Files", "Workflows",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Composition root of the core: every core module wired, and the apps it is given installed through AppHost.
        .target(
            name: "PlazaServer",
            dependencies: [
                "PlazaKit", "Storage", "Jobs", "Identity", "Gateway", "Operations", "Web", "Realtime", "Conversations", "Notifications", "Files",
                "Workflows", "GraphQLTransport", "Ledger", "AppHost",
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The one list of apps this binary hosts: adding an app is its target and one line here.
        .target(name: "PlazaApps", dependencies: ["PlazaServer", "Marketplace"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "plaza",
            dependencies: [
                "PlazaServer", "PlazaApps", "AppHost", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks that need Plaza in-process (the job queue); bench/run.sh drives them.
        .executableTarget(
            name: "PlazaBench",
            dependencies: [
                "PlazaApps", "AppHost", "PlazaServer", "Workflows", "Marketplace", "GraphQLTransport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Graphiti", package: "Graphiti"), .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "SQLKit", package: "sql-kit"),
            ],
            path: "bench/PlazaBench",
            swiftSettings: swiftSettings
        ),
        // libvips variants of one image, timed in-process; bench/files.sh drives it.
        .executableTarget(
            name: "ImageBench",
            dependencies: ["Files", "PlazaKit"],
            path: "bench/ImageBench",
            swiftSettings: swiftSettings
        ),
        // A realtime load client (SSE and WebSocket subscribers, an open-loop publisher) that bench/realtime.sh
        // points at Plaza and at PocketBase in one run.
        .executableTarget(
            name: "RealtimeBench",
            dependencies: [
                "CEpoll", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "bench/RealtimeBench",
            swiftSettings: swiftSettings
        ),
        // epoll and eventfd for RealtimeBench's subscriber threads (Glibc's module map leaves them out).
        .systemLibrary(name: "CEpoll", path: "bench/CEpoll"),
        // A bare Hummingbird server: the ceiling Plaza's /health is measured against.
        .executableTarget(
            name: "BaselineServer",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/BaselineServer",
            swiftSettings: swiftSettings
        ),
        // Fixtures shared by every test target: a test database per test, a test app, a clock.
        .target(
            name: "PlazaTesting",
            dependencies: [
                "PlazaServer", "AppHost",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            path: "Tests/PlazaTesting",
            swiftSettings: swiftSettings
        ),
        // `plaza serve` with PlazaTesting's crash-test workflows; the workflow crash tests start and kill it.
        .executableTarget(
            name: "workflow-peer", dependencies: ["PlazaServer", "PlazaTesting"], path: "Tests/WorkflowPeer", swiftSettings: swiftSettings),
        .testTarget(name: "PlazaKitTests", dependencies: ["PlazaKit"], swiftSettings: swiftSettings),
        .testTarget(
            name: "GraphQLTransportTests",
            dependencies: [
                "GraphQLTransport", "PlazaKit", .product(name: "GraphQL", package: "GraphQL"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "PlazaTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "PlazaTesting"], swiftSettings: swiftSettings),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "PlazaTesting"], swiftSettings: swiftSettings),
        .testTarget(
            name: "IdentityTests",
            dependencies: [
                "Identity", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OperationsTests",
            dependencies: ["Operations", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RealtimeTests",
            dependencies: [
                "Realtime", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ConversationsTests",
            dependencies: [
                "Conversations", "Notifications", "Files", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotificationsTests",
            dependencies: [
                "Notifications", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FilesTests",
            dependencies: [
                "Files", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WorkflowsTests",
            dependencies: ["Workflows", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MarketplaceTests",
            dependencies: [
                "Marketplace", "AppHost", "Ledger", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "WebTests",
            dependencies: [
                "Web", "Notifications", "Files", "Workflows", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlazaServerTests",
            dependencies: [
                "PlazaServer", "PlazaApps", "AppHost", "Ledger", "PlazaTesting", .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
    ]
)
