import Foundation
import GatewayConfig
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import NIOCore
import PostgresWire

/// A PostgreSQL session's relay after start-up, confined to the event loop both channels
/// share: every frame is decided, masked and recorded synchronously, without a task hop; only
/// a statement held for review leaves the loop (and the client side stops reading meanwhile).
/// It speaks the protocol for the session core: what a statement is (Query, Parse, a
/// fast-path call), how a verdict is answered (ErrorResponse and ReadyForQuery, in order
/// with what is in flight), what a result is for the recording.
///
/// `@unchecked Sendable` because it is handed to the review task and back; every mutable
/// field is touched on `eventLoop` only (checked in debug builds).
final class RelayCore: LinkedRelay, @unchecked Sendable {
    typealias Inbound = [PostgresFrame]

    let session: PostgresSession
    let identity: Identity
    let connection: ConnectionConfiguration
    let applicationName: String?
    let recorder: SessionRecorder?
    let eventLoop: any EventLoop
    let closed: EventLoopPromise<Void>
    let link: RelayLink<PostgresOutput, PostgresOutput>
    let idle: IdleClock
    let bytes: ByteTally
    private let masker: ResultMasker
    /// Where each statement's decision becomes its metric, recording line and audit event.
    private let checkpoint: Checkpoint
    private let audit: AuditTrail

    private var statements: StatementGate
    private var state = RelayState()
    private var results: ResultStream
    private var queuedClientFrames: [PostgresFrame] = []
    private var holding = false
    private var clientOpen = true
    private var upstreamOpen = true
    /// The client sent Terminate: the upstream closing next is expected, not an error.
    private var clientTerminated = false

    init(
        session: PostgresSession, identity: Identity, connection: ConnectionConfiguration, applicationName: String?,
        maskedSources: MaskedColumnSources, recorder: SessionRecorder?,
        client: any Channel, upstreamChannel: any Channel
    ) {
        let environment = session.environment
        self.session = session
        self.identity = identity
        self.connection = connection
        self.applicationName = applicationName
        self.recorder = recorder
        self.eventLoop = client.eventLoop
        self.closed = client.eventLoop.makePromise()
        self.link = RelayLink(client: PostgresOutput(channel: client), upstream: PostgresOutput(channel: upstreamChannel))
        self.idle = IdleClock(timeout: connection.limits.idleTimeout, eventLoop: client.eventLoop)
        self.bytes = ByteTally(metrics: environment.metrics)
        self.audit = environment.audit
        self.checkpoint = Checkpoint(
            environment: environment, identity: identity, connection: connection.name, sessionID: session.sessionID, recorder: recorder, eventType: .query
        )
        let tally = MaskingTally(environment: environment, identity: identity, connection: connection.name, sessionID: session.sessionID)
        self.masker = ResultMasker(connection: connection, sources: maskedSources, tally: tally)
        self.results = ResultStream(masker: masker, recorder: recorder, maxRows: connection.limits.maxRows)
        self.statements = StatementGate(checkpoint: checkpoint, policy: environment.policy, identity: identity, connection: connection, masking: masker.engine)
    }

    var client: any Channel { link.client.channel }
    var upstreamChannel: any Channel { link.upstream!.channel }

    /// Takes over both channels' frame writers and starts the clocks; on the event loop, as the relay starts.
    func start() throws {
        eventLoop.preconditionInEventLoop()
        try link.client.attachWriter()
        try link.upstream?.attachWriter()
        bytes.start(on: eventLoop)
        // `limits.idle_timeout`: a session waiting for the client's next statement (nothing in
        // flight, nothing held for review) that long is ended with 57P05, as PostgreSQL's
        // idle_session_timeout does.
        idle.start(mayEnd: { [weak self] in self.map { $0.clientOpen && $0.state.isIdle && !$0.holding } ?? false }) { [weak self] limit in
            guard let self else { return }
            let message = "access gateway: terminating connection due to idle-session timeout (limits.idle_timeout \(limit))"
            recorder?.record(RecordingEvent(type: .error, error: message))
            audit.enqueue(.idleTimeout, identity: identity, connection: connection.name, session: session.sessionID, detail: message)
            endSession(BackendMessages.error("57P05", message, severity: "FATAL"))
        }
    }

