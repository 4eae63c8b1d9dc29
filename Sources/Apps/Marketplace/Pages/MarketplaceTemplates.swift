/// The marketplace's page templates; they use the core's `layout`. Live parts are `data-live-region`s whose
/// `data-live-topic` the pages' script follows; everything works without the script, by reloading.
enum MarketplaceTemplates {
    static let all: [String: String] = [
        "mp-find": find, "mp-provider": provider, "mp-requests": requests, "mp-request": request, "mp-dashboard": dashboard, "mp-admin": admin,
        "mp-photos": photos,
    ]

    /// A row of photos (their `thumb` variants), each a link to the large one.
    static let photos = """
        {{#hasPhotos}}<ul class="photos">{{#photos}}<li><a href="/files/{{.}}/large"><img src="/files/{{.}}/thumb" \
        alt="{{t.mp_photo}}" width="160" height="120" loading="lazy"></a></li>{{/photos}}</ul>{{/hasPhotos}}
        """

    /// A file form: the body streams to the files module, so the CSRF token rides in the action's query.
    static func upload(_ action: String, purpose: String, accept: String, label: String) -> String {
        """
        <form method="post" action="\(action)?_csrf={{csrf}}" enctype="multipart/form-data" class="inline-form">
        <input type="hidden" name="purpose" value="\(purpose)">
        <label><span>{{t.\(label)}}</span><input type="file" name="file" accept="\(accept)" required></label>
        <button type="submit">{{t.mp_upload}}</button>
        </form>
        """
    }
    static let images = "image/jpeg,image/png,image/webp,image/gif"

    static let find = """
        {{<layout}}{{$title}}{{t.mp_find_title}}{{/title}}{{$content}}
        <h1>{{t.mp_find_title}}</h1>
        <p>{{t.mp_find_intro}}</p>
        <form method="get" action="/marketplace" class="filters" role="search">
        <label><span>{{t.mp_search_q}}</span><input type="search" name="q" value="{{q}}"></label>
        <label><span>{{t.mp_search_category}}</span><select name="category">{{#categories}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/categories}}</select></label>
        <label><span>{{t.mp_search_min_rating}}</span><select name="minRating">{{#ratings}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/ratings}}</select></label>
        <label><span>{{t.mp_search_sort}}</span><select name="sort">{{#sorts}}<option value="{{value}}"{{#selected}} \
        selected{{/selected}}>{{label}}</option>{{/sorts}}</select></label>
        {{#point}}<input type="hidden" name="lat" value="{{lat}}"><input type="hidden" name="lng" value="{{lng}}">{{/point}}
        <button type="submit">{{t.mp_search_submit}}</button>
        </form>
        <ul class="results">
        {{#providers}}<li class="card provider-result"><h2><a href="/marketplace/providers/{{id}}">{{name}}</a></h2>
        <p>★ {{rating}} ({{ratingCount}} {{t.mp_reviews}}){{#priceFrom}} · {{t.mp_from}} {{priceFrom}}{{/priceFrom}}{{#distance}} \
        · {{distance}} {{t.mp_km}}{{/distance}}</p>
        <p>{{bio}}</p></li>{{/providers}}
        {{^providers}}<li>{{t.mp_no_results}}</li>{{/providers}}
        </ul>
        {{#next}}<p><a href="{{next}}">{{t.mp_more}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """

