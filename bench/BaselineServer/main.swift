// The router's ceiling: a bare Hummingbird server answering GET /health with the same body as Plaza,
// with no middleware. bench/run.sh runs it beside `plaza serve` so the two are compared in one run.
import Foundation
import Hummingbird

let port = Int(CommandLine.arguments.dropFirst().first ?? "8090") ?? 8090
let router = Router()
router.get("/health") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
