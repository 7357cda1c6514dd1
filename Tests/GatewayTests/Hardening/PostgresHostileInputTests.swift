import Foundation
import GatewayTesting
import Testing

/// What an unauthenticated client can make postgres-gateway do: buffer no more than a token's
/// worth, hold a connection no longer than the handshake deadline, and hold no more than its
/// share of the slots for unauthenticated connections; everyone who authenticates is served.
@Suite("postgres-gateway against hostile clients", .serialized)
struct PostgresHostileInputTests {
    /// The 'p' message header of a password message claiming `length` bytes.
    static func passwordHeader(_ length: UInt32) -> [UInt8] {
        [UInt8(ascii: "p"), UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
    }

    static func errorCode(_ bytes: [UInt8]) -> String? {
        // ErrorResponse: 'E', length, then fields; the code is field 'C'.
        guard let start = bytes.firstIndex(of: UInt8(ascii: "E")) else { return nil }
        var index = start + 5
        while index < bytes.count, bytes[index] != 0 {
            let field = bytes[index]
            let end = bytes[(index + 1)...].firstIndex(of: 0) ?? bytes.count
            if field == UInt8(ascii: "C") { return String(decoding: bytes[(index + 1)..<end], as: UTF8.self) }
            index = end + 1
        }
        return nil
    }

    @Test func aPasswordMessageLongerThanAnyTokenIsRefusedBeforeItIsBuffered() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let client = try RawTCPClient(port: fixture.port)
        try client.send(RawTCPClient.postgresStartup([("user", "agent"), ("database", "orders")]))
        let ask = client.read(seconds: 5)
        #expect(ask.bytes.first == UInt8(ascii: "R"), "\(ask.bytes.prefix(20))")
        // 256 MB claimed; the gateway answers at once instead of waiting to buffer it.
        try client.send(Self.passwordHeader(256 << 20) + Array(repeating: 0x41, count: 4096))
        let answer = client.read(seconds: 10)
        #expect(Self.errorCode(answer.bytes) == "08P01", "\(String(decoding: answer.bytes, as: UTF8.self))")
        #expect(String(decoding: answer.bytes, as: UTF8.self).contains("invalid message"))
        #expect(answer.closed)
        // A token-sized password still works (psql, through the same listener).
        let ok = try fixture.psql(["SELECT 1"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(await fixture.stop() == 0)
    }

    @Test func aConnectionThatNeverAuthenticatesIsClosedAtTheDeadline() async throws {
        let fixture = try await PostgresGatewayFixture.start(service: "handshake_timeout: 2s")
        // Silent: not even a start-up message.
        let silent = try RawTCPClient(port: fixture.port)
        // Half way: a start-up, then no password.
        let halfway = try RawTCPClient(port: fixture.port)
        try halfway.send(RawTCPClient.postgresStartup([("user", "agent"), ("database", "orders")]))
        // Generous bounds: the point is that they end, not how fast.
        let silentEnd = silent.read(seconds: 20)
        #expect(silentEnd.closed)
        let halfwayEnd = halfway.read(seconds: 20)
        #expect(halfwayEnd.closed)
        #expect(Self.errorCode(halfwayEnd.bytes) == "08P01")
        #expect(String(decoding: halfwayEnd.bytes, as: UTF8.self).contains("did not authenticate within 2 s"))
        // Someone who authenticates in time is served, and stays connected past the deadline.
        let ok = try fixture.psql(["SELECT pg_sleep(3)", "SELECT 'still here'"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output.contains("still here"))
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics")
        #expect(String(decoding: metrics.body, as: UTF8.self).contains(#"gateway_handshakes_refused_total{service="postgres-gateway",reason="timeout"} 2"#))
        #expect(await fixture.stop() == 0)
    }

    @Test func connectionsThatNeverAuthenticateFillOnlyTheirOwnSlots() async throws {
        let fixture = try await PostgresGatewayFixture.start(service: "max_unauthenticated_per_address: 4, handshake_timeout: 60s")
        var holders: [RawTCPClient]? = try (0..<4).map { _ in try RawTCPClient(port: fixture.port) }
        try await Task.sleep(for: .milliseconds(300))
        // The fifth from the same address is closed at once, without a word.
        let refused = try RawTCPClient(port: fixture.port)
        #expect(refused.read(seconds: 5).closed)
        let metrics = String(decoding: try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/metrics").body, as: UTF8.self)
        #expect(metrics.contains(#"gateway_unauthenticated_connections{service="postgres-gateway"} 4.0"#), "\(metrics)")
        #expect(metrics.contains(#"gateway_handshakes_refused_total{service="postgres-gateway",reason="capacity"} 1"#))
        #expect(holders?.count == 4)
        // The slots come back as the holders leave; then a client is served again.
        holders = nil
        // Waited for, not timed: on a loaded CI machine the closed holders' slots came back
        // after the old 4 s window (the clean-clone run of c84607f).
        let served = try await eventually(timeout: .seconds(60), interval: .milliseconds(200)) {
            try fixture.psql(["SELECT 1"]).status == 0
        }
        #expect(served)
        #expect(await fixture.stop() == 0)
    }
}
