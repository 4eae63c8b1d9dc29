import Mustache

/// The most common page: a heading, a line of explanation, one form, perhaps a second, and links onwards.
struct FormPage: Sendable {
    struct Link: Sendable {
        var href: String
        var text: String
    }

    var heading: String
    var intro: String?
    var form: PageForm
    var secondary: PageForm?
    var links: [Link] = []

    var data: [String: Any] {
        var data: [String: Any] = ["heading": heading, "form": form, "links": links]
        if let intro { data["intro"] = intro }
        if let secondary { data["secondary"] = secondary }
        return data
    }
}

extension FormPage.Link: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "href": return href
        case "text": return text
        default: return nil
        }
    }
}

extension Templates {
    static let formPage = """
        {{<layout}}{{$title}}{{heading}}{{/title}}{{$content}}
        <section class="card narrow">
        <h1>{{heading}}</h1>
        {{#intro}}<p>{{intro}}</p>{{/intro}}
        {{#form}}{{> form}}{{/form}}
        {{#secondary}}<hr>{{> form}}{{/secondary}}
        <ul class="links">{{#links}}<li><a href="{{href}}">{{text}}</a></li>{{/links}}</ul>
        </section>
        {{/content}}{{/layout}}
        """
}
