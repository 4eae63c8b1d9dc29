import Crypto
import Foundation
import Hummingbird
import NIOCore
import PlazaKit

/// `/assets/plaza.css` and `/assets/live.js`: compiled into the binary, cached by their ETags.
struct Assets<Context: PlazaRequestContext>: Sendable {
    static func etag(_ text: String) -> String { "\"" + String(SHA256.hash(data: Data(text.utf8)).hexString.prefix(16)) + "\"" }

    var table: RouteTable<Context> {
        var routes = RouteTable<Context>()
        Self.add(&routes, "/assets/plaza.css", "stylesheet", "The pages' stylesheet.", type: "text/css", Stylesheet.css)
        Self.add(
            &routes, "/assets/live.js", "liveScript", "The pages' one script: the live unread badge and live regions.", type: "text/javascript",
            LiveScript.js)
        return routes
    }

    static func add(_ routes: inout RouteTable<Context>, _ path: String, _ operationID: String, _ summary: String, type: String, _ text: String) {
        let etag = Self.etag(text)
        let bytes = ByteBuffer(string: text)
        routes.add(
            Endpoint(
                .get, path, operationID: operationID, summary: summary, tag: "Pages", access: .public,
                responses: [EndpointResponse(200, "The file.", body: .text(type)), EndpointResponse(304, "Not modified.")]
            ) { request, _ in
                if request.headers[.ifNoneMatch] == etag { return Response(status: .notModified, headers: [.eTag: etag]) }
                return Response(
                    status: .ok, headers: [.contentType: "\(type); charset=utf-8", .eTag: etag, .cacheControl: "public, max-age=3600"],
                    body: .init(byteBuffer: bytes))
            })
    }
}

/// The pages' one script. Pages work without it; with it, the unread badge follows the person's
/// `user:<id>` topic, and every element marked `data-live-topic` subscribes its topic too: when an event
/// arrives there, the page is fetched again and each `data-live-region` (by id) is swapped for its fresh
/// copy — forms outside the regions keep what is being typed. One socket (the session cookie authenticates
/// it), resubscribing with the last event ids after a reconnect, with backoff.
enum LiveScript {
    static let js = """
        (function () {
          if (!window.WebSocket) return;
          var link = document.querySelector("a.inbox[data-topic]");
          var badge = document.getElementById("unread-badge");
          var badgeTopic = link && badge ? link.getAttribute("data-topic") : null;
          var topics = [], regionTopics = [];
          if (badgeTopic) topics.push(badgeTopic);
          document.querySelectorAll("[data-live-topic]").forEach(function (element) {
            var topic = element.getAttribute("data-live-topic");
            if (topic && topics.indexOf(topic) < 0) topics.push(topic);
            if (topic) regionTopics.push(topic);
          });
          if (topics.length === 0) return;
          var lastIds = {}, delay = 1000, pending = null, refreshes = 0;
          function show(count) {
            badge.textContent = String(count);
            badge.classList.toggle("empty", count === 0);
            document.dispatchEvent(new CustomEvent("plaza:unread", { detail: count }));
          }
          function refresh() {
            pending = null;
            fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (html) {
                if (html === null) return;
                var fresh = new DOMParser().parseFromString(html, "text/html");
                document.querySelectorAll("[data-live-region]").forEach(function (region) {
                  var next = fresh.getElementById(region.id);
                  if (next) region.replaceWith(next);
                });
                refreshes += 1;
                document.documentElement.setAttribute("data-refreshes", String(refreshes));
              });
          }
          function connect() {
            var socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/v1/realtime");
            socket.onopen = function () {
              delay = 1000;
              topics.forEach(function (topic) {
                var frame = { type: "subscribe", topic: topic };
                if (lastIds[topic] !== undefined) frame.lastEventId = lastIds[topic];
                socket.send(JSON.stringify(frame));
              });
              document.documentElement.setAttribute("data-live", "on");
            };
            socket.onmessage = function (message) {
              var frame;
              try { frame = JSON.parse(message.data); } catch (e) { return; }
              if (frame.type === "subscribed") {
                document.documentElement.setAttribute("data-subscribed", \
        (document.documentElement.getAttribute("data-subscribed") || "") + " " + frame.topic);
              }
              if (frame.type !== "event" || topics.indexOf(frame.topic) < 0) return;
              lastIds[frame.topic] = frame.id;
              if (frame.topic === badgeTopic && frame.data && frame.data.kind === "notifications" && typeof frame.data.unread === "number") {
                show(frame.data.unread);
              }
              if (regionTopics.indexOf(frame.topic) >= 0 && pending === null) pending = setTimeout(refresh, 100);
            };
            socket.onclose = function () {
              document.documentElement.setAttribute("data-live", "off");
              setTimeout(connect, delay);
              delay = Math.min(delay * 2, 30000);
            };
          }
          connect();
        })();

        """
}

