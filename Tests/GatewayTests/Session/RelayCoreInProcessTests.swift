import Foundation
import GatewayPolicy
import GatewaySession
import NIOCore
import NIOEmbedded
@testable import PostgresGatewayKit
@testable import PostgresWire
import Testing

/// RelayCore in process, between an embedded client channel and an embedded upstream channel
/// on one embedded loop (no sockets, no server): where a refusal lands in a pipeline, what
/// the upstream never sees, how rows are masked and cut off.
@Suite("PostgreSQL relay in process")
struct RelayCoreInProcessTests {
    static let connections = """
          - name: orders
            type: postgres
            upstream: { host: 127.0.0.1, port: 5432, database: orders, user: app, password_env: ORDERS_PW }
            allow_groups: [agents]
            guardrails: [{ name: no-drop, pattern: '(?i)\\bdrop\\s+table\\b', message: "DROP is not allowed here" }]
            masking: { entities: [EMAIL] }
            limits: { max_rows: 2 }
        """
    static let agent = Identity(subject: "agent-7", groups: ["agents"], issuer: "https://idp.example.com", expiresAt: .distantFuture)

    /// Both sides of a relay: frames written into `client` or `upstream` as if read from the wire;
    /// what the relay wrote to each, read back as frames.
    struct Relay {
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let core: RelayCore

        init(_ world: InProcessEnvironment) throws {
            let loop = EmbeddedEventLoop()
            client = EmbeddedChannel(loop: loop)
            upstream = EmbeddedChannel(loop: loop)
            let session = PostgresSession(
                environment: world.environment, cancelKeys: CancelKeyRegistry(), tls: nil,
                client: StartupChannel(channel: client, stream: AsyncThrowingStream { $0.finish() })
            )
            core = RelayCore(
                session: session, identity: RelayCoreInProcessTests.agent, connection: world.connection, applicationName: nil,
                maskedSources: MaskedColumnSources(), recorder: nil, client: client, upstreamChannel: upstream
            )
            try client.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: core, side: .client))
            try upstream.pipeline.syncOperations.addHandler(RelaySideHandler(endpoint: core, side: .upstream))
        }

        func fromClient(_ frames: PostgresFrame...) throws {
            try client.writeInbound(frames)
            client.pipeline.fireChannelReadComplete()
        }

        func fromServer(_ frames: PostgresFrame...) throws {
            try upstream.writeInbound(frames)
            upstream.pipeline.fireChannelReadComplete()
        }

        /// The message types each side was sent, in order.
        func sent(to channel: EmbeddedChannel) throws -> [Character] {
            var types: [Character] = []
            while let frame = try channel.readOutbound(as: PostgresFrame.self) { types.append(Character(UnicodeScalar(frame.type))) }
            return types
        }

        func frames(to channel: EmbeddedChannel) throws -> [PostgresFrame] {
            var frames: [PostgresFrame] = []
            while let frame = try channel.readOutbound(as: PostgresFrame.self) { frames.append(frame) }
            return frames
        }
    }

    static func frame(_ type: Character, _ build: (inout ByteBuffer) -> Void = { _ in }) -> PostgresFrame {
        var payload = ByteBuffer()
        build(&payload)
        return PostgresFrame(type: type.asciiValue!, payload: payload)
    }

    static func parse(_ sql: String) -> PostgresFrame {
        frame("P") { $0.writeCString(""); $0.writeCString(sql); $0.writeInteger(Int16(0)) }
    }

    static let bind = frame("B") { $0.writeCString(""); $0.writeCString(""); $0.writeInteger(Int16(0)); $0.writeInteger(Int16(0)); $0.writeInteger(Int16(0)) }
    static let execute = frame("E") { $0.writeCString(""); $0.writeInteger(Int32(0)) }
    static let sync = frame("S")
    static let rowDescription = frame("T") { payload in
        payload.writeInteger(Int16(1))
        payload.writeCString("note")
        payload.writeInteger(UInt32(0)); payload.writeInteger(Int16(0)); payload.writeInteger(UInt32(25))
        payload.writeInteger(Int16(-1)); payload.writeInteger(Int32(-1)); payload.writeInteger(Int16(0))
    }

    static func row(_ text: String) -> PostgresFrame { RowMessages.dataRow([ByteBuffer(string: text)]) }
    static let selectComplete = frame("C") { $0.writeCString("SELECT 1") }

    @Test func aRefusedParseIsAnsweredAtItsSyncAndTheRestOfThePipelineRuns() async throws {
        let world = try await InProcessEnvironment(service: .postgres, connections: Self.connections)
        let relay = try Relay(world)
        // Parse/Bind/Execute/Sync of a refused statement, then a simple query, in one write.
        try relay.fromClient(Self.parse("DROP TABLE orders"), Self.bind, Self.execute, Self.sync, FrontendMessages.query("SELECT 1"))
        // The upstream sees the Sync (its ReadyForQuery carries the refusal) and the query; no
        // Parse, Bind or Execute of the refused statement.
        #expect(try relay.sent(to: relay.upstream) == ["S", "Q"])
        #expect(try relay.sent(to: relay.client).isEmpty)
        // The server answers the Sync, then the query.
        try relay.fromServer(BackendMessages.readyForQuery(), Self.rowDescription, Self.row("1"), Self.selectComplete, BackendMessages.readyForQuery())
        let frames = try relay.frames(to: relay.client)
        #expect(frames.map { Character(UnicodeScalar($0.type)) } == ["E", "Z", "T", "D", "C", "Z"])
        #expect(BackendMessages.parseFields(frames[0])["M"]?.contains("DROP is not allowed here") == true)
    }

    @Test func aRefusedQueryBehindOneInFlightIsAnsweredAfterIt() async throws {
        let world = try await InProcessEnvironment(service: .postgres, connections: Self.connections)
        let relay = try Relay(world)
        try relay.fromClient(FrontendMessages.query("SELECT 1"), FrontendMessages.query("DROP TABLE orders"), FrontendMessages.query("SELECT 2"))
        #expect(try relay.sent(to: relay.upstream) == ["Q", "Q"])
        try relay.fromServer(Self.rowDescription, Self.row("1"), Self.selectComplete, BackendMessages.readyForQuery())
        // The first result, then the refusal with its own ReadyForQuery, before the third's.
        #expect(try relay.sent(to: relay.client) == ["T", "D", "C", "Z", "E", "Z"])
        try relay.fromServer(Self.rowDescription, Self.row("2"), Self.selectComplete, BackendMessages.readyForQuery())
        #expect(try relay.sent(to: relay.client) == ["T", "D", "C", "Z"])
    }

    @Test func rowsAreMaskedAndCutOffAtMaxRows() async throws {
        let world = try await InProcessEnvironment(service: .postgres, connections: Self.connections)
        let relay = try Relay(world)
        try relay.fromClient(FrontendMessages.query("SELECT note FROM notes"))
        #expect(try relay.sent(to: relay.upstream) == ["Q"])
        try relay.fromServer(Self.rowDescription, Self.row("mail jane.doe@example.com"), Self.row("plain"), Self.row("third"), Self.selectComplete, BackendMessages.readyForQuery())
        let frames = try relay.frames(to: relay.client)
        #expect(frames.map { Character(UnicodeScalar($0.type)) } == ["T", "D", "D", "E", "Z"])
        let first = try RowMessages.parseDataRow(frames[1])
        let text = first[0].map { String(buffer: $0) } ?? ""
        #expect(!text.contains("jane.doe"))
        #expect(text.hasPrefix("mail "))
        #expect(BackendMessages.parseFields(frames[3])["C"] == "54000")
    }
}
