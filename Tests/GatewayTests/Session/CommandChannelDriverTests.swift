import Foundation
import GatewayPolicy
import GatewaySession
import GatewayState
import NIOCore
import NIOEmbedded
import Testing

/// The command channel driver in process, between a fake client side and a fake target (no
/// sockets, no sshd): where input waits, where a refusal lands, that the exit goes out after
/// all output and EOF after all input, what masking and the line guard let through.
@Suite("Command channel driver in process")
struct CommandChannelDriverTests {
    static let connections = """
          - name: web
            type: ssh
            upstream: { host: 127.0.0.1, port: 22, user: deploy, private_key_file: /dev/null, host_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample" }
            allow_groups: [agents]
            guardrails: [{ name: no-rm-rf, pattern: 'rm\\s+-[a-z]*r[a-z]*f', message: "recursive force delete is blocked" }]
            masking: { entities: [EMAIL] }
        """
    static let agent = Identity(subject: "agent-7", email: "agent@example.com", groups: ["agents"], issuer: "https://idp.example.com", expiresAt: .distantFuture)

    /// A driver on a new embedded loop with its fake transport (made, and then used, on one
    /// thread without a suspension: an embedded loop is bound to the thread that made it).
    static func harness(_ world: InProcessEnvironment) -> (EmbeddedEventLoop, FakeCommandTransport, CommandChannelDriver) {
        let loop = EmbeddedEventLoop()
        let transport = FakeCommandTransport()
        let session = CommandChannelDriver.Session(
            environment: world.environment, identity: agent, connection: world.connection, sessionID: "s-1", clientAddress: "127.0.0.1:1", recorder: nil
        )
        return (loop, transport, CommandChannelDriver(session: session, eventLoop: loop, transport: transport))
    }

    static func exec(_ line: String, interactive: Bool = false) -> CommandChannelDriver.Command {
        CommandChannelDriver.Command(label: line, eventType: .exec, interactive: interactive)
    }

    static func decide(_ world: InProcessEnvironment, _ line: String) -> Decision {
        world.environment.policy.decide(.shell(line), by: agent, on: world.connection.policy)
    }

