import Foundation
import Hummingbird
import PlazaKit

/// `/`: what a person sees first — what this server is and where to go next.
struct HomePage<Context: PlazaRequestContext>: Sendable {
    let pages: Pages

    var table: RouteTable<Context> {
        var routes = PageRoutes<Context>(pages: pages)
        let engine = pages.databaseEngine
        routes.add(.get, "/", "home", "The landing page.") { _, _, scope in
            scope.render("home", ["engine": engine])
        }
        return routes.table
    }
}

extension Templates {
    static let home = """
        {{<layout}}{{$title}}Plaza{{/title}}{{$content}}
        <section class="card">
        <h1>Plaza</h1>
        <p>{{t.home_intro}} {{t.home_engine}} {{engine}}.</p>
        {{^signedIn}}<p><a href="/sign-in">{{t.sign_in}}</a> · <a href="/sign-up">{{t.sign_up}}</a></p>{{/signedIn}}
        {{#signedIn}}<p><a href="/account">{{t.account_heading}}</a></p>{{/signedIn}}
        </section>
        <section class="card">
        <h2>{{t.home_developers}}</h2>
        <ul class="links">
        <li><a href="/openapi.json">{{t.home_openapi}}</a></li>
        <li><a href="/health">/health</a> · <a href="/ready">/ready</a></li>
        <li><a href="/metrics">{{t.home_metrics}}</a></li>
        </ul>
        </section>
        {{/content}}{{/layout}}
        """
}
