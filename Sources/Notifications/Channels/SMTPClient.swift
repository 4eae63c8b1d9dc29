import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to hand mail over: `PLAZA_SMTP_URL=smtp://[user:pass@]host[:port][?tls=starttls|required|none&ca=FILE]`,
/// or `smtps://` for TLS from the first byte (port 465).
public struct SMTPSettings: Sendable, Equatable {
    public enum Security: String, Sendable {
        /// TLS from the start (`smtps://`).
        case implicit
        /// STARTTLS when the server offers it; required before a password is sent.
        case starttls
        /// STARTTLS or fail.
        case required
        /// Never TLS (a relay on the same machine); a password is refused.
        case none
    }

    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var security: Security
    /// A PEM file of certificates to trust instead of the system's (a private relay's own CA).
    public var caFile: String?
    /// How long one session (connect, hand over, quit) may take.
    public var timeout: Duration = .seconds(30)

    public init(host: String, port: Int, username: String? = nil, password: String? = nil, security: Security = .starttls, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.security = security
        self.caFile = caFile
    }

    /// Reads a `PLAZA_SMTP_URL`; the error says what is wrong with it.
    public init(url text: String) throws {
        guard let url = URLComponents(string: text), let scheme = url.scheme, scheme == "smtp" || scheme == "smtps",
            let host = url.host, !host.isEmpty
        else { throw SMTPError.configuration("must look like smtp://[user:pass@]host:port or smtps://…") }
        self.host = host
        self.port = url.port ?? (scheme == "smtps" ? 465 : 587)
        username = url.user?.removingPercentEncoding
        password = url.password?.removingPercentEncoding
        security = scheme == "smtps" ? .implicit : .starttls
        for item in url.queryItems ?? [] {
            switch item.name {
            case "tls":
                guard scheme == "smtp", let value = item.value.flatMap(Security.init(rawValue:)), value != .implicit else {
                    throw SMTPError.configuration("tls= must be starttls, required or none (use smtps:// for TLS from the start)")
                }
                security = value
            case "ca":
                guard let path = item.value, !path.isEmpty else { throw SMTPError.configuration("ca= must name a PEM file") }
                caFile = path
            default:
                throw SMTPError.configuration("has an unknown option \(item.name) (known: tls, ca)")
            }
        }
        if security == .none, username != nil { throw SMTPError.configuration("sends a password, so it cannot use tls=none") }
    }
}

/// What went wrong talking to a mail server; `permanent` says whether trying again can help.
public enum SMTPError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    /// The server answered a command with a code we did not want.
    case rejected(command: String, code: Int, text: String)
    case connection(String)
    case timeout

    public var description: String {
        switch self {
        case .configuration(let problem): return "PLAZA_SMTP_URL \(problem)"
        case .rejected(let command, let code, let text): return "the mail server answered \(command) with \(code) \(text)"
        case .connection(let problem): return "cannot talk to the mail server: \(problem)"
        case .timeout: return "the mail server did not answer in time"
        }
    }

    /// 5xx replies to a message's own commands are final (an unknown mailbox); everything else may pass.
    /// A refused login is not: it is the installation's configuration, which an operator can fix and retry.
    public var permanent: Bool {
        if case .rejected(let command, let code, _) = self { return code >= 500 && !command.hasPrefix("AUTH") && command != "EHLO" }
        return false
    }
}

/// One e-mail handed to ``SMTPClient``: envelope addresses and the whole message (headers and body, CRLF lines).
public struct SMTPEnvelope: Sendable {
    public var from: String
    public var to: [String]
    public var message: String
    public init(from: String, to: [String], message: String) {
        self.from = from
        self.to = to
        self.message = message
    }
}

/// A small SMTP client (RFC 5321) on SwiftNIO: EHLO, STARTTLS (RFC 3207), AUTH PLAIN and LOGIN (RFC 4954),
/// MAIL, RCPT, DATA with dot-stuffing, QUIT. One connection per message: notifications are not bulk mail,
/// and a fresh session cannot inherit a broken one's state.
public struct SMTPClient: Sendable {
    public let settings: SMTPSettings
    let sslContext: NIOSSLContext?
    /// The name this client gives in EHLO.
    let clientName: String

