/// The page templates, by name. Each page fills the layout's `title` and `content` blocks; forms are drawn by
/// the `form` and `field` partials from ``PageForm`` values, so every form looks and behaves alike.
enum Templates {
    static var all: [String: String] {
        var templates = ["layout": layout, "form": form, "field": field, "error": error, "form-page": formPage, "home": home]
        for (name, text) in account { templates[name] = text }
        for (name, text) in admin { templates[name] = text }
        for (name, text) in organisations { templates[name] = text }
        for (name, text) in notifications { templates[name] = text }
        for (name, text) in workflows { templates[name] = text }
        for (name, text) in oauth { templates[name] = text }
        templates["account-mfa"] = mfa
        templates["admin-imports"] = imports
        return templates
    }

    static let layout = """
        <!doctype html>
        <html lang="{{lang}}">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{$title}}Plaza{{/title}} · Plaza</title>
        <link rel="stylesheet" href="/assets/plaza.css">
        </head>
        <body>
        <header class="bar">
        <a class="brand" href="/">Plaza</a>
        <nav aria-label="{{t.nav_label}}">
        {{#signedIn}}
        <a href="/notifications" class="inbox" data-topic="{{userTopic}}">{{t.nav_notifications}} <span id="unread-badge" \
        class="badge{{^hasUnread}} empty{{/hasUnread}}" aria-live="polite" aria-label="{{t.unread_label}}">{{unread}}</span></a>
        {{#appLinks}}<a href="{{href}}">{{label}}</a>{{/appLinks}}
        <a href="/account">{{t.nav_account}}</a>
        <a href="/organisations">{{t.nav_organisations}}</a>
        {{#isAdmin}}<a href="/admin/users">{{t.nav_users}}</a><a href="/admin/roles">{{t.nav_roles}}</a><a href="/admin/oauth">\
        {{t.nav_oauth}}</a>{{/isAdmin}}
        {{#isStaff}}<a href="/admin/announcements">{{t.nav_announce}}</a>{{/isStaff}}
        {{#isOperations}}<a href="/admin/deliveries">{{t.nav_deliveries}}</a><a href="/admin/workflows">{{t.nav_workflows}}</a>{{/isOperations}}
        <form method="post" action="/sign-out" class="inline"><input type="hidden" name="_csrf" value="{{csrf}}"><button \
        class="link">{{t.sign_out}}</button></form>
        {{/signedIn}}
        {{^signedIn}}<a href="/sign-in">{{t.sign_in}}</a> <a href="/sign-up">{{t.sign_up}}</a>{{/signedIn}}
        <a href="?lang={{otherLang}}" hreflang="{{otherLang}}" lang="{{otherLang}}">{{otherLangName}}</a>
        </nav>
        </header>
        <main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#problem}}<div class="problem" role="alert"><p>{{problem}}</p>{{#hasProblems}}<ul>{{#problems}}<li>{{.}}</li>\
        {{/problems}}</ul>{{/hasProblems}}</div>{{/problem}}
        {{$content}}{{/content}}
        </main>
        <footer><small>Plaza</small></footer>
        {{#signedIn}}<script src="/assets/live.js" defer></script>{{/signedIn}}
        </body>
        </html>
        """

    static let form = """
        <form method="post" action="{{action}}" class="stack{{#danger}} danger{{/danger}}">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        {{#fields}}{{> field}}{{/fields}}
        <button type="submit">{{submit}}</button>
        </form>
        """

    static let field = """
        {{#isHidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/isHidden}}
        {{^isHidden}}<label class="field{{#error}} invalid{{/error}}"><span>{{label}}</span>
        {{#isSelect}}<select name="{{name}}"{{#error}} aria-invalid="true"{{/error}}>{{#options}}<option \
        value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/isSelect}}
        {{#isTextarea}}<textarea name="{{name}}" rows="4"{{#error}} aria-invalid="true"{{/error}}>{{value}}</textarea>{{/isTextarea}}
        {{#isInput}}<input type="{{type}}" name="{{name}}" value="{{value}}"{{#autocomplete}} \
        autocomplete="{{autocomplete}}"{{/autocomplete}}{{#required}} required{{/required}}{{#error}} aria-invalid="true"{{/error}}>{{/isInput}}
        {{#hint}}<small class="hint">{{hint}}</small>{{/hint}}
        {{#error}}<small class="field-error">{{error}}</small>{{/error}}
        </label>{{/isHidden}}
        """

    static let error = """
        {{<layout}}{{$title}}{{heading}}{{/title}}{{$content}}
        <h1>{{heading}}</h1>
        <p>{{detail}}</p>
        {{#hasFieldErrors}}<div class="problem" role="alert"><ul>{{#fieldErrors}}<li>{{.}}</li>{{/fieldErrors}}</ul></div>{{/hasFieldErrors}}
        {{#requestId}}<p><small>{{t.request_id}}: {{requestId}}</small></p>{{/requestId}}
        <p><a href="/">{{t.back_home}}</a></p>
        {{/content}}{{/layout}}
        """
}