    /// Tells the client why its session ends (a FATAL ErrorResponse), then closes it.
    private func endSession(_ fatal: PostgresFrame) {
        client.writeAndFlush(fatal).whenComplete { [client] _ in client.close(promise: nil) }
    }

    // MARK: - Channel events

    func read(_ batch: [PostgresFrame], from side: RelaySide) {
        switch side {
        case .client: clientRead(batch)
        case .upstream: upstreamRead(batch)
        }
    }

    func closed(_ side: RelaySide) {
        eventLoop.preconditionInEventLoop()
        switch side {
        case .client:
            idle.stop()
            clientOpen = false
            link.closeUpstream()
        case .upstream:
            upstreamOpen = false
            if clientOpen && !clientTerminated {
                recorder?.record(RecordingEvent(type: .error, error: "the upstream database closed the connection"))
                endSession(BackendMessages.error("08006", "access gateway: the upstream database closed the connection", severity: "FATAL"))
            }
        }
        if !clientOpen && !upstreamOpen {
            bytes.stop()
            closed.succeed()
        }
    }

    func error(_ error: any Error, on side: RelaySide) {
        switch side {
        case .client:
            clientError(error)
        case .upstream:
            session.logger.debug("upstream error", metadata: ["gateway.error": "\(error)"])
            link.closeUpstream()
        }
    }

    private func clientError(_ error: any Error) {
        if let protocolError = error as? PostgresProtocolError {
            endSession(BackendMessages.error("08P01", "access gateway: \(protocolError.description)", severity: "FATAL"))
        } else {
            client.close(promise: nil)
        }
    }

    // MARK: - Client → upstream


    func clientRead(_ batch: [PostgresFrame]) {
        eventLoop.assertInEventLoop()
        idle.touch()
        if holding {
            queuedClientFrames += batch
            return
        }
        for frame in batch { bytes.sentUpstream(frame.payload.readableBytes + 5) }
        process(batch[...])
    }

    private func process(_ frames: ArraySlice<PostgresFrame>) {
        var index = frames.startIndex
        while index < frames.endIndex {
            let frame = frames[index]
            index += 1
            do {
                if let held = try handleClientFrame(frame) {
                    queuedClientFrames = Array(frames[index...]) + queuedClientFrames
                    startHold(held.0, rule: held.1)
                    return
                }
            } catch {
                clientError(error)
                return
            }
        }
        link.flushUpstream()
    }

    /// Handles one client frame; returns what to hold when a statement needs review.
    private func handleClientFrame(_ frame: PostgresFrame) throws -> (HeldStatement, ApprovalRule)? {
        if state.skips(frame.type) { return nil }
        switch frame.type {
        case PostgresMessageType.query:
            let query = try FrontendMessages.parseQuery(frame)
            switch statements.decide(query) {
            case .forward: forwardQuery(frame, query)
            case .refuse(let refusal): refuseSimpleQuery(refusal)
            case .hold(let rule): return (.simpleQuery(frame, query), rule)
            }
        case PostgresMessageType.parse:
            let parse = try FrontendMessages.parseParse(frame)
            switch statements.decide(parse.query) {
            case .forward: forwardParse(frame, parse)
            case .refuse(let refusal): refuseParse(refusal)
            case .hold(let rule): return (.parse(frame, parse), rule)
            }
        case PostgresMessageType.bind:
            let bind = try FrontendMessages.parseBind(frame)
            state.tracker.bind(portal: bind.portal, statement: bind.statement, resultFormats: bind.resultFormats)
            state.bound(portal: bind.portal, statement: bind.statement)
            link.toUpstream(frame)
        case PostgresMessageType.describe:
            let target = try FrontendMessages.parseTarget(frame)
            state.tracker.describe(kind: target.kind, name: target.name)
            link.toUpstream(frame)
        case PostgresMessageType.execute:
            let portal = try FrontendMessages.parseExecute(frame)
            let command = state.executed(portal: portal)
            state.tracker.execute(portal: portal, statement: RunningStatement(command: command, start: .now))
            link.toUpstream(frame)
        case PostgresMessageType.sync:
            state.synced()
            link.toUpstream(frame)
        case PostgresMessageType.close:
            let target = try FrontendMessages.parseTarget(frame)
            state.closed(kind: target.kind, name: target.name)
            link.toUpstream(frame)
        case PostgresMessageType.functionCall:
            functionCall(frame, try FrontendMessages.parseFunctionCall(frame))
        case PostgresMessageType.terminate:
            clientTerminated = true
            link.toUpstream(frame)
        default:
            link.toUpstream(frame)
        }
        return nil
    }

