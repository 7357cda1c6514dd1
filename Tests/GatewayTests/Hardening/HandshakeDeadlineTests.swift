import Foundation
import GatewayTesting
import Testing

/// ssh-gateway and kube-exec-gateway close a connection that has not authenticated by the
/// handshake deadline (a silent one, and one that stopped half way), and serve those who do.
@Suite("Handshake deadline on ssh and kube", .serialized)
struct HandshakeDeadlineTests {
    @Test func sshConnectionsThatNeverAuthenticateAreClosed() async throws {
        let fixture = try await SSHGatewayFixture.start(service: "handshake_timeout: 2s")
        let silent = try RawTCPClient(port: fixture.port)
        // Half way: the version exchange, then nothing (no key exchange, no authentication).
        let halfway = try RawTCPClient(port: fixture.port)
        try halfway.send(Array("SSH-2.0-OpenSSH_9.2\r\n".utf8))
        let banner = halfway.read(seconds: 0.5)
        #expect(String(decoding: banner.bytes, as: UTF8.self).hasPrefix("SSH-2.0-"))
        #expect(silent.read(seconds: 20).closed)
        #expect(halfway.read(seconds: 20).closed)
        // An authenticated session outlives the deadline.
        let ok = try fixture.ssh("web", "sleep 3; echo still-here")
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("still-here"))
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").text
        #expect(metrics.contains(#"gateway_handshakes_refused_total{service="ssh-gateway",reason="timeout"} 2"#), "\(metrics)")
        #expect(await fixture.stop() == 0)
    }

    @Test func kubeConnectionsThatNeverSendAnAdmittedRequestAreClosed() async throws {
        try await KubeGatewayFixture.with(service: "handshake_timeout: 2s") { fixture in
            let silent = try RawTCPClient(port: fixture.port)
            #expect(silent.read(seconds: 20).closed)
            // A client that authenticates keeps its connection: a watch longer than the deadline.
            let watch = try fixture.kubectl(["get", "pods", "--watch", "--request-timeout", "4s"])
            #expect(watch.output.contains("web-1"), "\(watch.output)")
            let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").text
            // At least the silent one (kubectl may also have opened a connection it never used).
            let timedOut = metrics.split(separator: "\n").first { $0.hasPrefix(#"gateway_handshakes_refused_total{service="kube-exec-gateway",reason="timeout"}"#) }
            #expect((timedOut?.split(separator: " ").last.flatMap { Int($0) } ?? 0) >= 1, "\(metrics)")
        }
    }
}
