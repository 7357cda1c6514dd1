import Crypto
import Foundation
import GatewayRecording
import GatewayTesting
import Testing

/// Issue 17: with PostgreSQL as the state store, a recording sealed by one instance is served,
/// played and verified by any other, which holds no copy of its folder. Instance A
/// (postgres-gateway and ssh-gateway, one recordings folder) records; instance B (another
/// postgres-gateway, its own empty folder) serves. A copy altered in the store fails
/// verification there; a copy missing from the store is uploaded again at A's next start. Seals
/// are signed with the deployment's key: a copy whose seal was rewritten to match altered
/// files (by someone who can write the store, but has not that key) fails too.
@Suite("Recordings served by any instance (PostgreSQL store)", .serialized)
struct RecordingsAcrossInstancesTests {
    @Test func recordedOnOneInstancePlayedAndVerifiedThroughAnother() async throws {
        let deployment = try await TwoInstanceDeployment.make(store: .postgres, row: "cross-instance-row", separateRecordings: true, signed: true)
        defer { deployment.sshd.stop() }
        let postgres = deployment.postgres
        let stateName = try #require(deployment.stateDatabase)
        let ports = deployment.ports
        var a = try await deployment.startPostgres(.a)
        let sshA = try await deployment.startSSH()
        let b = try await deployment.startPostgres(.b)
        let agent = try deployment.idp.token(subject: "agent-1", email: "agent@example.com", groups: ["agents"])
        let security = try deployment.idp.token(subject: "sec-1", groups: ["security"])

        // Recorded on A: a query through postgres-gateway, a command through ssh-gateway.
        let queried = try await deployment.psql("SELECT note AS cross_instance_label FROM items", through: .a, token: agent).value
        #expect(queried?.contains("cross-instance-row") == true)
        let ran = try await deployment.ssh("echo terminal-from-instance-a", token: agent).value
        #expect(ran?.contains("terminal-from-instance-a") == true)

        // B's folder stays empty: what it serves comes from the store.
        let bFolder = deployment.recordings(.b)
        func listedByB() async throws -> [[String: Any]] {
            try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings", token: security).json() as? [[String: Any]] ?? []
        }
        var fromA: [[String: Any]] = []
        let bothListed = try await eventually {
            fromA = try await listedByB().filter { $0["location"] as? String == "store" }
            return fromA.count == 2
        }
        #expect(bothListed, "B lists A's two sealed recordings from the store")
        let pgSession = try #require(fromA.first { $0["service"] as? String == "postgres-gateway" }?["session_id"] as? String)
        let sshSession = try #require(fromA.first { $0["service"] as? String == "ssh-gateway" }?["session_id"] as? String)
        #expect(!FileManager.default.fileExists(atPath: bFolder + "/" + pgSession))
        let listed = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "list", "--admin", b.adminURL, "--token", security])
        #expect(listed.output.contains(pgSession) && listed.output.contains("store"), "\(listed.output)")
        #expect(FileManager.default.fileExists(atPath: deployment.recordings(.a) + "/\(pgSession)/.stored"))

        // Verified and played through B.
        let verified = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--admin", b.adminURL, "--token", security])
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("ok: store copy"))
        let played = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "play", pgSession, "--no-wait", "--admin", b.adminURL, "--token", security])
        #expect(played.output.contains("cross_instance_label"), "\(played.output)")
        let replayed = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "play", sshSession, "--no-wait", "--admin", b.adminURL, "--token", security])
        #expect(replayed.output.contains("terminal-from-instance-a"), "the asciicast stream, replayed from the store: \(replayed.output)")
        let cast = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(sshSession)/files/terminal.cast", token: security)
        #expect(cast.status == 200)
        #expect(cast.text.split(separator: "\n").first?.contains("\"version\":2") == true, "an asciicast v2 header: \(cast.text.prefix(200))")
        // The recording's owner may read it through B; another agent may not.
        let other = try deployment.idp.token(subject: "agent-2", groups: ["agents"])
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)", token: agent).status == 200)
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)", token: other).status == 404)

        // A copy altered in the store fails there, naming the file, through B and through A
        // (which checks its own folder and the store's copy).
        try postgres.sql("""
            UPDATE gateway_recording_chunks SET data = replace(convert_from(data, 'UTF8'), 'cross_instance_label', 'innocent_label____xx')::bytea
            WHERE session_id = '\(pgSession)' AND file = 'events.jsonl'
            """, database: stateName)
        let alteredB = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--admin", b.adminURL, "--token", security])
        #expect(alteredB.status == 1)
        #expect(alteredB.output.contains("events.jsonl"), "\(alteredB.output)")
        // Pinning a key does not hide why: the altered file is still what is named.
        let alteredPinned = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--public-key", try #require(deployment.signer?.publicKeyBase64), "--admin", b.adminURL, "--token", security])
        #expect(alteredPinned.status == 1)
        #expect(alteredPinned.output.contains("events.jsonl"), "\(alteredPinned.output)")
        let alteredA = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminA, path: "/api/recordings/\(pgSession)", token: security)
        let bodyA = alteredA.json() as? [String: Any]
        #expect(bodyA?["verified"] as? Bool == false)
        #expect((bodyA?["problem"] as? String)?.contains("store copy: events.jsonl") == true, "\(bodyA ?? [:])")
        let copies = bodyA?["copies"] as? [[String: Any]] ?? []
        #expect(copies.first { $0["location"] as? String == "local" }?["verified"] as? Bool == true)
        // A removed chunk is named too.
        try postgres.sql("DELETE FROM gateway_recording_chunks WHERE session_id = '\(sshSession)' AND file = 'terminal.cast'", database: stateName)
        let missing = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", sshSession, "--admin", b.adminURL, "--token", security])
        #expect(missing.status == 1)
        #expect(missing.output.contains("terminal.cast"), "\(missing.output)")

        // A recording whose copy is not in the store (its upload failed) is uploaded at the
        // next start: the store's copy and A's mark are removed, A restarts, B serves it again.
        // (Both processes on A's folder stop first: either would upload it within a minute.)
        #expect(await a.stop() == 0)
        #expect(await sshA.stop() == 0)
        try postgres.sql("DELETE FROM gateway_recordings WHERE session_id = '\(pgSession)'; DELETE FROM gateway_recording_chunks WHERE session_id = '\(pgSession)'", database: stateName)
        unlink(deployment.recordings(.a) + "/\(pgSession)/.stored")
        #expect(try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)", token: security).status == 404)
        a = try await deployment.startPostgres(.a)
        let reuploaded = try await eventually {
            let shown = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)", token: security)
            return shown.status == 200 && (shown.json() as? [String: Any])?["verified"] as? Bool == true
        }
        #expect(reuploaded, "the next start uploads the missing copy, intact")
        let metrics = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminA, path: "/metrics")
        let uploads = String(decoding: metrics.body, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("gateway_recording_uploads_total{") && $0.contains("outcome=\"stored\"") }
        #expect(uploads.count == 1, "the upload is counted")

        // Pinned by the caller too: the deployment's key passes, another does not.
        let deploymentKey = try #require(deployment.signer?.publicKeyBase64)
        let pinned = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--public-key", deploymentKey, "--admin", b.adminURL, "--token", security])
        #expect(pinned.status == 0, "\(pinned.output)")
        let stranger = RecordingSigner(key: Curve25519.Signing.PrivateKey())
        let mispinned = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--public-key", stranger.publicKeyBase64, "--admin", b.adminURL, "--token", security])
        #expect(mispinned.status == 1)
        #expect(mispinned.output.contains("signed by an untrusted key"), "\(mispinned.output)")

        // A forgery consistent with its seal: the stored events rewritten and the seal made
        // again to match, once signed with a key of the forger's own, once unsigned. The store
        // cannot tell; the pinned key can, through B and through A.
        let forged = deployment.directory + "/forged"
        try FileManager.default.createDirectory(atPath: forged, withIntermediateDirectories: true)
        let shown = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)", token: security).json() as? [String: Any]
        let names = (shown?["files"] as? [String] ?? []).filter { $0 != RecordingSeal.fileName }
        #expect(names.contains("events.jsonl"))
        for name in names {
            let file = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminB, path: "/api/recordings/\(pgSession)/files/\(name)", token: security)
            let text = String(decoding: file.body, as: UTF8.self).replacingOccurrences(of: "cross_instance_label", with: "nothing_to_see_here")
            try text.write(toFile: forged + "/" + name, atomically: true, encoding: .utf8)
        }
        let events = try Data(contentsOf: URL(fileURLWithPath: forged + "/events.jsonl"))
        for forger in [stranger, nil] {
            try RecordingSeal.seal(folder: forged, sessionID: pgSession, recovered: false, signer: forger)
            let seal = try Data(contentsOf: URL(fileURLWithPath: forged + "/" + RecordingSeal.fileName))
            try postgres.sql("""
                UPDATE gateway_recording_chunks SET data = decode('\(Self.hex(events))', 'hex') WHERE session_id = '\(pgSession)' AND file = 'events.jsonl';
                UPDATE gateway_recordings SET seal = decode('\(Self.hex(seal))', 'hex') WHERE session_id = '\(pgSession)'
                """, database: stateName)
            let reason = forger == nil ? "not signed, but a signature was required" : "signed by an untrusted key"
            let throughB = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", pgSession, "--admin", b.adminURL, "--token", security])
            #expect(throughB.status == 1)
            #expect(throughB.output.contains("seal.json: \(reason)"), "\(throughB.output)")
            let shownByA = try await HTTPProbe.get(host: "127.0.0.1", port: ports.adminA, path: "/api/recordings/\(pgSession)", token: security).json() as? [String: Any]
            #expect((shownByA?["problem"] as? String)?.contains("store copy: seal.json: \(reason)") == true, "\(shownByA ?? [:])")
            #expect((shownByA?["copies"] as? [[String: Any]])?.first { $0["location"] as? String == "local" }?["verified"] as? Bool == true)
            unlink(forged + "/" + RecordingSeal.fileName)
        }

        #expect(await a.stop() == 0)
        #expect(await b.stop() == 0)
        await deployment.stop()
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
}