    static let provider = """
        {{<layout}}{{$title}}{{name}}{{/title}}{{$content}}
        <article class="card">
        <h1>{{name}}</h1>
        <p>★ {{rating}} · {{ratingCount}} {{t.mp_reviews}} · {{t.mp_area}} {{radius}} {{t.mp_km}}</p>
        <p>{{bio}}</p>
        {{> mp-photos}}
        {{#video}}<video controls preload="metadata" src="/files/{{video}}" width="320">{{t.mp_video}}</video>{{/video}}
        <h2>{{t.mp_offers}}</h2>
        <ul>{{#offers}}<li>{{category}}: {{min}}–{{max}}</li>{{/offers}}</ul>
        <h2>{{t.mp_hours}}</h2>
        <ul>{{#hours}}<li>{{day}}: {{start}}–{{end}}</li>{{/hours}}</ul>
        </article>
        <section class="card">
        <h2>{{t.mp_request_title}}</h2>
        {{#mayRequest}}
        <form method="post" action="/marketplace/providers/{{id}}/request?_csrf={{csrf}}" enctype="multipart/form-data" \
        class="stack" id="request-form">
        <label><span>{{t.mp_field_category}}</span><select name="categoryId">{{#offers}}<option \
        value="{{categoryId}}"{{#selected}} selected{{/selected}}>{{category}}</option>{{/offers}}</select></label>
        <label><span>{{t.mp_field_description}}</span><textarea name="description" rows="4" required>{{form.description}}</textarea></label>
        <label><span>{{t.mp_field_address}}</span><input name="address" value="{{form.address}}" required autocomplete="street-address"></label>
        <label><span>{{t.mp_field_lat}}</span><input name="lat" value="{{form.lat}}" inputmode="decimal" required></label>
        <label><span>{{t.mp_field_lng}}</span><input name="lng" value="{{form.lng}}" inputmode="decimal" required></label>
        <label><span>{{t.mp_field_window_start}} ({{timeZone}})</span><input type="datetime-local" name="windowStart" \
        value="{{form.windowStart}}"></label>
        <label><span>{{t.mp_field_window_end}} ({{timeZone}})</span><input type="datetime-local" name="windowEnd" value="{{form.windowEnd}}"></label>
        <label><span>{{t.mp_field_photos}}</span><input type="file" name="photos" accept="image/jpeg,image/png,image/webp,\
        image/gif" multiple aria-describedby="photos-hint"></label>
        <small id="photos-hint">{{t.mp_photos_hint}}</small>
        <button type="submit">{{t.mp_send_request}}</button>
        </form>
        {{/mayRequest}}
        {{^mayRequest}}<p>{{t.mp_sign_in_to_request}}</p>{{/mayRequest}}
        </section>
        <section class="card">
        <h2>{{ratingCount}} {{t.mp_reviews}}</h2>
        <ul class="stars">{{#stars}}<li>{{stars}}★: {{count}}</li>{{/stars}}</ul>
        {{#reviews}}<blockquote><p>{{rating}}★ — {{text}}</p>{{#answer}}<p><em>{{t.mp_review_answer}}:</em> {{answer}}</p>\
        {{/answer}}<footer><small>{{when}}</small></footer></blockquote>{{/reviews}}
        {{^reviews}}<p>{{t.mp_no_reviews}}</p>{{/reviews}}
        </section>
        {{/content}}{{/layout}}
        """

    static let requests = """
        {{<layout}}{{$title}}{{t.mp_requests_title}}{{/title}}{{$content}}
        <h1>{{t.mp_requests_title}}</h1>
        <p><a href="/marketplace/requests?role=customer">{{t.mp_as_customer}}</a> · <a href="/marketplace/requests?role=provider">\
        {{t.mp_as_provider}}</a></p>
        <div id="my-requests" data-live-region data-live-topic="{{userTopic}}">
        <table><thead><tr><th scope="col">{{t.mp_request}}</th><th scope="col">{{t.mp_status}}</th><th scope="col"></th></tr></thead><tbody>
        {{#items}}<tr><td>{{category}}: {{description}}</td><td data-status="{{status}}">{{statusText}}</td><td><a \
        href="/marketplace/requests/{{id}}">{{t.mp_view}}</a></td></tr>{{/items}}
        </tbody></table>
        {{^items}}<p>{{t.mp_no_requests}}</p>{{/items}}
        </div>
        {{#next}}<p><a href="{{next}}">{{t.mp_more}}</a></p>{{/next}}
        {{/content}}{{/layout}}
        """

