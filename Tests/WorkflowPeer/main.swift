// workflow-peer: `plaza serve` hosting the crash-test workflows (PlazaTesting's CrashSample), so a test can
// kill a real server in the middle of an activity or while a timer is due, and start it again.
//
// Settings are plaza serve's PLAZA_* variables; WORKFLOW_PEER_DIR is where the sample activity records its
// attempts and looks for its `hang` file.
import Foundation
import PlazaServer
import PlazaTesting

let environment = ProcessInfo.processInfo.environment
guard let directory = environment["WORKFLOW_PEER_DIR"] else {
    FileHandle.standardError.write(Data("workflow-peer: set WORKFLOW_PEER_DIR\n".utf8))
    exit(1)
}
let config = try PlazaConfig.load(environment: environment, file: nil, overrides: [:])
PlazaLogging.bootstrap(level: config.logLevel, format: config.logFormat)
let plaza = try await Plaza.open(config)
_ = try await plaza.migrate()
try CrashSample.install(on: plaza.workflows, directory: directory)
try await buildApplication(plaza) { port in print("workflow-peer listening on \(port)") }.runService()
