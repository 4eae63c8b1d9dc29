import Foundation
import PlazaKit

/// What a client may send. Unknown fields are ignored; an unknown `type` is answered with an error frame.
enum ClientFrame: Equatable {
    case subscribe(topic: String, lastEventId: Int64?)
    case unsubscribe(topic: String)
    case presence(topic: String)
    case ping

    enum ParseError: Error, Equatable {
        case notJSON
        case unknownType(String)
        case missing(String)
        /// A field holds a NUL: text is kept exactly as sent or refused (``InputText``).
        case nul(String)
    }

    static func parse(_ text: String) throws(ParseError) -> ClientFrame {
        let data = Data(text.utf8)
        let scan = JSONScan(data)
        guard scan.depth <= JSONScan.maxDepth, !scan.hasZeroByte, let value = try? PlazaJSON.decoder().decode(JSONValue.self, from: data),
            case .object(let object) = value
        else {
            throw .notJSON
        }
        if scan.hasNUL { throw .nul(JSONScan.pathToNUL(value) ?? "frame") }
        guard case .string(let type)? = object["type"] else { throw .missing("type") }
        switch type {
        case "ping":
            return .ping
        case "subscribe", "unsubscribe", "presence":
            guard case .string(let topic)? = object["topic"], !topic.isEmpty else { throw .missing("topic") }
            if type == "unsubscribe" { return .unsubscribe(topic: topic) }
            if type == "presence" { return .presence(topic: topic) }
            switch object["lastEventId"] {
            case .number(let number)?: return .subscribe(topic: topic, lastEventId: Int64(exactly: number.rounded(.down)))
            case .string(let text)?: return .subscribe(topic: topic, lastEventId: Int64(text))
            default: return .subscribe(topic: topic, lastEventId: nil)
            }
        default:
            throw .unknownType(type)
        }
    }
}

/// What the server sends, as JSON text.
enum ServerFrame {
    static func subscribed(_ topic: String) -> String { object(["type": .string("subscribed"), "topic": .string(topic)]) }
    static func unsubscribed(_ topic: String) -> String { object(["type": .string("unsubscribed"), "topic": .string(topic)]) }
    static let pong = #"{"type":"pong"}"#

    static func presence(_ topic: String, users: [UUID]) -> String {
        object(["type": .string("presence"), "topic": .string(topic), "users": .array(users.map { .string($0.uuidString.lowercased()) })])
    }

    static func error(_ code: ErrorCode, _ message: String, topic: String? = nil) -> String {
        var fields: [String: JSONValue] = ["type": .string("error"), "code": .string(code.rawValue), "message": .string(message)]
        if let topic { fields["topic"] = .string(topic) }
        return object(fields)
    }

    /// An event frame: built once per event, sent to every subscriber as is. `data` is JSON text.
    static func event(topic: String, id: Int64, data: String) -> String {
        #"{"type":"event","topic":"# + quoted(topic) + #","id":"# + String(id) + #","data":"# + data + "}"
    }

    /// A signal frame: like an event, without an id (nothing to resume from).
    static func signal(topic: String, data: String) -> String {
        #"{"type":"signal","topic":"# + quoted(topic) + #","data":"# + data + "}"
    }

    /// The error codes of error frames (`docs/realtime.md`).
    enum ErrorCode: String {
        case badFrame = "bad-frame"
        case unknownType = "unknown-type"
        case forbidden
        case unknownTopic = "unknown-topic"
        case tooManySubscriptions = "too-many-subscriptions"
        case replayTruncated = "replay-truncated"
    }

    private static func object(_ fields: [String: JSONValue]) -> String {
        String(decoding: (try? PlazaJSON.encoder().encode(JSONValue.object(fields))) ?? Data("{}".utf8), as: UTF8.self)
    }

    private static func quoted(_ text: String) -> String {
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// WebSocket close codes Plaza uses beyond the standard ones (RFC 6455 leaves 4000–4999 to applications).
public enum RealtimeCloseCode {
    /// The client did not read fast enough; its send queue filled up.
    public static let tooSlow: UInt16 = 4008
    /// The session behind the connection ended (signed out, revoked, disabled).
    public static let sessionEnded: UInt16 = 4001
}