    public init(settings: SMTPSettings, clientName: String = "plaza.localhost") throws {
        self.settings = settings
        self.clientName = clientName
        if settings.security == .none {
            sslContext = nil
        } else {
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = settings.caFile {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw SMTPError.configuration("names ca=\(caFile), which is not a readable PEM file (\(error))")
                }
            }
            sslContext = try NIOSSLContext(configuration: tls)
        }
    }

    /// Hands the message over; returns the server's last reply to DATA (which often names its queue id).
    @discardableResult
    public func send(_ envelope: SMTPEnvelope) async throws -> String {
        // An address is written into a command line: a line break or bracket in it would write another command.
        for address in [envelope.from] + envelope.to where address.contains(where: { $0.isNewline || $0 == "<" || $0 == ">" }) || address.isEmpty {
            throw SMTPError.rejected(command: "RCPT TO", code: 501, text: "the address \(address.debugDescription) cannot be written into SMTP")
        }
        let limit = settings.timeout
        return try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask { try await self.session(envelope) }
            group.addTask {
                try await Task.sleep(for: limit)
                throw SMTPError.timeout
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    private func session(_ envelope: SMTPEnvelope) async throws -> String {
        let settings = self.settings
        let sslContext = self.sslContext
        let serverName = Self.isIPAddress(settings.host) ? nil : settings.host
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: settings.host, port: settings.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if settings.security == .implicit, let sslContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPError.connection("\(settings.host):\(settings.port): \(error)")
        }
        return try await channel.executeThenClose { inbound, outbound in
            var conversation = Conversation(inbound: inbound.makeAsyncIterator(), outbound: outbound)
            _ = try await conversation.expect(220, after: "CONNECT")
            var capabilities = try await conversation.command("EHLO \(clientName)", expect: 250).lines
            var secure = settings.security == .implicit
            let offersTLS = capabilities.contains { $0.uppercased().hasPrefix("STARTTLS") }
            if !secure, settings.security != .none, offersTLS {
                _ = try await conversation.command("STARTTLS", expect: 220)
                guard let sslContext else { throw SMTPError.configuration("has no TLS context") }
                try await channel.channel.eventLoop.submit {
                    try channel.channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: serverName), position: .first)
                }.get()
                secure = true
                capabilities = try await conversation.command("EHLO \(clientName)", expect: 250).lines
            }
            if !secure, settings.security == .required {
                throw SMTPError.rejected(command: "STARTTLS", code: 0, text: "the server does not offer STARTTLS, and tls=required")
            }
            if let user = settings.username {
                guard secure else {
                    throw SMTPError.rejected(command: "AUTH", code: 0, text: "the server offers no STARTTLS; the password is not sent in clear")
                }
                let mechanisms = Set(
                    capabilities.first { $0.uppercased().hasPrefix("AUTH") }?
                        .uppercased().split(whereSeparator: { $0 == " " || $0 == "=" }).dropFirst().map(String.init) ?? [])
                let password = settings.password ?? ""
                if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                    let token = Data("\0\(user)\0\(password)".utf8).base64EncodedString()
                    _ = try await conversation.command("AUTH PLAIN \(token)", expect: 235, shown: "AUTH PLAIN")
                } else {
                    _ = try await conversation.command("AUTH LOGIN", expect: 334)
                    _ = try await conversation.command(Data(user.utf8).base64EncodedString(), expect: 334, shown: "AUTH LOGIN user")
                    _ = try await conversation.command(Data(password.utf8).base64EncodedString(), expect: 235, shown: "AUTH LOGIN password")
                }
            }
            _ = try await conversation.command("MAIL FROM:<\(envelope.from)>", expect: 250, shown: "MAIL FROM")
            for recipient in envelope.to {
                _ = try await conversation.command("RCPT TO:<\(recipient)>", expect: 250, also: [251], shown: "RCPT TO")
            }
            _ = try await conversation.command("DATA", expect: 354)
            let accepted = try await conversation.command(Self.dotStuffed(envelope.message) + ".", expect: 250, shown: "DATA (message)")
            _ = try? await conversation.command("QUIT", expect: 221)
            return accepted.lines.joined(separator: " ")
        }
    }

    /// RFC 5321 §4.5.2: a line starting with "." gets another; the message ends in CRLF.
    static func dotStuffed(_ message: String) -> String {
        var text = message.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        if !text.hasSuffix("\r\n") { text += "\r\n" }
        if text.hasPrefix(".") { text = "." + text }
        return text.replacingOccurrences(of: "\r\n.", with: "\r\n..")
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Lines in, commands out: replies may span several `250-` lines, and several replies may share one read.
    struct Conversation {
        struct Reply {
            var code: Int
            var lines: [String]
        }

        var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var pending = ""

        init(inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>) {
            self.inbound = inbound
            self.outbound = outbound
        }

        mutating func command(_ line: String, expect code: Int, also: [Int] = [], shown: String? = nil) async throws -> Reply {
            try await outbound.write(ByteBuffer(string: line + "\r\n"))
            return try await expect(code, also: also, after: shown ?? line)
        }

        mutating func expect(_ code: Int, also: [Int] = [], after command: String) async throws -> Reply {
            let reply = try await readReply()
            guard reply.code == code || also.contains(reply.code) else {
                throw SMTPError.rejected(command: command, code: reply.code, text: reply.lines.joined(separator: " "))
            }
            return reply
        }

        mutating func readReply() async throws -> Reply {
            var lines: [String] = []
            while true {
                let line = try await readLine()
                guard line.count >= 3, let code = Int(line.prefix(3)) else {
                    throw SMTPError.connection("the server said something that is not an SMTP reply: \(line.prefix(80))")
                }
                lines.append(String(line.dropFirst(4)))
                if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" { return Reply(code: code, lines: lines) }
            }
        }

        mutating func readLine() async throws -> String {
            while true {
                if let end = pending.range(of: "\r\n") {
                    let line = String(pending[..<end.lowerBound])
                    pending.removeSubrange(..<end.upperBound)
                    return line
                }
                guard pending.utf8.count < 64 * 1024 else { throw SMTPError.connection("a reply line is longer than 64 KiB") }
                guard var buffer = try await inbound.next() else { throw SMTPError.connection("the server closed the connection") }
                pending += buffer.readString(length: buffer.readableBytes) ?? ""
            }
        }
    }
}
