import Foundation
import Mustache

/// Writes a rendered notification as an RFC 5322 message: `multipart/alternative` with a text and an HTML
/// part, UTF-8 in base64 (no assumption that a relay speaks 8BITMIME), RFC 2047 encoded subject and names.
public enum EmailMessage {
    /// The message for one delivery. `messageID` is derived from the delivery, so a repeat is recognisable.
    public static func compose(
        _ message: RenderedMessage, from: String, to: String, messageID: String, date: Date, locale: String, footer: String
    ) -> String {
        let boundary = "plaza-" + String(messageID.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }.prefix(32).map(Character.init))
        var text = message.body
        if let action = message.action, let link = message.link { text += "\n\n\(action): \(link)" }
        text += "\n\n-- \n\(footer)\n"
        var context: [String: Any] = [
            "lang": locale, "title": message.title, "footer": footer,
            "paragraphs": message.body.components(separatedBy: "\n\n").map { ["lines": $0.components(separatedBy: "\n")] },
        ]
        if let action = message.action, let link = message.link { context["action"] = ["label": action, "link": link] }
        let html = layout.render(context)
        let headers = [
            "From: \(encodedAddress(from))",
            "To: \(to)",
            "Subject: \(encodedWord(message.title))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(messageID)>",
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
        ]
        return headers.joined(separator: "\r\n") + "\r\n\r\n"
            + part(text, type: "text/plain", boundary: boundary) + part(html, type: "text/html", boundary: boundary)
            + "--\(boundary)--\r\n"
    }

    /// The address part of `Name <address>` (or the whole string), for the SMTP envelope.
    public static func address(_ mailbox: String) -> String {
        if let open = mailbox.lastIndex(of: "<"), let close = mailbox.lastIndex(of: ">"), open < close {
            return String(mailbox[mailbox.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
        }
        return mailbox.trimmingCharacters(in: .whitespaces)
    }

    /// The domain of an address, for Message-IDs.
    public static func domain(_ mailbox: String) -> String {
        let address = address(mailbox)
        return address.split(separator: "@").last.map(String.init) ?? "plaza.localhost"
    }

    static func part(_ content: String, type: String, boundary: String) -> String {
        "--\(boundary)\r\nContent-Type: \(type); charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            + Data(content.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
            + "\r\n"
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words of at most 75 characters, split on whole characters; ASCII stays as it is.
    static func encodedWord(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !$0.isASCII }) else { return text }
        var words: [String] = []
        var chunk = ""
        for character in text {
            let candidate = chunk + String(character)
            // 45 bytes of UTF-8 make 60 base64 characters: with "=?UTF-8?B?" and "?=" a word stays under 75.
            if candidate.utf8.count > 45 {
                words.append(chunk)
                chunk = String(character)
            } else {
                chunk = candidate
            }
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func encodedAddress(_ mailbox: String) -> String {
        guard let open = mailbox.lastIndex(of: "<") else { return mailbox }
        let name = mailbox[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard !name.isEmpty else { return mailbox }
        let quoted = name.unicodeScalars.allSatisfy(\.isASCII) ? "\"\(name.replacingOccurrences(of: "\"", with: ""))\"" : encodedWord(name)
        return "\(quoted) \(mailbox[open...])"
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// The HTML part: one column, inline styles (mail clients ignore style sheets), escaped text.
    static let layout = try! MustacheTemplate(
        string: """
            <!doctype html>
            <html lang="{{lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{title}}</title></head>
            <body style="margin:0;padding:24px;background:#f4f4f5;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#18181b">
            <div style="max-width:560px;margin:0 auto;background:#fff;border-radius:8px;padding:24px">
            <h1 style="font-size:20px;margin:0 0 16px">{{title}}</h1>
            {{#paragraphs}}<p style="font-size:15px;line-height:1.5;margin:0 0 12px">{{#lines}}{{.}}<br>{{/lines}}</p>
            {{/paragraphs}}
            {{#action}}<p style="margin:20px 0"><a href="{{link}}" style="background:#2563eb;color:#fff;padding:10px \
            16px;border-radius:6px;text-decoration:none;display:inline-block">{{label}}</a></p>{{/action}}
            </div>
            <p style="max-width:560px;margin:12px auto;font-size:12px;color:#71717a">{{footer}}</p>
            </body></html>
            """)
}
