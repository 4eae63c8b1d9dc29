/// The three things a subscriber socket carries, decoded incrementally however the stream is cut into
/// reads: an HTTP response head, a chunked body, and WebSocket frames from a server (unmasked).

/// Collects an HTTP response head up to its blank line.
struct ResponseHead {
    private var bytes: [UInt8] = []
    private(set) var status = 0
    private(set) var isChunked = false
    private(set) var isComplete = false

    /// Takes bytes until the head is complete; returns how many it took.
    mutating func feed(_ input: UnsafeRawBufferPointer) throws -> Int {
        var taken = 0
        for byte in input {
            bytes.append(byte)
            taken += 1
            if bytes.count >= 4 && bytes.suffix(4).elementsEqual([13, 10, 13, 10]) {
                try finish()
                return taken
            }
        }
        guard bytes.count < 16_384 else { throw BenchError("a response head longer than 16 KB") }
        return taken
    }

    private mutating func finish() throws {
        isComplete = true
        let text = String(decoding: bytes, as: UTF8.self)
        let statusLine = text.split(separator: "\r\n").first ?? ""
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { throw BenchError("not an HTTP response: \(statusLine)") }
        status = code
        isChunked = text.lowercased().contains("\r\ntransfer-encoding: chunked")
    }
}

/// Decodes `Transfer-Encoding: chunked`, handing over the data of each chunk.
struct ChunkDecoder {
    private enum State { case size, sizeExtension, sizeLineFeed, data, dataCarriageReturn, dataLineFeed, finished }
    private var state = State.size
    private var size = 0
    private var remaining = 0

    mutating func feed(_ input: UnsafeRawBufferPointer, _ data: (UnsafeRawBufferPointer) -> Void) throws {
        var index = 0
        while index < input.count {
            let byte = input[index]
            switch state {
            case .size:
                if let digit = hexDigit(byte) {
                    size = size * 16 + digit
                    guard size < 1 << 30 else { throw BenchError("a chunk larger than 1 GB") }
                } else if byte == UInt8(ascii: ";") {
                    state = .sizeExtension
                } else if byte == 13 {
                    state = .sizeLineFeed
                } else {
                    throw BenchError("a bad chunk size")
                }
                index += 1
            case .sizeExtension:
                if byte == 13 { state = .sizeLineFeed }
                index += 1
            case .sizeLineFeed:
                guard byte == 10 else { throw BenchError("a chunk size line without LF") }
                remaining = size
                size = 0
                state = remaining == 0 ? .finished : .data
                index += 1
            case .data:
                let count = min(remaining, input.count - index)
                data(UnsafeRawBufferPointer(rebasing: input[index..<(index + count)]))
                remaining -= count
                index += count
                if remaining == 0 { state = .dataCarriageReturn }
            case .dataCarriageReturn:
                guard byte == 13 else { throw BenchError("a chunk without CRLF after its data") }
                state = .dataLineFeed
                index += 1
            case .dataLineFeed:
                guard byte == 10 else { throw BenchError("a chunk without CRLF after its data") }
                state = .size
                index += 1
            case .finished:
                return
            }
        }
    }

    private func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

/// Decodes WebSocket frames sent by a server (RFC 6455: never masked), handing over payload as it
/// arrives with the frame's opcode (a continuation's is its message's) and whether the frame ended.
struct FrameDecoder {
    private var header: [UInt8] = []
    private var headerLength = 2
    private var remaining: UInt64 = 0
    private var opcode: UInt8 = 0
    private var messageOpcode: UInt8 = 0
    private var inPayload = false

    mutating func feed(_ input: UnsafeRawBufferPointer, _ payload: (UInt8, UnsafeRawBufferPointer, Bool) -> Void) throws {
        var index = 0
        while index < input.count {
            if inPayload {
                let count = Int(min(remaining, UInt64(input.count - index)))
                remaining -= UInt64(count)
                if remaining == 0 { inPayload = false }
                payload(opcode, UnsafeRawBufferPointer(rebasing: input[index..<(index + count)]), remaining == 0)
                index += count
                continue
            }
            header.append(input[index])
            index += 1
            if header.count == 2 {
                guard header[1] & 0x80 == 0 else { throw BenchError("a masked frame from the server") }
                switch header[1] & 0x7F {
                case 126: headerLength = 4
                case 127: headerLength = 10
                default: headerLength = 2
                }
            }
            guard header.count == headerLength else { continue }
            var length = UInt64(header[1] & 0x7F)
            if headerLength > 2 {
                length = header[2...].reduce(0) { $0 << 8 | UInt64($1) }
            }
            opcode = header[0] & 0x0F
            if opcode == 1 || opcode == 2 { messageOpcode = opcode }
            if opcode == 0 { opcode = messageOpcode }
            header.removeAll(keepingCapacity: true)
            headerLength = 2
            if length == 0 {
                payload(opcode, UnsafeRawBufferPointer(start: nil, count: 0), true)
            } else {
                remaining = length
                inPayload = true
            }
        }
    }

    /// A client's frame: masked, as RFC 6455 requires of clients.
    static func clientFrame(opcode: UInt8, payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame.append(0x80 | 126)
            frame += [UInt8(payload.count >> 8 & 0xFF), UInt8(payload.count & 0xFF)]
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        for (index, byte) in payload.enumerated() { frame.append(byte ^ mask[index % 4]) }
        return frame
    }
}
