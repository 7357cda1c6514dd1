import Foundation
import GatewayTesting
import Testing

/// The sweep every gateway test's `stop()` runs: it must find a credential where one leaked
/// (or it checks nothing), and name it without printing it.
@Suite("Secret sweep")
struct SecretSweepTests {
    @Test func aLeakedCredentialIsFoundAndNotRepeated() throws {
        let directory = NSTemporaryDirectory() + "sweep-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory + "/recordings/s-1", withIntermediateDirectories: true)
        try "kube-upstream-token-0123456789\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        let config = """
            recordings: { dir: \(directory)/recordings }
            connections:
              - { name: k, upstream: { url: "https://x", token_file: \(directory)/token } }
              - { name: p, upstream: { host: h, password_env: SWEEP_PW } }
            """
        try config.write(toFile: directory + "/gateway.yaml", atomically: true, encoding: .utf8)
        let clean = directory + "/clean.log"
        try "listener started\n".write(toFile: clean, atomically: true, encoding: .utf8)
        #expect(SecretSweep.findings(configPath: directory + "/gateway.yaml", environment: ["SWEEP_PW": "hunter2-pw"], logPath: clean).isEmpty)

        let leaky = directory + "/leaky.log"
        try "upstream said no to kube-upstream-token-0123456789; password hunter2-pw; token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXh5eg\n"
            .write(toFile: leaky, atomically: true, encoding: .utf8)
        try #"{"o": "kube-upstream-token-0123456789"}"#.write(toFile: directory + "/recordings/s-1/events.jsonl", atomically: true, encoding: .utf8)
        let findings = SecretSweep.findings(configPath: directory + "/gateway.yaml", environment: ["SWEEP_PW": "hunter2-pw"], logPath: leaky)
        #expect(findings.contains { $0.contains("log holds the value of token_file") })
        #expect(findings.contains { $0.contains("log holds the value of password_env SWEEP_PW") })
        #expect(findings.contains("the log holds a JWT"))
        #expect(findings.contains { $0.contains("recording s-1/events.jsonl") })
        #expect(!findings.joined().contains("hunter2-pw"))
        #expect(!findings.joined().contains("0123456789"))
    }
}
