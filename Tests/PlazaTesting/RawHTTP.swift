import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Bytes sent as they are over a TCP connection to 127.0.0.1, for requests no HTTP client would send (a control
/// character in a header, no request line). Answers what came back until the server closed or `timeout` passed,
/// and whether it closed.
public enum RawHTTP {
    /// A TCP socket connected to 127.0.0.1:`port`; the caller closes it.
    public static func connect(port: Int) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw POSIXError(.ECONNREFUSED)
        }
        return socket
    }

    public static func exchange(port: Int, _ request: [UInt8], timeout: Double = 5) throws -> (answer: String, closed: Bool) {
        let socket = try connect(port: port)
        defer { close(socket) }
        var wait = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < request.count {
            let count = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { break } // the server may answer and close before reading it all
            sent += count
        }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count > 0 { answer += buffer[0..<count]; continue }
            if count < 0, errno == EINTR { continue }
            // A reset after the answer is a close too: the server closed with bytes of ours still unread.
            return (String(decoding: answer, as: UTF8.self), count == 0 || errno == ECONNRESET)
        }
    }
}