    /// A fast-path call, decided as the SQL it stands for; answered with ReadyForQuery, as a
    /// simple query is.
    private func functionCall(_ frame: PostgresFrame, _ call: FrontendMessages.FunctionCall) {
        switch statements.decide(call: call) {
        case .forward(let sql):
            state.tracker.functionCall(RunningStatement(command: sql, start: .now))
            state.syncsSent += 1
            link.toUpstream(frame)
        case .refuse(let refusal):
            refuseSimpleQuery(refusal)
        }
    }

    private func forwardQuery(_ frame: PostgresFrame, _ query: String) {
        masker.noteDefinitions(query)
        let start = ContinuousClock.now
        if let each = StatementGate.statements(of: query) {
            state.tracker.simpleQuery(RunningStatement(command: each[0], start: start), then: each.dropFirst())
        } else {
            state.tracker.simpleQuery(RunningStatement(command: query, start: start))
        }
        state.syncsSent += 1
        link.toUpstream(frame)
    }

    private func forwardParse(_ frame: PostgresFrame, _ parse: FrontendMessages.Parse) {
        masker.noteDefinitions(parse.query)
        state.tracker.parse(statement: parse.statement)
        state.parsed(statement: parse.statement, text: parse.query)
        link.toUpstream(frame)
    }

    private func refuseParse(_ refusal: PostgresFrame) {
        state.discardingUntilSync = true
        state.pendingRefusal = refusal
    }

    /// A refused simple query: ErrorResponse and ReadyForQuery, in order with anything in flight.
    private func refuseSimpleQuery(_ refusal: PostgresFrame) {
        if state.isIdle {
            link.toClient(refusal)
            link.toClient(BackendMessages.readyForQuery(state.transactionStatus))
            link.flushClient()
        } else {
            state.injections.append(.init(target: state.syncsSent, beforeReady: false, frames: [refusal], appendReady: true, suppressIfError: false))
        }
    }

    // MARK: - Approvals

    private func startHold(_ held: HeldStatement, rule: ApprovalRule) {
        link.flushUpstream()
        holding = true
        link.pauseClientReads()
        let gate = ApprovalGate(
            environment: session.environment, identity: identity, connection: connection.name, sessionID: session.sessionID,
            clientAddress: session.clientAddress, eventType: .query, noun: "statement"
        )
        let justification = SQLSplitter.split(held.query).compactMap(\.reason).first ?? applicationName.flatMap { $0.isEmpty ? nil : "application_name: \($0)" }
        ApprovalHold(gate: gate, eventLoop: eventLoop, recorder: recorder).hold(
            held.query, rule: rule, justification: justification, isClientConnected: { [client] in client.isActive },
            announce: { [client] notice, review in
                client.writeAndFlush(BackendMessages.notice(notice, detail: "approve with: gatewayctl reviews approve \(review.id)"), promise: nil)
            },
            then: { [self] outcome in
                switch outcome {
                case .proceed: resume(held, refusal: nil)
                case .refused(let message): resume(held, refusal: BackendMessages.error("42501", message))
                }
            }
        )
    }

