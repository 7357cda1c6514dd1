import Foundation
import GatewayTesting
import Testing

/// kube-exec-gateway end to end: the real kubectl (1.30 and 1.33, which speak WebSocket
/// exec) through the gateway to the API server stand-in.
@Suite("kube-exec-gateway with kubectl", .serialized)
struct KubeGatewayTests {
    @Test func readsPassAndDeletesAreBlockedWithAStatus() async throws {
        try await KubeGatewayFixture.with { fixture in
            for version in ["1.30", "1.33"] {
                let pods = try fixture.kubectl(["get", "pods", "-o", "name"], version: version)
                #expect(pods.status == 0, "\(version): \(pods.output)")
                #expect(pods.output.contains("pod/web-1"))
            }
            let delete = try fixture.kubectl(["delete", "pod", "web-1"])
            #expect(delete.status != 0)
            #expect(delete.output.contains("Error from server (Forbidden): access gateway: blocked by guardrail \"no-delete\""))
            // The stand-in never saw the DELETE; the pod is still there.
            #expect(try fixture.standInRequests(containing: "/pods/web-1").allSatisfy { $0["method"] as? String != "DELETE" })
            #expect(try fixture.kubectl(["get", "pod", "web-1", "-o", "name"]).output.contains("pod/web-1"))
            // read_only: a write that no guardrail names is refused by api_passthrough.
            let label = try fixture.kubectl(["label", "pod", "web-1", "tier=gold"])
            #expect(label.status != 0)
            #expect(label.output.contains("patch is not allowed on connection \"cluster\": api_passthrough is read_only"))
            #expect(try fixture.standInRequests(containing: "/pods/web-1").allSatisfy { $0["method"] as? String != "PATCH" })
        }
    }

    @Test func theAPIServerSeesTheGatewaysCredentialAndTheIdentity() async throws {
        try await KubeGatewayFixture.with { fixture in
            // `--as` would be a client's own impersonation: dropped; the identity is impersonated instead.
            let result = try fixture.kubectl(["get", "pods", "-o", "name", "--as", "cluster-admin", "--as-group", "system:masters"])
            #expect(result.status == 0, "\(result.output)")
            let requests = try fixture.standInRequests(containing: "/namespaces/default/pods")
            let headers = try #require(requests.last?["headers"] as? [String: String])
            #expect(headers["Authorization"] == "Bearer standin-upstream-token")
            #expect(headers["Impersonate-User"] == "agent-1")
            #expect(headers["Impersonate-Group"] == "agents")
            #expect(!requests.contains { ($0["headers"] as? [String: String])?.values.contains { $0.contains("cluster-admin") || $0.contains("system:masters") } == true })
            // The client's OIDC token never reaches the API server.
            let token = try fixture.agentToken()
            #expect(!(try String(contentsOfFile: fixture.standInLog, encoding: .utf8)).contains(token))
        }
    }

    @Test func identitiesThatMayNotPassGetAStatus() async throws {
        try await KubeGatewayFixture.with { fixture in
            // kubectl's discovery fails first, and it prints "Forbidden" without the Status's
            // message (the message is in the body, the audit and `kubectl -v=8`).
            let outsider = try fixture.kubectl(["get", "pods", "-v=8"], token: try fixture.idp.token(subject: "x", email: "x@example.com", groups: ["contractors"]))
            #expect(outsider.status != 0)
            #expect(outsider.output.contains("Error from server (Forbidden)"))
            #expect(outsider.output.contains("is not in allow_groups of connection \\\"cluster\\\""))
            let forged = try fixture.kubectl(["get", "pods"], token: try fixture.idp.forgedToken())
            #expect(forged.status != 0)
            #expect(forged.output.contains("You must be logged in to the server"))
            let unknown = try fixture.kubectl(["get", "pods", "-v=8"], connection: "nope")
            #expect(unknown.output.contains("unknown connection \\\"nope\\\""))
            // api_passthrough: none lets no API request through (discovery aside).
            let none = try fixture.kubectl(["get", "pods"], connection: "exec-only")
            #expect(none.status != 0)
            #expect(none.output.contains("api_passthrough: none"))
        }
    }