    static let request = """
        {{<layout}}{{$title}}{{category}}{{/title}}{{$content}}
        <h1>{{t.mp_request}}: {{category}}</h1>
        <section class="card" id="request-status" data-live-region data-live-topic="{{statusTopic}}">
        <p class="status" id="status" data-status="{{status}}"><strong>{{t.mp_status}}:</strong> {{statusText}}</p>
        <p>{{description}}</p>
        <p>{{address}}</p>
        {{> mp-photos}}
        {{#agreedPrice}}<p>{{t.mp_agreed_price}}: {{agreedPrice}}</p>{{/agreedPrice}}
        {{#finalPrice}}<p>{{t.mp_final_price}}: {{finalPrice}}</p>{{/finalPrice}}
        <div class="actions">
        {{#commands}}<form method="post" action="/marketplace/requests/{{id}}/{{command}}" class="inline-form">
        <input type="hidden" name="_csrf" value="{{csrf}}"><input type="hidden" name="expectedVersion" value="{{version}}">
        {{#withPrice}}<label><span>{{t.mp_price}}</span><input name="price" inputmode="decimal" size="6"></label>{{/withPrice}}
        <button type="submit" id="command-{{command}}"{{#danger}} class="danger"{{/danger}}>{{label}}</button></form>{{/commands}}
        </div>
        <h2>{{t.mp_history}}</h2>
        <ol class="history">{{#history}}<li>{{when}} — {{text}}{{#comment}}: {{comment}}{{/comment}}</li>{{/history}}</ol>
        </section>
        {{#mayAddPhotos}}<section \
        class="card">\(upload("/marketplace/requests/{{id}}/photos", purpose: "service-photo", accept: images, label: "mp_add_photo"))
        </section>{{/mayAddPhotos}}
        {{#tracking}}<section class="card" id="tracking" data-live-region data-live-topic="{{locationTopic}}"><h2>{{t.mp_location}}</h2>
        {{#last}}<p id="last-location">{{lat}}, {{lng}} <small>{{when}}</small></p>{{/last}}{{^last}}<p>{{t.mp_location_none}}</p>\
        {{/last}}</section>{{/tracking}}
        <section class="card" aria-labelledby="chat-heading">
        <h2 id="chat-heading">{{t.mp_chat}}</h2>
        {{#hasChat}}
        <ol class="messages" id="messages" data-live-region data-live-topic="{{chatTopic}}" aria-live="polite">
        {{#messages}}<li class="message{{#mine}} mine{{/mine}}"><strong>{{author}}</strong>: <span class="body">{{body}}</span> \
        <small>{{when}}</small></li>{{/messages}}
        {{^messages}}<li class="empty">{{t.mp_chat_none}}</li>{{/messages}}
        </ol>
        <form method="post" action="/marketplace/requests/{{id}}/messages" class="stack" id="chat-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_chat_placeholder}}</span><textarea name="body" rows="2" required></textarea></label>
        <button type="submit">{{t.mp_chat_send}}</button>
        </form>
        {{/hasChat}}
        {{^hasChat}}<p>{{t.mp_chat_later}}</p>{{/hasChat}}
        </section>
        {{#review}}<section class="card" id="review"><h2>{{t.mp_review_title}}</h2><p>{{rating}}★ — {{text}}</p>{{#answer}}<p><em>\
        {{t.mp_review_answer}}:</em> {{answer}}</p>{{/answer}}</section>{{/review}}
        {{#mayReview}}<section class="card"><h2>{{t.mp_review_title}}</h2>
        <form method="post" action="/marketplace/requests/{{id}}/review" class="stack" id="review-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_field_rating}}</span><select name="rating">{{#ratingChoices}}<option value="{{.}}">{{.}}★</option>\
        {{/ratingChoices}}</select></label>
        <label><span>{{t.mp_field_review}}</span><textarea name="text" rows="3"></textarea></label>
        <button type="submit">{{t.mp_review_send}}</button>
        </form></section>{{/mayReview}}
        {{/content}}{{/layout}}
        """

    static let dashboard = """
        {{<layout}}{{$title}}{{t.mp_provider_title}}{{/title}}{{$content}}
        <h1>{{t.mp_provider_title}}</h1>
        <section class="card" id="incoming" data-live-region data-live-topic="{{userTopic}}">
        <h2>{{t.mp_incoming}}</h2>
        <ul>{{#incoming}}<li><a href="/marketplace/requests/{{id}}">{{category}}: {{description}}</a> — <span \
        data-status="{{status}}">{{statusText}}</span></li>{{/incoming}}</ul>
        {{^incoming}}<p>{{t.mp_nothing}}</p>{{/incoming}}
        <h2>{{t.mp_open_nearby}}</h2>
        <ul>{{#open}}<li><a href="/marketplace/requests/{{id}}">{{category}}: {{description}}</a></li>{{/open}}</ul>
        {{^open}}<p>{{t.mp_nothing}}</p>{{/open}}
        </section>
        <section class="card">
        <h2>{{t.mp_profile}}</h2>
        <p>{{t.mp_profile_intro}}{{#profileId}} <a href="/marketplace/providers/{{profileId}}">{{t.mp_view}}</a>{{/profileId}}</p>
        <form method="post" action="/marketplace/provider" class="stack" id="profile-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_field_display_name}}</span><input name="displayName" value="{{form.displayName}}" required></label>
        <label><span>{{t.mp_field_bio}}</span><textarea name="bio" rows="4">{{form.bio}}</textarea></label>
        <label><span>{{t.mp_field_lat}}</span><input name="lat" value="{{form.lat}}" inputmode="decimal"></label>
        <label><span>{{t.mp_field_lng}}</span><input name="lng" value="{{form.lng}}" inputmode="decimal"></label>
        <label><span>{{t.mp_field_radius}}</span><input name="radiusKm" value="{{form.radiusKm}}" inputmode="decimal"></label>
        <label><span>{{t.mp_field_time_zone}}</span><input name="timeZone" value="{{form.timeZone}}"></label>
        <fieldset><legend>{{t.mp_offers}}</legend>
        {{#categoryRows}}<div class="row"><label><input type="checkbox" name="offer" value="{{id}}"{{#offered}} checked{{/offered}}> {{name}}</label>
        <label><span>{{t.mp_field_min}}</span><input name="min_{{id}}" value="{{min}}" inputmode="decimal" size="6"></label>
        <label><span>{{t.mp_field_max}}</span><input name="max_{{id}}" value="{{max}}" inputmode="decimal" size="6"></label></div>{{/categoryRows}}
        </fieldset>
        <fieldset><legend>{{t.mp_hours}}</legend>
        {{#days}}<div class="row"><span>{{day}}</span><label><span>{{t.mp_start}}</span><input type="time" \
        name="start_{{weekday}}" value="{{start}}"></label>
        <label><span>{{t.mp_end}}</span><input type="time" name="end_{{weekday}}" value="{{end}}"></label></div>{{/days}}
        </fieldset>
        <button type="submit">{{t.mp_save_profile}}</button>
        </form>
        {{#profileId}}
        <h3>{{t.mp_photos}}</h3>
        {{> mp-photos}}
        \(upload("/marketplace/provider/photos", purpose: "service-photo", accept: images, label: "mp_add_photo"))
        <h3>{{t.mp_video}}</h3>
        {{#video}}<video controls preload="metadata" src="/files/{{video}}" width="320"></video>{{/video}}
        \(upload("/marketplace/provider/video", purpose: "service-video", accept: "video/mp4,video/webm,video/quicktime", label: "mp_add_video"))
        {{/profileId}}
        </section>
        <section class="card"><h2>{{t.mp_jobs}}</h2>
        <ul>{{#jobs}}<li><a href="/marketplace/requests/{{id}}">{{category}}: {{description}}</a> — {{finalPrice}}</li>\
        {{/jobs}}</ul>{{^jobs}}<p>{{t.mp_nothing}}</p>{{/jobs}}
        <h2>{{t.mp_earnings}}</h2>
        <table><thead><tr><th scope="col">{{t.mp_month}}</th><th scope="col">{{t.mp_jobs_count}}</th><th scope="col">{{t.mp_total}}</th></tr></thead>
        <tbody>{{#months}}<tr><td>{{month}}</td><td>{{jobs}}</td><td>{{total}}</td></tr>{{/months}}</tbody></table>
        <p><strong>{{t.mp_total}}:</strong> {{earningsTotal}}</p>
        </section>
        {{/content}}{{/layout}}
        """