    private func resume(_ held: HeldStatement, refusal: PostgresFrame?) {
        holding = false
        switch held {
        case .simpleQuery(let frame, let query):
            if let refusal { refuseSimpleQuery(refusal) } else { forwardQuery(frame, query) }
        case .parse(let frame, let parse):
            if let refusal { refuseParse(refusal) } else { forwardParse(frame, parse) }
        }
        let queued = queuedClientFrames
        queuedClientFrames = []
        process(queued[...])
        if !holding { link.resumeClientReads() }
    }

    // MARK: - Upstream → client

    func upstreamRead(_ batch: [PostgresFrame]) {
        eventLoop.assertInEventLoop()
        for index in batch.indices {
            bytes.sentDownstream(batch[index].payload.readableBytes + 5)
            do {
                try handleUpstreamFrame(batch[index])
            } catch {
                session.logger.debug("malformed message from the upstream", metadata: ["gateway.error": "\(error)"])
                link.toClient(BackendMessages.error("08P01", "access gateway: malformed message from the upstream database", severity: "FATAL"))
                link.flushClient()
                client.close(promise: nil)
                return
            }
        }
    }

    private func handleUpstreamFrame(_ frame: PostgresFrame) throws {
        switch frame.type {
        case PostgresMessageType.rowDescription:
            try results.described(frame, state: &state)
            link.toClient(frame)
        case PostgresMessageType.dataRow:
            switch try results.row(frame, state: &state) {
            case .send(let row): link.toClient(row)
            case .overLimit(let limit): stopOversizedResult(limit: limit)
            case .drop: break
            }
        case PostgresMessageType.commandComplete, PostgresMessageType.emptyQuery, PostgresMessageType.portalSuspended:
            if let frame = results.ended(frame, state: &state) { link.toClient(frame) }
        case PostgresMessageType.errorResponse:
            if let frame = results.failed(frame, state: &state) { link.toClient(frame) }
        case PostgresMessageType.noticeResponse:
            link.toClient(masker.mask(message: frame))
        case PostgresMessageType.parameterStatus:
            try parameterStatus(frame)
        case PostgresMessageType.notification where masker.scansValues:
            // pg_notify's payload is any text a query chooses: scanned as a value is.
            link.toClient(try masker.mask(notification: frame))
        case PostgresMessageType.readyForQuery:
            var status = frame.payload
            let byte = status.readInteger(as: UInt8.self) ?? UInt8(ascii: "I")
            let (before, after) = state.readyForQueryArrived(status: byte)
            // Masked outside any result (a notice or notification on its own).
            _ = masker.close(command: nil)
            // The idle clock starts when the server is ready for the client's next statement.
            idle.touch()
            before.forEach(link.toClient)
            link.toClient(frame)
            after.forEach(link.toClient)
        case PostgresMessageType.copyData where masker.scansValues:
            link.toClient(masker.mask(copyData: frame))
        default:
            link.toClient(frame)
        }
    }

    private func stopOversizedResult(limit: Int) {
        let message = "access gateway: the result exceeds limits.max_rows (\(limit)); the query was cancelled"
        recorder?.record(RecordingEvent(type: .error, error: message))
        audit.enqueue(.block, identity: identity, connection: connection.name, session: session.sessionID, rule: "limits.max_rows", detail: message)
        link.toClient(BackendMessages.error("54000", message))
        link.flushClient()
        session.cancelRunningQuery()
    }

    /// A setting the server reports changed: masked, or, where it leaves a guarded session
    /// uninspectable (`StatementGate.integrityRefusal`), the end of the session.
    private func parameterStatus(_ frame: PostgresFrame) throws(PostgresProtocolError) {
        let (name, value) = try BackendMessages.parseParameterStatus(frame)
        guard let reason = statements.integrityRefusal(reported: name, value: value) else {
            return link.toClient(masker.mask(parameterStatus: frame, name: name, value: value))
        }
        let message = "access gateway: the session was ended: \(reason)"
        recorder?.record(RecordingEvent(type: .error, decision: "block", rule: "session-integrity", error: message))
        link.toClient(BackendMessages.error("42501", message, severity: "FATAL"))
        link.flushClient()
        client.close(promise: nil)
        link.closeUpstream()
    }
}