    @Test func execRunsWithItsExitStatusAndMaskedOutput() async throws {
        try await KubeGatewayFixture.with { fixture in
            // 1.27 and 1.29 speak SPDY/3.1, 1.30 and later WebSocket v5.
            for version in ["1.27", "1.29", "1.30", "1.33"] where KubeGatewayFixture.requireKubectl(version) {
                let exec = try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "echo mail jane.doe@example.com; echo oops >&2; exit 3"], version: version)
                #expect(exec.status == 3, "\(version): \(exec.output)")
                #expect(exec.output.contains("mail [EMAIL]"), "\(version)")
                #expect(exec.output.contains("oops"), "\(version)")
                #expect(!exec.output.contains("jane.doe"))
                // stdin reaches the command, and its EOF too (cat ends).
                let input = fixture.directory + "/stdin.txt"
                try "one\ntwo\n".write(toFile: input, atomically: true, encoding: .utf8)
                let cat = try fixture.kubectl(["exec", "-i", "web-1", "--", "cat"], version: version, stdin: input)
                #expect(cat.status == 0, "\(version): \(cat.output)")
                #expect(cat.output == "one\ntwo\n", "\(version)")
            }
            #expect(try fixture.standInRequests(containing: "/exec").allSatisfy { ($0["headers"] as? [String: String])?["Upgrade"] == "websocket" })
        }
    }

    @Test func anAPIServerThatRefusesWebSocketGetsTheStreamOverSPDY() async throws {
        try await KubeGatewayFixture.with(spdyOnly: true) { fixture in
            for version in ["1.29", "1.33"] where KubeGatewayFixture.requireKubectl(version) {
                let exec = try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "echo mail jane.doe@example.com; echo oops >&2; exit 5"], version: version)
                #expect(exec.status == 5, "\(version): \(exec.output)")
                #expect(exec.output.contains("mail [EMAIL]"), "\(version)")
                #expect(exec.output.contains("oops"), "\(version)")
                let input = fixture.directory + "/stdin.txt"
                try "over spdy\n".write(toFile: input, atomically: true, encoding: .utf8)
                let cat = try fixture.kubectl(["exec", "-i", "web-1", "--", "cat"], version: version, stdin: input)
                #expect(cat.status == 0, "\(version): \(cat.output)")
                #expect(cat.output == "over spdy\n", "\(version)")
            }
            // Each exec asked for WebSocket first, was refused, and opened over SPDY.
            let execs = try fixture.standInRequests(containing: "/exec")
            let upgrades = execs.compactMap { ($0["headers"] as? [String: String])?["Upgrade"]?.lowercased() }
            #expect(upgrades.filter { $0 == "websocket" }.count == upgrades.filter { $0 == "spdy/3.1" }.count)
            #expect(upgrades.filter { $0 == "spdy/3.1" }.count >= 2)
            #expect(execs.allSatisfy { ($0["headers"] as? [String: String])?["Authorization"] == "Bearer standin-upstream-token" })
        }
    }

    @Test func aBlockedExecIsRefusedBeforeTheStreamOpens() async throws {
        try await KubeGatewayFixture.with { fixture in
            let marker = fixture.directory + "/marker"
            _ = FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
            // Over WebSocket (1.30) and SPDY (1.29) alike, the refusal is a Status kubectl prints.
            for version in ["1.29", "1.30"] where KubeGatewayFixture.requireKubectl(version) {
                let blocked = try fixture.kubectl(["exec", "web-1", "--", "rm", "-rf", marker], version: version)
                #expect(blocked.status != 0)
                #expect(blocked.output.contains("Error from server (Forbidden): access gateway: blocked by guardrail \"no-rm-rf\": recursive force delete is blocked"), "\(version): \(blocked.output)")
                #expect(FileManager.default.fileExists(atPath: marker))
            }
            // The stand-in was never asked to run it.
            #expect(try fixture.standInRequests(containing: "/exec").allSatisfy { ($0["query"] as? String)?.contains("rm") != true })
            // A shell that hides rm -rf is refused too (the command is parsed, not matched as text).
            let hidden = try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "cd / && r''m -r -f \(marker)"])
            #expect(hidden.status != 0)
            #expect(FileManager.default.fileExists(atPath: marker))
        }
    }

    @Test func attachingToAShellDoesNotGetItsLinesPastTheChecks() async throws {
        try await KubeGatewayFixture.with { fixture in
            // The stand-in's attach is to a running sh: what the client types is commands.
            let marker = fixture.directory + "/attach-marker"
            _ = FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
            let input = fixture.directory + "/attach-input.txt"
            try "echo one\nrm -rf \(marker)\necho two\n".write(toFile: input, atomically: true, encoding: .utf8)
            for version in ["1.29", "1.30"] where KubeGatewayFixture.requireKubectl(version) {
                let attach = try fixture.kubectl(["attach", "-i", "web-1"], version: version, stdin: input)
                #expect(attach.output.contains("one"), "\(version): \(attach.output)")
                #expect(attach.output.contains("two"))
                #expect(attach.output.contains("blocked by guardrail \"no-rm-rf\""))
                #expect(FileManager.default.fileExists(atPath: marker))
            }
            // Audit events are written in batches within 200 ms.
            var blocked = false
            for _ in 0..<20 where !blocked {
                blocked = try await fixture.audit().contains { $0["action"] as? String == "block" && ($0["command"] as? String)?.contains("rm -rf") == true }
                if !blocked { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(blocked)
        }
    }

    @Test func copyingFilesIsRefusedWhereMaskingWouldCorruptThem() async throws {
        try await KubeGatewayFixture.with { fixture in
            let copy = try fixture.kubectl(["cp", "web-1:/etc/hostname", fixture.directory + "/hostname"])
            #expect(copy.status != 0)
            #expect(copy.output.contains("kubectl cp (an exec of tar) is refused on a connection with masking"))
            #expect(!FileManager.default.fileExists(atPath: fixture.directory + "/hostname"))
            // Binary output of any other command is cut off and said so, never passed on altered.
            let binary = try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "printf 'ab\\000cd jane.doe@example.com'"])
            #expect(binary.status != 0)
            #expect(binary.output.contains("the command's output is binary"))
            #expect(!binary.output.contains("jane.doe"))
        }
    }

    /// Over SPDY (1.29) the notice waits for the client's stderr stream; over WebSocket (1.33) it is sent at once.
    @Test(arguments: ["1.29", "1.33"])
    func aHeldExecOpensItsStreamSaysSoAndRunsOnceApproved(version: String) async throws {
        try await KubeGatewayFixture.with { fixture in
            guard KubeGatewayFixture.requireKubectl(version) else { return }
            let held = onOwnThread { try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "echo deploy-now done"], version: version) }
            let sre = try fixture.idp.token(subject: "sre-1", email: "sre@example.com", groups: ["sre"])
            let pending = try #require(try await HTTPProbe.pendingReview(adminPort: fixture.adminPort, token: sre))
            let id = try #require(pending["id"] as? String)
            #expect(pending["command"] as? String == "sh -c echo deploy-now done")
            // The requester cannot approve their own command.
            #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: try fixture.agentToken()).status == 403)
            #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: sre).status == 200)
            let result = try await held.value
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("review \(id) is pending"))
            #expect(result.output.contains("deploy-now done"))
        }
    }

    @Test func aHeldAPIRequestPassesOnceApproved() async throws {
        try await KubeGatewayFixture.with { fixture in
            let patch = ["patch", "deployment", "api", "-n", "prod", "--subresource=scale", "--type=merge", "-p", #"{"spec":{"replicas":5}}"#]
            let held = onOwnThread { try fixture.kubectl(patch, connection: "writable") }
            let sre = try fixture.idp.token(subject: "sre-1", email: "sre@example.com", groups: ["sre"])
            let pending = try #require(try await HTTPProbe.pendingReview(adminPort: fixture.adminPort, token: sre))
            let id = try #require(pending["id"] as? String)
            // The reviewer sees what the request would do: its query and its body.
            let command = pending["command"] as? String ?? ""
            #expect(command.hasPrefix("patch deployments/scale/api -n prod ?"), "\(command)")
            #expect(command.contains(#" body sha256:"#) && command.hasSuffix(#"{"spec":{"replicas":5}}"#), "\(command)")
            #expect(try fixture.standInRequests(containing: "/deployments/api/scale").allSatisfy { $0["method"] as? String != "PATCH" })
            #expect(try await HTTPProbe.post(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)/approve", token: sre).status == 200)
            let result = try await held.value
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("patched"))
            #expect(try fixture.standInRequests(containing: "/deployments/api/scale").contains { $0["method"] as? String == "PATCH" })
        }
    }

    @Test func anApprovedRetryPassesOnceOnWhicheverInstanceItReaches() async throws {
        try await KubeGatewayFixture.with { fixture in
            let b = try await fixture.secondInstance()
            do {
                try await Self.retryOnAnotherInstance(fixture, b: b)
            } catch {
                _ = await b.gateway.stop()
                throw error
            }
            #expect(await b.gateway.stop() == 0)
        }
    }

    static func retryOnAnotherInstance(_ fixture: KubeGatewayFixture, b: (gateway: GatewayProcess, port: Int, adminPort: Int)) async throws {
        let scale = "/apis/apps/v1/namespaces/prod/deployments/api/scale"
        let patches = { try fixture.standInRequests(containing: "/deployments/api/scale").filter { $0["method"] as? String == "PATCH" }.count }
        // A client library's request, with the reason it gives in X-Gateway-Reason: nobody
        // reviews it within held_request_wait (5 s here), so it is answered with a 403 naming the review.
        let request = { (port: Int?) in
            try fixture.curl(
                "/connections/writable\(scale)", method: "PATCH",
                headers: ["Content-Type: application/merge-patch+json", "X-Gateway-Reason: launch needs 5 replicas"], body: #"{"spec":{"replicas":5}}"#,
                port: port
            )
        }
        let first = try request(nil)
        #expect(first.status == 403, "\(first.body)")
        let message = first.body["message"] as? String ?? ""
        #expect(message.contains("is pending"), "\(message)")
        #expect(message.contains("retry the request once it is approved"))
        #expect(try patches() == 0)
        let sre = try fixture.idp.token(subject: "sre-1", email: "sre@example.com", groups: ["sre"])
        let pending = try #require(try await HTTPProbe.pendingReview(adminPort: b.adminPort, token: sre))
        let id = try #require(pending["id"] as? String)
        #expect(message.contains(id))
        #expect(pending["justification"] as? String == "launch needs 5 replicas")
        // Approved through instance B's admin API; the retry (the same request) reaches B and passes.
        #expect(try await HTTPProbe.post(host: "127.0.0.1", port: b.adminPort, path: "/api/reviews/\(id)/approve", token: sre).status == 200)
        let retried = try request(b.port)
        #expect(retried.status == 200, "\(retried.body)")
        #expect(try patches() == 1)
        // The grant was for one use: the same request on instance A is held again.
        let again = try request(nil)
        #expect(again.status == 403)
        let refusal = again.body["message"] as? String ?? ""
        #expect(refusal.contains("is pending"), "\(refusal)")
        #expect(!refusal.contains(id))
        #expect(try patches() == 1)
        let used = try #require(try await HTTPProbe.get(host: "127.0.0.1", port: fixture.adminPort, path: "/api/reviews/\(id)", token: sre).json() as? [String: Any])
        #expect(used["consumed_at"] != nil)
    }

    /// 1.29 forwards over SPDY/3.1, 1.33 tunnels SPDY in WebSocket: either way the gateway passes
    /// the session through, audits each forwarded port, and refuses where it may not.
    @Test(arguments: ["1.29", "1.33"])
    func portForwardingRunsWhereAllowedAndIsAudited(version: String) async throws {
        try await KubeGatewayFixture.with { fixture in
            guard KubeGatewayFixture.requireKubectl(version) else { return }
            // A service "in the pod" (the stand-in forwards to 127.0.0.1).
            let served = fixture.directory + "/served"
            try FileManager.default.createDirectory(atPath: served, withIntermediateDirectories: true)
            try "forwarded through the gateway\n".write(toFile: served + "/hello.txt", atomically: true, encoding: .utf8)
            let python = try PythonEnvironment.python(importing: "aiohttp", from: "aiohttp")
            let servicePort = ProcessRunner.freePort()
            let service = try ProcessRunner.spawn([python, "-m", "http.server", "\(servicePort)", "--bind", "127.0.0.1", "--directory", served], output: fixture.directory + "/service.log")
            defer { ProcessRunner.stop(service) }
            let localPort = ProcessRunner.freePort()
            let config = try fixture.kubeconfig("forwarding", token: try fixture.agentToken())
            let log = fixture.directory + "/port-forward.log"
            let forward = try ProcessRunner.spawn(
                [KubeGatewayFixture.kubectlDirectory + "/kubectl.\(version)", "--kubeconfig", config, "port-forward", "pod/web-1", "\(localPort):\(servicePort)"],
                environment: ["HOME": fixture.directory], output: log
            )
            defer { ProcessRunner.stop(forward) }
            for _ in 0..<100 where !((try? String(contentsOfFile: log, encoding: .utf8))?.contains("Forwarding from") ?? false) {
                try await Task.sleep(for: .milliseconds(100))
            }
            // Two connections through one forward.
            for _ in 0..<2 {
                let body = try ProcessRunner.run("/usr/bin/curl", ["-s", "-m", "10", "http://127.0.0.1:\(localPort)/hello.txt"])
                #expect(body == "forwarded through the gateway\n", "\(version): \(body) / \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            ProcessRunner.stop(forward)
            var entries: [[String: Any]] = []
            for _ in 0..<20 {
                entries = try await fixture.audit()
                if entries.contains(where: { ($0["command"] as? String) == "port-forward pods/web-1 -n default port \(servicePort)" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(entries.contains { $0["action"] as? String == "allow" && ($0["command"] as? String) == "port-forward pods/web-1 -n default port \(servicePort)" })
            // Refused where the connection does not allow it (and where it masks), before the API server hears of it.
            let refusedLog = fixture.directory + "/refused.log"
            let refused = try ProcessRunner.spawn(
                [KubeGatewayFixture.kubectlDirectory + "/kubectl.\(version)", "--kubeconfig", try fixture.kubeconfig("cluster", token: try fixture.agentToken()),
                 "port-forward", "pod/web-1", "\(ProcessRunner.freePort()):\(servicePort)"],
                environment: ["HOME": fixture.directory], output: refusedLog
            )
            defer { ProcessRunner.stop(refused) }
            var output = ""
            for _ in 0..<100 where !output.contains("error") {
                output = (try? String(contentsOfFile: refusedLog, encoding: .utf8)) ?? ""
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(output.contains("port forwarding is not allowed on connection \"cluster\""), "\(version): \(output)")
            let forwards = try fixture.standInRequests(containing: "/portforward")
            #expect(!forwards.isEmpty)
            #expect(forwards.allSatisfy { ($0["headers"] as? [String: String])?["Impersonate-User"] == "agent-1" })
            // Audit events are written in batches within 200 ms.
            var audited = false
            for _ in 0..<30 where !audited {
                audited = try await fixture.audit().contains { $0["action"] as? String == "block" && $0["rule"] as? String == "allow_port_forwarding" }
                if !audited { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(audited)
        }
    }

    /// kubectl 1.29's terminal travels over SPDY (a resize stream), 1.30's over WebSocket v5.
    @Test(.enabled(if: TmuxSession.isAvailable), arguments: ["1.29", "1.30"])
    func anInteractiveShellHasItsLinesCheckedMaskedAndRecorded(version: String) async throws {
        try await KubeGatewayFixture.with { fixture in
            guard KubeGatewayFixture.requireKubectl(version) else { return }
            let config = try fixture.kubeconfig("cluster", token: try fixture.agentToken())
            let terminal = try TmuxSession.start(
                [KubeGatewayFixture.kubectlDirectory + "/kubectl.\(version)", "--kubeconfig", config, "exec", "-it", "web-1", "--", "sh"],
                environment: ["HOME": fixture.directory]
            )
            defer { terminal.kill() }
            #expect(await terminal.waitFor("#"))
            try terminal.type("echo typed jane.doe@example.com; stty size")
            try terminal.press("Enter")
            #expect(await terminal.waitFor("typed [EMAIL]"))
            // The terminal's size reached the shell (120×30, tmux's).
            #expect(await terminal.waitFor("30 120"))
            let marker = fixture.directory + "/marker"
            _ = FileManager.default.createFile(atPath: marker, contents: Data("x".utf8))
            try terminal.type("rm -rf \(marker)")
            try terminal.press("Enter")
            #expect(await terminal.waitFor("blocked by guardrail \"no-rm-rf\""))
            try terminal.type("echo still-here")
            try terminal.press("Enter")
            #expect(await terminal.waitFor("still-here"))
            #expect(FileManager.default.fileExists(atPath: marker))
            #expect(!terminal.screen().contains("jane.doe"))
            try terminal.type("exit")
            try terminal.press("Enter")
            // The session's cast holds the resize and the masked output.
            var cast = ""
            for _ in 0..<50 {
                let folders = (try? FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/recordings")) ?? []
                cast = folders.compactMap { try? String(contentsOfFile: fixture.directory + "/recordings/\($0)/terminal.cast", encoding: .utf8) }.joined()
                if cast.contains("still-here") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(cast.contains(#""r", "120x30""#))
            #expect(cast.contains("typed [EMAIL]"))
            #expect(!cast.contains("jane.doe@example.com\\r\\n"))
        }
    }

    @Test func secretsAreMaskedInPassthrough() async throws {
        try await KubeGatewayFixture.with { fixture in
            let secret = try fixture.kubectl(["get", "secret", "db", "-o", "json"])
            #expect(secret.status == 0, "\(secret.output)")
            #expect(!secret.output.contains(Data("hunter2-very-secret".utf8).base64EncodedString()))
            #expect(secret.output.contains("\"password\""))
            // A list, as an agent would ask for it, is masked too.
            let all = try fixture.kubectl(["get", "secrets", "-o", "json"])
            #expect(!all.output.contains("hunter2"))
            #expect(!all.output.contains(Data("hunter2-very-secret".utf8).base64EncodedString()))
            // Logs go through the masker too.
            let logs = try fixture.kubectl(["logs", "web-1"])
            #expect(logs.output.contains("user=[EMAIL]"))
            #expect(!logs.output.contains("jane.doe"))
        }
    }

    @Test func execsAreRecordedAndAudited() async throws {
        try await KubeGatewayFixture.with { fixture in
            _ = try fixture.kubectl(["exec", "web-1", "--", "sh", "-c", "echo recorded; exit 2"])
            _ = try fixture.kubectl(["delete", "pod", "web-2"])
            let recordings = try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/recordings")
            var events = ""
            for _ in 0..<50 {
                events = recordings.compactMap { try? String(contentsOfFile: fixture.directory + "/recordings/\($0)/events.jsonl", encoding: .utf8) }.joined()
                if events.contains("\"exit\"") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(events.contains("\"type\":\"exec\""))
            #expect(events.contains("\"exit_status\":2") || events.contains("\"exitStatus\":2"))
            try await Task.sleep(for: .milliseconds(400))
            let entries = try await fixture.audit()
            #expect(entries.contains { $0["action"] as? String == "allow" && ($0["command"] as? String)?.contains("echo recorded") == true })
            #expect(entries.contains { $0["action"] as? String == "block" && $0["command"] as? String == "delete pods/web-2 -n default" })
            #expect(entries.contains { $0["action"] as? String == "allow" && $0["command"] as? String == "get pods/web-1 -n default" })
            // Nothing reached the stand-in from a denied identity or for the blocked delete.
            #expect(try fixture.standInRequests(containing: "/pods/web-2").allSatisfy { $0["method"] as? String != "DELETE" })
            // Each client connection's API requests are a session of their own: every decision
            // and outcome a line, the session sealed when kubectl leaves; the recordings verify.
            var api: [[String: Any]] = []
            for _ in 0..<50 {
                let folders = try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/recordings")
                api = folders.flatMap { folder -> [[String: Any]] in
                    let text = (try? String(contentsOfFile: fixture.directory + "/recordings/\(folder)/events.jsonl", encoding: .utf8)) ?? ""
                    return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                }
                if api.contains(where: { $0["type"] as? String == "result" && $0["command"] as? String == "get pods/web-1 -n default" }) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(api.contains { $0["type"] as? String == "api" && $0["command"] as? String == "delete pods/web-2 -n default" && $0["decision"] as? String == "block" && $0["rule"] as? String == "no-delete" })
            #expect(api.contains { $0["type"] as? String == "api" && $0["command"] as? String == "get pods/web-1 -n default" && $0["decision"] as? String == "allow" })
            #expect(api.contains { $0["type"] as? String == "result" && $0["command"] as? String == "get pods/web-1 -n default" && $0["detail"] as? String == "HTTP 200" })
            #expect(entries.contains { $0["action"] as? String == "block" && $0["command"] as? String == "delete pods/web-2 -n default" && ($0["session_id"] as? String)?.isEmpty == false })
            try await Task.sleep(for: .milliseconds(500))
            for folder in try FileManager.default.contentsOfDirectory(atPath: fixture.directory + "/recordings") {
                let verify = try await GatewayProcess.run(binary: "gatewayctl", arguments: ["recordings", "verify", fixture.directory + "/recordings/" + folder])
                #expect(verify.status == 0, "\(folder): \(verify.output)")
            }
        }
    }
}
