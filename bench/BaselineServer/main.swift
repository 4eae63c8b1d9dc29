// The router's ceiling: a bare Hummingbird server answering GET /health with the same body as Plaza,
// with no middleware, and draining uploads at POST /drain. bench/run.sh and bench/files.sh run it beside
// `plaza serve` so the two are compared in one run.
import Foundation
import Hummingbird

let port = Int(CommandLine.arguments.dropFirst().first ?? "8090") ?? 8090
let router = Router()
router.get("/health") { _, _ in
    Response(
        status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
}
// The upload ceiling: reads a streamed body and throws it away (bench/files.sh compares Plaza's upload to it).
router.post("/drain") { request, _ -> String in
    var bytes = 0
    for try await chunk in request.body { bytes += chunk.readableBytes }
    return "{\"id\":\"drained\",\"size\":\(bytes)}"
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
