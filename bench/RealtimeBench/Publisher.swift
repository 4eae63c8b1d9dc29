import AsyncHTTPClient
import Foundation
import NIOCore

/// How an event is published: Plaza's broadcast endpoint, or a PocketBase record creation.
struct PublishTarget: Sendable {
    var url: String
    var authorization: String

    /// POSTs `{"sentAt": due}`; true when the server accepted it.
    func send(_ client: HTTPClient, sentAt due: UInt64) async -> Bool {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"sentAt":\#(due)}"#))
        guard let response = try? await client.execute(request, timeout: .seconds(30)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 20)
        return (200..<300).contains(response.status.code)
    }
}

/// Publishes at a fixed rate without waiting for answers (an open loop), stamping each event with the
/// time it was due rather than the time it went out, so a publisher that falls behind shows up as
/// latency instead of hiding it.
func publish(_ target: PublishTarget, client: HTTPClient, perSecond: Double, seconds: Double) async -> (
    start: UInt64, accepted: [UInt64], refused: Int
) {
    let start = nowMicros() + 20_000
    let count = Int(perSecond * seconds)
    let interval = 1_000_000 / perSecond
    return await withTaskGroup(of: (UInt64, Bool).self) { group in
        for index in 0..<count {
            let due = start + UInt64(Double(index) * interval)
            let now = nowMicros()
            if due > now { try? await Task.sleep(nanoseconds: (due - now) * 1_000) }
            group.addTask { (due, await target.send(client, sentAt: due)) }
        }
        var accepted: [UInt64] = []
        var refused = 0
        for await (due, ok) in group {
            if ok { accepted.append(due) } else { refused += 1 }
        }
        return (start, accepted.sorted(), refused)
    }
}