/// The pages' look: plain CSS, readable without it, no framework.
enum Stylesheet {
    static let css = """
        :root { --ink: #1d2430; --muted: #5b6575; --line: #d9dee7; --paper: #ffffff; --wash: #f4f6f9; --accent: #1f5fbf;
          --danger: #b3261e; --ok: #1e7d3c; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--wash); line-height: 1.5; }
        a { color: var(--accent); }
        .bar { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .75rem 1.5rem;
          background: var(--paper); border-bottom: 1px solid var(--line); flex-wrap: wrap; }
        .bar nav { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
        .brand { font-weight: 700; font-size: 1.2rem; text-decoration: none; color: var(--ink); }
        main { max-width: 72rem; margin: 0 auto; padding: 1.5rem; }
        footer { text-align: center; color: var(--muted); padding: 2rem; }
        h1 small { color: var(--muted); font-weight: 400; font-size: 1rem; }
        .card { background: var(--paper); border: 1px solid var(--line); border-radius: .5rem; padding: 1.25rem 1.5rem; margin-bottom: 1.5rem; }
        .narrow { max-width: 28rem; margin: 2rem auto; }
        .columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1.5rem; align-items: start; }
        .stack { display: flex; flex-direction: column; gap: .9rem; }
        .field { display: flex; flex-direction: column; gap: .25rem; }
        .field span { font-weight: 600; }
        input, select, textarea { font: inherit; padding: .5rem .6rem; border: 1px solid var(--line); border-radius: .35rem; \
        background: var(--paper); }
        input:focus, select:focus, textarea:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
        .invalid input, .invalid select, .invalid textarea { border-color: var(--danger); }
        .hint { color: var(--muted); }
        .field-error { color: var(--danger); }
        button { font: inherit; padding: .5rem 1rem; border: 0; border-radius: .35rem; background: var(--accent); color: white; cursor: pointer; }
        button.small { padding: .2rem .6rem; font-size: .9rem; }
        button.link { background: none; color: var(--accent); padding: 0; text-decoration: underline; }
        .danger button, button.danger { background: var(--danger); }
        a.danger { color: var(--danger); }
        form.inline { display: inline; }
        .filters { display: flex; gap: .75rem; align-items: end; flex-wrap: wrap; margin-bottom: 1rem; }
        .filters label { display: flex; flex-direction: column; }
        .check { margin-right: .6rem; white-space: nowrap; }
        fieldset { border: 1px solid var(--line); border-radius: .35rem; }
        table { width: 100%; border-collapse: collapse; background: var(--paper); }
        th, td { text-align: left; padding: .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; }
        dt { color: var(--muted); }
        dd { margin: 0; }
        .links { list-style: none; padding: 0; display: flex; flex-direction: column; gap: .35rem; }
        .notice { background: #e6f4ea; border: 1px solid #b7dfc2; padding: .75rem 1rem; border-radius: .35rem; }
        .problem { background: #fce8e6; border: 1px solid #f2b8b5; padding: .75rem 1rem; border-radius: .35rem; }
        .problem p { margin: 0; font-weight: 600; }
        .person { display: flex; align-items: center; gap: 1rem; }
        img.avatar { border-radius: 50%; object-fit: cover; }
        .avatar-form { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin: .5rem 0; }
        .badge { font-size: .8rem; padding: .1rem .45rem; border-radius: 1rem; background: var(--wash); }
        .badge.ok { background: #e6f4ea; color: var(--ok); }
        a.inbox .badge { background: var(--accent); color: #fff; }
        a.inbox .badge.empty { background: var(--wash); color: var(--muted); }
        .unread td:first-child { font-weight: 600; }
        .results, .messages { list-style: none; padding: 0; }
        .messages li { padding: .4rem .6rem; border-radius: .5rem; background: var(--wash); margin: .3rem 0; }
        .messages li.mine { background: #e6efff; }
        .messages .body { white-space: pre-wrap; overflow-wrap: anywhere; }
        .actions, .inline-form, fieldset .row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: flex-end; }
        .actions { margin: .75rem 0; }
        fieldset { border: 1px solid var(--line); border-radius: .5rem; margin: .75rem 0; }
        """
}
