import Foundation
import Hummingbird
import NIOCore
import PlazaKit

/// `/`: what a person sees first — what this server is and where to go next.
struct LandingPage<Context: PlazaRequestContext>: Sendable {
    let config: PlazaConfig

    var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        let html = Self.render(config: config)
        routes.add(Endpoint(
            .get, "/", operationID: "home", summary: "The landing page.", tag: "Pages", access: .public,
            responses: [EndpointResponse(200, "An HTML page.", body: .text("text/html"))]
        ) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
        })
        return routes
    }

    static func render(config: PlazaConfig) -> String {
        let engine = config.database.dialect == .postgres ? "PostgreSQL" : "SQLite"
        return """
            <!doctype html>
            <html lang="en">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Plaza</title></head>
            <body>
            <main>
            <h1>Plaza</h1>
            <p>One server for marketplaces, booking systems and community platforms, running on \(engine).</p>
            <ul>
            <li><a href="/openapi.json">API description (OpenAPI 3.1)</a></li>
            <li><a href="/health">Health</a> and <a href="/ready">readiness</a></li>
            <li><a href="/metrics">Metrics</a> (Prometheus text)</li>
            </ul>
            </main>
            </body>
            </html>
            """
    }
}