    static let admin = """
        {{<layout}}{{$title}}{{t.mp_admin_title}}{{/title}}{{$content}}
        <h1>{{t.mp_admin_title}}</h1>
        {{#isAdmin}}
        <section class="card"><h2>{{t.mp_categories}}</h2>
        <table><thead><tr><th scope="col">{{t.mp_category}}</th><th scope="col">{{t.mp_change}}</th><th scope="col"></th></tr></thead><tbody>
        {{#categories}}<tr><td>{{indent}}{{name}} <small>({{slug}})</small></td>
        <td><form method="post" action="/admin/marketplace/categories/{{id}}" class="inline-form"><input type="hidden" name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_name}}</span><input name="name" value="{{name}}" required></label>
        <label><span>{{t.mp_position}}</span><input name="position" value="{{position}}" inputmode="numeric" size="4"></label>
        <button type="submit">{{t.mp_save}}</button></form></td>
        <td><form method="post" action="/admin/marketplace/categories/{{id}}/delete" class="inline-form"><input type="hidden" \
        name="_csrf" value="{{csrf}}">
        <button type="submit" class="danger">{{t.mp_delete}}</button></form></td></tr>{{/categories}}
        </tbody></table>
        <h3>{{t.mp_new_category}}</h3>
        <form method="post" action="/admin/marketplace/categories" class="inline-form" id="category-form"><input type="hidden" \
        name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_name}}</span><input name="name" required></label>
        <label><span>{{t.mp_parent}}</span><select name="parentId"><option value="">—</option>{{#categories}}<option \
        value="{{id}}">{{indent}}{{name}}</option>{{/categories}}</select></label>
        <button type="submit">{{t.mp_add}}</button></form>
        </section>
        {{/isAdmin}}
        <section class="card"><h2>{{t.mp_moderation}}</h2>
        <p><a href="/admin/marketplace">{{t.mp_visible_reviews}}</a> · <a href="/admin/marketplace?reviews=hidden">{{t.mp_hidden_reviews}}</a></p>
        {{#reviews}}<article class="review"><p>{{rating}}★ — {{text}}</p><p><small>{{when}} · <a \
        href="/marketplace/providers/{{providerId}}">{{t.mp_view}}</a></small></p>
        {{^hidden}}<form method="post" action="/admin/marketplace/reviews/{{id}}/hide" class="inline-form"><input type="hidden" \
        name="_csrf" value="{{csrf}}">
        <label><span>{{t.mp_reason}}</span><input name="reason" required></label><button type="submit" class="danger">\
        {{t.mp_hide}}</button></form>{{/hidden}}
        </article>{{/reviews}}
        {{^reviews}}<p>{{t.mp_nothing}}</p>{{/reviews}}
        {{#next}}<p><a href="{{next}}">{{t.mp_more}}</a></p>{{/next}}
        </section>
        {{/content}}{{/layout}}
        """
}
