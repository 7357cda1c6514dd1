import Foundation
import GatewayTesting
import Testing

/// ssh-gateway end to end: OpenSSH's `ssh`, `sftp` and `sshd` on both sides of a running gateway.
@Suite("ssh-gateway against a real OpenSSH", .serialized)
struct SSHGatewayTests {
    @Test func execRelaysOutputExitStatusAndMasks() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let result = try fixture.ssh("web", "echo hello; echo write to jane@exa''mple.com; echo oops >&2; exit 3")
        #expect(result.status == 3)
        #expect(result.output.contains("hello"))
        #expect(result.output.contains("oops"))
        #expect(result.output.contains("write to [EMAIL]"))
        #expect(!result.output.contains("jane@example.com"))
        // stdin streams through, half-close included (`ssh host wc -c < file`).
        let input = fixture.directory + "/input.bin"
        try Data(repeating: UInt8(ascii: "x"), count: 3 * 1024 * 1024 + 7).write(to: URL(fileURLWithPath: input))
        let counted = try fixture.ssh("web", "wc -c", stdin: input)
        #expect(counted.status == 0)
        #expect(counted.output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(3 * 1024 * 1024 + 7)")
        // Binary data both ways is byte-for-byte intact where nothing is masked.
        let random = fixture.directory + "/random.bin"
        try ProcessRunner.run("/bin/sh", ["-c", "head -c 2000000 /dev/urandom > \(random)"])
        let local = try ProcessRunner.run("/usr/bin/sha256sum", [random]).prefix(64)
        let remote = try fixture.ssh("forward", "cat | sha256sum", stdin: random)
        #expect(remote.output.prefix(64) == local)
        // A signal kills the remote command: ssh reports it.
        let killed = try fixture.ssh("web", "kill -KILL $$")
        #expect(killed.status == 255)
        // Masking is a decision: audited once for the command, with what it hid.
        var masks: [[String: Any]] = []
        for _ in 0..<50 where masks.isEmpty {
            masks = try await fixture.audit().filter { $0["action"] as? String == "mask" }
            if masks.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(masks.count == 1, "\(masks)")
        #expect((masks.first?["command"] as? String)?.contains("echo write to") == true, "\(masks)")
        #expect(masks.first?["detail"] as? String == "EMAIL=1")
        #expect(masks.first?["sub"] as? String == "agent-1")
        #expect(await fixture.stop() == 0)

        // The sessions are recorded, sealed and verify; the cast names the command.
        let folders = fixture.recordings()
        #expect(folders.count >= 3)
        let first = try #require(folders.first { folder in
            (try? String(contentsOfFile: folder + "/terminal.cast", encoding: .utf8))?.contains("exit 3") == true
        })
        let cast = try String(contentsOfFile: first + "/terminal.cast", encoding: .utf8)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(cast.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect((header["command"] as? String)?.contains("echo hello") == true)
        #expect(cast.contains("[EMAIL]") && !cast.contains("jane@example.com"))
        let events = try String(contentsOfFile: first + "/events.jsonl", encoding: .utf8)
        #expect(events.contains("\"exit_status\":3"))
        #expect(events.contains("\"EMAIL\":1"))
        let verify = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", first])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(!fixture.gateway.log.contains("jane@example.com"))
        #expect(!fixture.gateway.log.contains("echo hello"))
    }

    @Test func guardrailBlocksWithStatus126AndTheNextCommandRuns() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let marker = fixture.directory + "/keep-me"
        _ = FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
        let blocked = try fixture.ssh("web", "rm -rf \(marker)")
        #expect(blocked.status == 126)
        #expect(blocked.output.contains("no-rm-rf"))
        #expect(blocked.output.contains("recursive force delete is blocked"))
        #expect(FileManager.default.fileExists(atPath: marker))
        // A multi-command string cannot hide it either.
        let hidden = try fixture.ssh("web", "echo fine; rm -rf \(marker)")
        #expect(hidden.status == 126)
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(try fixture.ssh("web", "echo still-usable").output.contains("still-usable"))
        let audit = try await fixture.audit("&connection=web")
        #expect(audit.contains { $0["action"] as? String == "block" && $0["rule"] as? String == "no-rm-rf" && $0["sub"] as? String == "agent-1" })
        #expect(await fixture.stop() == 0)
    }

    @Test func heldCommandRunsAfterApprovalAndNotAfterRejection() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let token = try fixture.agentToken()
        let approved = onOwnThread {
            try fixture.ssh("web", "systemctl restart demo-unit 2>/dev/null; echo restarted", token: token, options: ["-o", "SendEnv=GATEWAY_REASON"], environment: ["GATEWAY_REASON": "ticket 42"])
        }
        let dba = try fixture.idp.token(subject: "dba-1", email: "dba@example.com", groups: ["dba"])
        let pending = try #require(try await fixture.pendingReview(token: dba))
        #expect(pending["justification"] as? String == "ticket 42")
        #expect(pending["connection"] as? String == "web")
        let id = try #require(pending["id"] as? String)
        // The requester cannot approve their own command.
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: token).status == 403)
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: dba).status == 200)
        let result = try await approved.value
        #expect(result.output.contains("review \(id) is pending"))
        #expect(result.output.contains("restarted"))
        #expect(result.status == 0)

        let rejected = onOwnThread { try fixture.ssh("web", "systemctl restart demo-unit; echo should-not-run", token: token) }
        let second = try #require(try await fixture.pendingReview(token: dba)?["id"] as? String)
        _ = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(second)/reject", token: dba, json: ["comment": "not now"])
        let refused = try await rejected.value
        #expect(refused.status == 126)
        #expect(refused.output.contains("review \(second) was rejected: not now"))
        #expect(!refused.output.contains("should-not-run"))
        #expect(await fixture.stop() == 0)
    }

    @Test func shellLinesAreCheckedAtEnter() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let marker = fixture.directory + "/shell-marker"
        _ = FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
        let script = fixture.directory + "/lines.txt"
        try "echo one-\(1 + 1)\nrm -rf \(marker)\necho two-\(2 + 2)\nexit 4\n".write(toFile: script, atomically: true, encoding: .utf8)
        // With a pty (the terminal echoes; the blocked line is erased on the target).
        let tty = try fixture.ssh("web", token: nil, stdin: script, options: ["-tt"])
        #expect(tty.status == 4)
        #expect(tty.output.contains("one-2"))
        #expect(tty.output.contains("two-4"))
        #expect(tty.output.contains("recursive force delete is blocked"))
        #expect(FileManager.default.fileExists(atPath: marker))
        // Without a pty (a script piped into the shell): the line never reaches it.
        let piped = try fixture.ssh("web", token: nil, stdin: script)
        #expect(piped.status == 4)
        #expect(piped.output.contains("one-2") && piped.output.contains("two-4"))
        #expect(FileManager.default.fileExists(atPath: marker))
        #expect(await fixture.stop() == 0)

        // The pty session: its cast holds the keys typed (`i` events) as well as the output.
        let shell = try #require(fixture.recordings().first { folder in
            (try? String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8))?.contains("\"type\":\"line\"") == true
                && (try? String(contentsOfFile: folder + "/terminal.cast", encoding: .utf8))?.contains("\"i\"") == true
        })
        let events = try String(contentsOfFile: shell + "/events.jsonl", encoding: .utf8)
        #expect(events.contains("\"decision\":\"block\""))
        #expect(events.contains("echo one-2"))
        let cast = try String(contentsOfFile: shell + "/terminal.cast", encoding: .utf8)
        #expect(cast.contains("\"i\""))
        #expect(cast.contains("\"o\""))
        // asciinema (Debian's) reads the cast back.
        if let asciinema = ProcessRunner.find("asciinema") {
            // asciinema wants a terminal: script(1) gives it one.
            let played = try ProcessRunner.run("/usr/bin/script", ["-qec", "\(asciinema) play -i 0.1 \(shell)/terminal.cast", "/dev/null"])
            #expect(played.contains("two-4"))
        }
    }

    @Test func sftpWhereAllowedAndAudited() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let local = fixture.directory + "/upload.txt"
        let remote = fixture.directory + "/remote-copy.txt"
        let back = fixture.directory + "/download.txt"
        try "sftp payload\n".write(toFile: local, atomically: true, encoding: .utf8)
        let allowed = try fixture.sftp("web", batch: "put \(local) \(remote)\nget \(remote) \(back)\nrm \(remote)\n")
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(try String(contentsOfFile: back, encoding: .utf8) == "sftp payload\n")
        #expect(!FileManager.default.fileExists(atPath: remote))
        let refused = try fixture.sftp("locked", batch: "ls /\n")
        #expect(refused.status != 0)
        // File operations are batched audit events, written within 200 ms.
        var audit: [[String: Any]] = []
        for _ in 0..<30 {
            audit = try await fixture.audit()
            // The refusal is a batched event too (enqueued in order with the session's others).
            if audit.contains(where: { ($0["command"] as? String)?.hasPrefix("sftp remove") == true }),
               audit.contains(where: { $0["action"] as? String == "block" && $0["connection"] as? String == "locked" }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let commands = audit.compactMap { $0["command"] as? String }
        #expect(commands.contains { $0.hasPrefix("sftp open \(remote)") && $0.contains("write") })
        #expect(commands.contains("sftp remove \(remote)"))
        #expect(audit.contains { $0["action"] as? String == "block" && $0["connection"] as? String == "locked" && ($0["command"] as? String)?.contains("sftp") == true })
        #expect(await fixture.stop() == 0)
    }

    @Test func portForwardingRefusedByDefaultAndAudited() async throws {
        let fixture = try await SSHGatewayFixture.start()
        // `ssh -W` opens a direct-tcpip channel to the target's own sshd.
        let refused = try fixture.ssh("web", options: ["-W", "127.0.0.1:\(fixture.sshd.port)"])
        #expect(refused.status != 0)
        #expect(!refused.output.contains("SSH-2.0-OpenSSH"))
        let allowed = try fixture.ssh("forward", options: ["-W", "127.0.0.1:\(fixture.sshd.port)"])
        #expect(allowed.output.contains("SSH-2.0-OpenSSH"))
        let audit = try await fixture.audit()
        #expect(audit.contains { $0["action"] as? String == "block" && $0["connection"] as? String == "web" && ($0["command"] as? String)?.hasPrefix("direct-tcpip") == true })
        #expect(audit.contains { $0["action"] as? String == "allow" && $0["connection"] as? String == "forward" && ($0["command"] as? String)?.hasPrefix("direct-tcpip") == true })
        #expect(await fixture.stop() == 0)
    }

    @Test func refusedIdentitiesAndBrokenTargets() async throws {
        let fixture = try await SSHGatewayFixture.start()
        for token in [try fixture.idp.forgedToken(), try fixture.idp.token(expiresIn: -3600), "not-a-token"] {
            let result = try fixture.ssh("web", "echo should-not-run", token: token)
            #expect(result.status != 0)
            #expect(!result.output.contains("should-not-run"))
        }
        // A valid token, but not in the connection's groups; and an unknown connection.
        #expect(try fixture.ssh("ops-only", "echo no").status != 0)
        #expect(try fixture.ssh("nope", "echo no").status != 0)
        // The target presents a different host key: refused before the gateway's key is offered.
        let impostor = try fixture.ssh("wrong-key", "echo should-not-run")
        #expect(impostor.status == 255)
        #expect(impostor.output.contains("does not match upstream.host_key"))
        #expect(!impostor.output.contains("should-not-run"))
        let down = try fixture.ssh("down", "echo should-not-run")
        #expect(down.status == 255)
        #expect(down.output.contains("cannot reach the target"))
        // A target that accepts and hangs up mid-handshake (sshd past MaxStartups) is an error, not a hang.
        let dropped = try fixture.ssh("drops", "echo should-not-run")
        #expect(dropped.status == 255)
        #expect(dropped.output.contains("closed the connection") || dropped.output.contains("reset by peer"), "\(dropped.output)")
        let audit = try await fixture.audit()
        let denies = audit.filter { $0["action"] as? String == "deny" }
        #expect(denies.count >= 5)
        #expect(denies.contains { ($0["detail"] as? String)?.contains("allow_groups") == true })
        #expect(audit.contains { $0["action"] as? String == "error" && ($0["detail"] as? String)?.contains("host_key") == true })
        // The gateway is still serving.
        #expect(try fixture.ssh("web", "echo alive").output.contains("alive"))
        #expect(await fixture.stop() == 0)
    }

    @Test func signalsAndEnvironmentWithAsyncSSH() async throws {
        let python = try PythonEnvironment.python(importing: "asyncssh", from: "asyncssh")
        let fixture = try await SSHGatewayFixture.start()
        let script = PythonEnvironment.script("ssh_signal_test.py")
        let result: String
        do {
            result = try ProcessRunner.run(python, [script, "\(fixture.port)", try fixture.agentToken()])
        } catch let failure as ProcessRunner.Failure {
            result = failure.output
        }
        #expect(result.contains("failures: 0"), "\(result)")
        #expect(await fixture.stop() == 0)
        // The signal request reached sshd (which, for root, declines to deliver it) and is recorded.
        #expect(fixture.sshd.log.contains("session_signal_req"))
        let recorded = fixture.recordings().contains { folder in
            (try? String(contentsOfFile: folder + "/events.jsonl", encoding: .utf8))?.contains("\"signal\":\"INT\"") == true
        }
        #expect(recorded)
    }

    @Test func idleSessionsAreClosedWithAReason() async throws {
        let fixture = try await SSHGatewayFixture.start()
        // Closed before the command's own end: "late" never arrives, and the reason is given.
        let silent = try fixture.ssh("idle", "echo first; sleep 9; echo late")
        #expect(silent.output.contains("first"))
        #expect(silent.output.contains("limits.idle_timeout"))
        #expect(!silent.output.contains("late"))
        #expect(silent.status == 255)
        // Output every half second is activity: the command runs to its end.
        let chatty = try fixture.ssh("idle", "for i in 1 2 3 4 5; do echo tick-$i; sleep 0.5; done")
        #expect(chatty.status == 0)
        #expect(chatty.output.contains("tick-5"))
        #expect(await fixture.stop() == 0)
    }

    @Test func killThroughTheAdminAPIEndsTheSession() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let token = try fixture.agentToken()
        let long = onOwnThread { try fixture.ssh("web", "echo started; sleep 60; echo finished", token: token) }
        let security = try fixture.idp.token(subject: "sec-1", groups: ["security"])
        var sessionID: String?
        for _ in 0..<100 where sessionID == nil {
            let list = try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions", token: security)
            sessionID = (list.json() as? [[String: Any]])?.first { $0["status"] as? String == "active" }?["id"] as? String
            if sessionID == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        let id = try #require(sessionID)
        try await Task.sleep(for: .milliseconds(500))
        let kill = try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/sessions/\(id)/kill", token: security)
        #expect(kill.status == 202, "\(kill.text)")
        let result = try await long.value
        #expect(result.output.contains("started"))
        #expect(!result.output.contains("finished"))
        #expect(result.output.contains("access gateway: killed by an administrator"), "the client is told why: \(result.output)")
        #expect(await fixture.stop() == 0)
        let meta = try String(contentsOfFile: fixture.directory + "/recordings/\(id)/meta.json", encoding: .utf8)
        #expect(meta.contains("killed"))
    }

    @Test func channelLevelCasesWithParamiko() async throws {
        let python = try PythonEnvironment.python(importing: "paramiko", from: "paramiko")
        let fixture = try await SSHGatewayFixture.start()
        let script = PythonEnvironment.script("ssh_channels_test.py")
        let dba = try fixture.idp.token(subject: "dba-1", groups: ["dba"])
        let result: String
        do {
            result = try ProcessRunner.run(python, [script, "\(fixture.port)", try fixture.agentToken(), "http://127.0.0.1:\(fixture.adminPort)", dba])
        } catch let failure as ProcessRunner.Failure {
            result = failure.output
        }
        #expect(result.contains("failures: 0"), "\(result)")
        #expect(await fixture.stop() == 0)
        // The resize is in the cast as an `r` event.
        let resized = fixture.recordings().contains { folder in
            (try? String(contentsOfFile: folder + "/terminal.cast", encoding: .utf8))?.contains("\"r\", \"132x43\"") == true
        }
        #expect(resized)
    }
}
