#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GatewayRecording
import GatewayTesting

// Helpers the tests and the demo run as separate processes.
//   gateway-test-helper record-until-killed DIR SESSION   records events until SIGKILL
//   gateway-test-helper idp [--port N] [--host ADDR] [--issuer URL] [--token-dir DIR]
//                                    serves a test identity provider (demo and tests only)
//                                                          and writes tokens for demo users

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: gateway-test-helper record-until-killed DIR SESSION | idp [--port N] [--host ADDR] [--issuer URL] [--token-dir DIR]\n".utf8))
    exit(2)
}

switch arguments[1] {
case "record-until-killed":
    guard arguments.count == 4 else { exit(2) }
    let meta = RecordingMeta(
        sessionID: arguments[3], service: "test", connection: "orders",
        identity: .init(sub: "agent-1", email: nil, groups: ["agents"]), clientAddress: "127.0.0.1:1"
    )
    let recorder = try SessionRecorder(directory: arguments[2], meta: meta, terminal: TerminalInfo(width: 80, height: 24, command: "bash"))
    var counter = 0
    while true {
        counter += 1
        recorder.record(RecordingEvent(type: .query, command: "SELECT \(counter)", rows: 1))
        recorder.output(Array("line \(counter)\r\n".utf8))
        if counter % 50 == 0 { recorder.sync() }
        if counter == 200 { FileHandle.standardOutput.write(Data("ready\n".utf8)) }
        usleep(1000)
    }
case "idp":
    var port = 0
    var tokenDirectory: String?
    var host = "127.0.0.1"
    var issuer: String?
    var index = 2
    while index + 1 < arguments.count {
        if arguments[index] == "--port" { port = Int(arguments[index + 1]) ?? 0 }
        if arguments[index] == "--token-dir" { tokenDirectory = arguments[index + 1] }
        if arguments[index] == "--host" { host = arguments[index + 1] }
        if arguments[index] == "--issuer" { issuer = arguments[index + 1] }
        index += 2
    }
    let idp = try await TestIdentityProvider.start(port: port, host: host, issuer: issuer)
    FileHandle.standardOutput.write(Data("issuer \(idp.issuer)\n".utf8))
    if let tokenDirectory {
        try FileManager.default.createDirectory(atPath: tokenDirectory, withIntermediateDirectories: true)
        let users: [(String, String, [String])] = [
            ("agent", "agent@example.com", ["agents"]),
            ("dba", "dba@example.com", ["dba"]),
            ("security", "security@example.com", ["security", "engineers"]),
            ("outsider", "outsider@example.com", ["contractors"]),
        ]
        for (name, email, groups) in users {
            let token = try idp.token(subject: name, email: email, groups: groups, expiresIn: 12 * 3600)
            try token.write(toFile: "\(tokenDirectory)/\(name).jwt", atomically: true, encoding: .utf8)
        }
        try idp.forgedToken(subject: "agent", groups: ["agents"]).write(toFile: "\(tokenDirectory)/forged.jwt", atomically: true, encoding: .utf8)
        try idp.token(subject: "agent", groups: ["agents"], expiresIn: -3600).write(toFile: "\(tokenDirectory)/expired.jwt", atomically: true, encoding: .utf8)
        FileHandle.standardOutput.write(Data("tokens \(tokenDirectory)\n".utf8))
    }
    while true { try await Task.sleep(for: .seconds(3600)) }
default:
    FileHandle.standardError.write(Data("unknown command \(arguments[1])\n".utf8))
    exit(2)
}