    @Test func inputWaitsForTheTargetAndEOFFollowsIt() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("cat"), wantReply: true) { Self.decide(world, "cat") })
        #expect(transport.calls == [.openUpstream])
        // Before the target's channel is there: queued, reads paused.
        driver.clientInput(ByteBuffer(string: "one\n"))
        driver.clientInput(ByteBuffer(string: "two\n"))
        driver.clientEOF()
        #expect(transport.upstream.isEmpty)
        #expect(driver.upstreamOpened())
        #expect(transport.upstream == "one\ntwo\n")
        let sent = try #require(transport.index(of: .sendUpstream("two\n")))
        let eof = try #require(transport.index(of: .closeUpstreamOutput))
        #expect(transport.index(of: .startUpstream)! < transport.index(of: .sendUpstream("one\n"))!)
        #expect(sent < eof)
        #expect(driver.machine.state == .halfClosed)
        // Input after EOF goes nowhere.
        driver.clientInput(ByteBuffer(string: "late\n"))
        #expect(!transport.upstream.contains("late"))
    }

    @Test func theExitGoesOutAfterEveryByteOfOutputMaskedToTheEnd() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let transport: FakeCommandTransport
        do {
            // The loop and the driver end here, on the thread that made them.
            let (_, fake, driver) = Self.harness(world)
            transport = fake
            #expect(driver.start(Self.exec("cat notes"), wantReply: true) { Self.decide(world, "cat notes") })
            #expect(driver.upstreamOpened())
            driver.upstreamAnsweredStart(success: true)
            // An address split across two chunks, the second half arriving just before the end.
            driver.upstreamOutput(ByteBuffer(string: "mail jane.doe@exa"), stream: .stdout)
            driver.upstreamOutput(ByteBuffer(string: "mple.com"), stream: .stdout)
            driver.upstreamExited(.status(3))
            driver.upstreamOutputEnded()
            driver.upstreamClosed()
        }
        let output = transport.client(.stdout)
        #expect(!output.contains("jane.doe"))
        #expect(output.hasPrefix("mail "))
        #expect(transport.calls.last == .exit(.status(3)))
        let events = try await world.auditEvents()
        #expect(events.map(\.action) == ["allow", "mask"])
        #expect(events.last?.detail?.contains("EMAIL") == true)
    }

    @Test func aRefusedCommandNeverOpensTheTargetAndExits126() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let transport: FakeCommandTransport
        do {
            // The loop and the driver end here, on the thread that made them.
            let (_, fake, driver) = Self.harness(world)
            transport = fake
            #expect(driver.start(Self.exec("rm -rf /srv"), wantReply: true) { Self.decide(world, "rm -rf /srv") })
            driver.clientInput(ByteBuffer(string: "y\n"))
        }
        #expect(!transport.calls.contains(.openUpstream))
        #expect(transport.calls.first == .replyToStart(true))
        #expect(transport.client(.stderr) == "access gateway: blocked by guardrail \"no-rm-rf\": recursive force delete is blocked; the command was not run\n")
        #expect(transport.calls.last == .exit(.status(126)))
        #expect(transport.upstream.isEmpty)
        let events = try await world.auditEvents()
        #expect(events.map(\.action) == ["block"])
        #expect(events.first?.rule == "no-rm-rf")
    }

    @Test func aTargetThatCannotBeReachedExits255() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("uptime"), wantReply: true) { Self.decide(world, "uptime") })
        driver.upstreamFailed("access gateway: the target refused the connection")
        #expect(transport.calls == [.openUpstream, .replyToStart(true), .toClient("access gateway: the target refused the connection\n", .stderr), .exit(.status(255))])
        // A channel that opens after all is not used.
        #expect(!driver.upstreamOpened())
    }

    @Test func aClientThatLeavesBeforeTheTargetOpensClosesIt() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("uptime"), wantReply: true) { Self.decide(world, "uptime") })
        driver.clientClosed()
        #expect(!driver.upstreamOpened())
        #expect(!transport.calls.contains(.startUpstream))
    }

    @Test func aSecondStartIsRefused() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("uptime"), wantReply: true) { Self.decide(world, "uptime") })
        var decided = false
        #expect(!driver.start(Self.exec("rm -rf /"), wantReply: true) { decided = true; return .allow })
        #expect(!decided)
        #expect(!driver.settingRequested())
        withExtendedLifetime(transport) {}
    }

    @Test func typedLinesWithoutAPtyAreSentOnlyOnceAllowed() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        let shell = CommandChannelDriver.Command(label: "shell", eventType: .shell, checksLines: true)
        #expect(driver.start(shell, wantReply: true) { .allow })
        #expect(driver.upstreamOpened())
        driver.clientInput(ByteBuffer(string: "echo one\nrm -rf /srv\necho two\n"))
        #expect(transport.upstream == "echo one\necho two\n")
        #expect(transport.client(.stderr).contains("recursive force delete is blocked; the line was not run"))
        // A last line without a newline is checked at EOF, before EOF goes on.
        driver.clientInput(ByteBuffer(string: "rm -rf /tmp/x"))
        driver.clientEOF()
        #expect(!transport.upstream.contains("/tmp/x"))
        #expect(transport.calls.last == .closeUpstreamOutput)
    }

    @Test func inATerminalHeldBackOutputIsReleasedAfterAPause() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (loop, transport, driver) = Self.harness(world)
        let shell = CommandChannelDriver.Command(label: "shell", eventType: .shell, interactive: true)
        #expect(driver.start(shell, wantReply: true) { .allow })
        #expect(driver.upstreamOpened())
        // An echoed word that could still grow into an address is held back...
        driver.upstreamOutput(ByteBuffer(string: "$ echo typed-abc"), stream: .stdout)
        #expect(!transport.client(.stdout).contains("typed-abc"))
        // ...and shown once output pauses.
        loop.advanceTime(by: OutputMasking.pause)
        #expect(transport.client(.stdout) == "$ echo typed-abc")
        // Half an address, paused, then the rest: neither half gets through.
        driver.upstreamOutput(ByteBuffer(string: " jane.doe@"), stream: .stdout)
        loop.advanceTime(by: OutputMasking.pause)
        driver.upstreamOutput(ByteBuffer(string: "example.com\r\n"), stream: .stdout)
        driver.upstreamOutputEnded()
        #expect(!transport.client(.stdout).contains("jane.doe"))
        #expect(!transport.client(.stdout).contains("example.com"))
    }

    @Test func binaryOutputOnAMaskedChannelIsCutOffNotCorrupted() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("cat image.png"), wantReply: true) { Self.decide(world, "cat image.png") })
        #expect(driver.upstreamOpened())
        driver.upstreamOutput(ByteBuffer(string: "text first\n"), stream: .stdout)
        driver.upstreamOutput(ByteBuffer(bytes: [0x89, 0x50, 0x4E, 0x47, 0x00, 0x1A, 0x40, 0x61]), stream: .stdout)
        #expect(!transport.client(.stdout).contains("PNG"))
        #expect(transport.client(.stderr).contains("the command's output is binary"))
        #expect(transport.calls.last == .exit(.status(255)))
        // Nothing after the cut reaches the client.
        driver.upstreamOutput(ByteBuffer(string: "more"), stream: .stdout)
        #expect(!transport.client(.stdout).contains("more"))
    }

    @Test func theGatewayEndingAChannelSaysWhyAndExits255() async throws {
        let world = try await InProcessEnvironment(connections: Self.connections)
        let (_, transport, driver) = Self.harness(world)
        #expect(driver.start(Self.exec("sleep 100"), wantReply: true) { Self.decide(world, "sleep 100") })
        #expect(driver.upstreamOpened())
        driver.endByGateway("access gateway: killed by an administrator")
        #expect(transport.client(.stderr) == "access gateway: killed by an administrator\n")
        #expect(transport.calls.suffix(2) == [.closeUpstream, .exit(.status(255))])
        // The target closing afterwards changes nothing.
        driver.upstreamClosed()
        #expect(transport.calls.last == .exit(.status(255)))
    }
}
