import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// Bad input over the wire, sent byte by byte: each answered in the protocol's own terms where
/// it can be, ending at most the connection that sent it, while the gateway goes on serving.
@Suite("Bad input over the wire", .serialized)
struct WireInputTests {
    static func rss(_ gateway: GatewayProcess) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(gateway.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0").map { $0 * 1024 } ?? 0
    }

    @Test(.timeLimit(.minutes(2))) func truncatedPostgresMessagesEndOnlyTheirConnection() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        // Before authentication: a start-up packet cut short.
        let early = try RawTCPClient(port: fixture.port)
        try early.send([0, 0, 0, 100, 0, 3, 0, 0, UInt8(ascii: "u")])
        early.shutdownWrite()
        #expect(early.read(seconds: 10).closed)
        // After: a Query whose length promises more than ever comes.
        let client = try PostgresWireClient(port: fixture.port)
        try client.authenticate(database: "orders", token: try fixture.agentToken())
        try client.connection.send([UInt8(ascii: "Q"), 0, 0, 3, 232] + Array("SELECT 'cut".utf8))
        client.connection.shutdownWrite()
        #expect(client.connection.read(seconds: 10).closed)
        // Everyone else is served, and the cut session's recording is sealed.
        #expect(try fixture.psql(["SELECT 'still-serving'"]).output.contains("still-serving"))
        let recordings = fixture.directory + "/recordings"
        #expect(await eventually { RecordingFolders.sessions(in: recordings).count == 2 && RecordingFolders.allSealed(in: recordings) })
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func invalidUTF8InAQueryIsAnsweredAndTheSessionGoesOn() async throws {
        let fixture = try await PostgresGatewayFixture.start()
        let client = try PostgresWireClient(port: fixture.port)
        try client.authenticate(database: "orders", token: try fixture.agentToken())
        for bytes: [UInt8] in [Array("SELECT '".utf8) + [0xFF, 0xFE] + Array("'".utf8), Array("DROP TABLE cus".utf8) + [0xC3] + Array("tomers".utf8)] {
            try client.connection.send(PostgresWireClient.query(bytes))
            let answer = try client.read { $0.type == UInt8(ascii: "Z") }
            let error = answer.first { $0.type == UInt8(ascii: "E") }
            #expect(error != nil, "an ErrorResponse, not silence")
            #expect(answer.last?.type == UInt8(ascii: "Z"), "the session is ready for the next statement")
            #expect(["22021", "42501", "42601"].contains(error?.field("C") ?? ""), "\(error?.field("C") ?? "none"): \(error?.field("M") ?? "")")
        }
        try client.connection.send(PostgresWireClient.query(Array("SELECT count(*) FROM customers".utf8)))
        let rows = try client.read { $0.type == UInt8(ascii: "Z") }
        #expect(rows.contains { $0.type == UInt8(ascii: "D") && String(decoding: $0.body, as: UTF8.self).hasSuffix("2") }, "the table is still there")
        // The recording stays valid JSON, line by line.
        client.connection.shutdownWrite()
        _ = client.connection.read(seconds: 5)
        let recordings = fixture.directory + "/recordings"
        var folder = ""
        #expect(await eventually {
            folder = RecordingFolders.sealed(in: recordings).first ?? ""
            return !folder.isEmpty
        })
        _ = try RecordingVerifier.verify(folder: folder)
        let lines = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(3))) func aClientThatPipelinesWithoutReadingIsHeldByBackPressure() async throws {
        let fixture = try await PostgresGatewayFixture.start(maxRows: 100_000_000)
        let client = try PostgresWireClient(port: fixture.port)
        try client.authenticate(database: "orders", token: try fixture.agentToken())
        let before = Self.rss(fixture.gateway)
        // 900 queries of 64 KB results each (58 MB in all) sent at once, nothing read for a while.
        // Held back, the gateway's RSS grows by 14-25 MiB here whatever the total (4,000
        // queries, 256 MB: 15 MiB): allocator arenas and socket-sized buffers. Buffering the
        // results would take the whole 58 MB.
        let count = 900
        var burst: [UInt8] = []
        for index in 0..<count { burst += PostgresWireClient.query(Array("SELECT \(index), repeat('x', 65536)".utf8)) }
        try client.connection.send(burst)
        try await Task.sleep(for: .seconds(4))
        let held = Self.rss(fixture.gateway)
        #expect(held - before < 40 << 20, "the gateway buffered \((held - before) >> 20) MiB for a client that does not read")
        // Then everything arrives, in order, nothing dropped.
        let drained = client.drain(readyForQuery: count)
        #expect(drained.ready == count)
        #expect(drained.dataRows == count)
        #expect(drained.errors == 0)
        #expect(try fixture.psql(["SELECT 'still-serving'"]).output.contains("still-serving"))
        #expect(await fixture.stop() == 0)
    }

    /// A kube exec client (WebSocket v5, aiohttp) that stops reading while its command writes
    /// without end: aiohttp stops reading the socket past its queue's limit, so what the
    /// command writes has to wait somewhere. It must wait in the API server's and the kernel's
    /// buffers, not in the gateway's memory.
    @Test(.timeLimit(.minutes(2))) func aKubeClientThatStopsReadingIsHeldByBackPressure() async throws {
        try await KubeGatewayFixture.with { fixture in
            let python = try PythonEnvironment.python(importing: "aiohttp", from: "aiohttp")
            let url = "wss://127.0.0.1:\(fixture.port)/connections/cluster/api/v1/namespaces/default/pods/web-1/exec?command=yes&command=endless-output&stdout=1"
            let output = fixture.directory + "/reader.out"
            let client = try ProcessRunner.spawn([python, PythonEnvironment.script("kube_exec_client.py"), "stall", url, try fixture.agentToken(), fixture.directory + "/tls.crt"], output: output)
            defer { ProcessRunner.stop(client) }
            let read = { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
            #expect(await eventually { read().contains("opened") }, "\(read())")
            let before = Self.rss(fixture.gateway)
            try await Task.sleep(for: .seconds(4))
            let held = Self.rss(fixture.gateway)
            // `yes` writes hundreds of MB/s: buffered, 4 s of it would be gigabytes.
            #expect(held - before < 32 << 20, "the gateway buffered \((held - before) >> 20) MiB for a client that does not read")
            // Reading again, the stream flows.
            #expect(await eventually { read().contains("received") }, "\(read())")
            #expect(read().contains("received 4"), "\(read())")
            ProcessRunner.stop(client)
            #expect(try fixture.kubectl(["exec", "web-1", "--", "echo", "still-serving"]).output.contains("still-serving"))
        }
    }

    @Test(.timeLimit(.minutes(2))) func garbageAfterTheTLSRequestEndsOnlyThatConnection() async throws {
        let fixture = try await PostgresGatewayFixture.start(tls: true)
        let client = try RawTCPClient(port: fixture.port)
        try client.send([0, 0, 0, 8, 4, 210, 22, 47])
        let answer = client.readSome(seconds: 5)
        #expect(answer.bytes == [UInt8(ascii: "S")])
        try client.send(Array(repeating: 0x41, count: 600))
        let after = client.read(seconds: 10)
        #expect(after.closed)
        // TLS alerts are records of type 21; nothing PostgreSQL-shaped comes back in the clear.
        #expect(after.bytes.isEmpty || after.bytes.first == 21, "\(after.bytes.prefix(16))")
        #expect(try fixture.psql(["SELECT 'still-serving'"], sslmode: "require").output.contains("still-serving"))
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func sshClientsOfferingOnlyUnsupportedAlgorithmsAreTurnedAway() async throws {
        let fixture = try await SSHGatewayFixture.start()
        // Both sides negotiate at once: OpenSSH prints "Unable to negotiate ... no matching ..."
        // when it sees no match first, "Connection closed by" when the gateway closed first.
        // (Run without sshpass, which swallows ssh's own error.)
        let options = [
            "Ciphers=aes128-ctr", "KexAlgorithms=diffie-hellman-group14-sha256", "HostKeyAlgorithms=rsa-sha2-512", "MACs=hmac-sha1",
            "Ciphers=chacha20-poly1305@openssh.com",
        ]
        for option in options {
            let arguments = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", option, "-p", "\(fixture.port)", "web@127.0.0.1", "echo must-not-run"]
            let result: (status: Int32, output: String)
            do {
                result = (0, try ProcessRunner.run("/usr/bin/ssh", arguments))
            } catch let failure as ProcessRunner.Failure {
                result = (failure.status, failure.output)
            }
            #expect(result.status == 255, "\(option): \(result.output)")
            #expect(result.output.contains("no matching") || result.output.contains("Connection closed by 127.0.0.1"), "\(option): \(result.output)")
            #expect(!result.output.contains("must-not-run"))
        }
        #expect(try fixture.ssh("web", "echo still-serving").output.contains("still-serving"))
        // The gateway's side: one line for each connection it closed itself.
        let closed = fixture.gateway.log.split(separator: "\n").filter { $0.contains("client connection closed on a protocol error") }
        #expect(!closed.isEmpty && closed.count <= options.count, "\(closed)")
        #expect(await fixture.stop() == 0)
    }

    @Test(.timeLimit(.minutes(2))) func invalidUTF8InAnSSHCommandIsDecidedAndRecorded() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let options = SSHGatewayFixture.clientOptions.map { "'\($0)'" }.joined(separator: " ")
        func run(_ command: String) throws -> (Int32, String) {
            let shell = "sshpass -e ssh \(options) -p \(fixture.port) web@127.0.0.1 \"$(printf '\(command)')\""
            do {
                return (0, try ProcessRunner.run("/bin/bash", ["-c", shell], environment: ["SSHPASS": try fixture.agentToken()]))
            } catch let failure as ProcessRunner.Failure {
                return (failure.status, failure.output)
            }
        }
        // An invalid byte inside an argument: run as given.
        let (echoStatus, echoed) = try run("echo bytes-\\377\\376-end")
        #expect(echoStatus == 0)
        #expect(echoed.contains("bytes-") && echoed.contains("-end"), "\(echoed)")
        // An invalid byte does not hide a blocked command.
        let (blockedStatus, blocked) = try run("rm -rf /tmp/\\377 ; echo ran")
        #expect(blockedStatus == 126, "\(blocked)")
        #expect(blocked.contains("recursive force delete is blocked"))
        #expect(try fixture.ssh("web", "echo still-serving").output.contains("still-serving"))
        #expect(await fixture.stop() == 0)
        for folder in fixture.recordings() {
            _ = try RecordingVerifier.verify(folder: folder)
            let lines = try String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
        }
    }
}
