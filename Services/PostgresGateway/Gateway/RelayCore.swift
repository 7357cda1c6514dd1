import Foundation
import GatewayAdmin
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewaySession
import GatewayRecording
import GatewayRuntime
import GatewayState
import Logging
import NIOCore
import PostgresWire

/// A session's relay after start-up, confined to the event loop both channels share: every
/// frame is decided, masked and recorded synchronously, without a task hop; only a statement
/// held for review leaves the loop (and the client side stops reading meanwhile).
///
/// `@unchecked Sendable` because it is handed to the review task and back; every mutable
/// field is touched on `eventLoop` only (checked in debug builds).
final class RelayCore: @unchecked Sendable {
    let session: PostgresSession
    let identity: Identity
    let connection: ConnectionConfiguration
    let upstream: PostgresUpstream
    let cancelKey: (Int32, Int32)
    let applicationName: String?
    let masking: MaskingEngine
    /// Masked column names as keys inside JSON values (`json_agg(t)`, `row_to_json(c)`).
    let jsonFields: JSONFieldMasker
    let recorder: SessionRecorder?
    let client: any Channel
    let upstreamChannel: any Channel
    let eventLoop: any EventLoop
    let closed: EventLoopPromise<Void>
    /// The environment's parts the hot path uses, held directly (the environment is a large
    /// struct; reaching through it per frame cost reference counting on every field).
    private let metrics: GatewayMetrics
    private let audit: AuditTrail
    private let policy: PolicyEngine
    /// `gateway_decisions_total{decision="allow"}` of this connection: counted for almost every statement.
    /// Where each statement's decision becomes its metric, recording line and audit event.
    private lazy var checkpoint = Checkpoint(
        environment: environment, identity: identity, connection: connection.name, sessionID: session.sessionID,
        recorder: recorder, eventType: "query"
    )

    private var state = RelayState()
    private var lineageCache: [String: MaskLineage.Outputs] = [:]
    /// Cursors and prepared statements of the session, for the lineage of FETCH and EXECUTE.
    private var maskDefinitions = MaskLineage.Definitions()
    /// Masked column names, and view columns computed from them, for the lineage.
    private lazy var maskedColumnNames = Set(connection.masking.columns).union(maskedSources.taintedNames)
    /// What the session has PREPAREd, so an EXECUTE is decided as what it runs.
    private var sqlSession = SQLSession()
    private lazy var connectionPolicy = connection.policy
    /// The first rows of the result in flight, as the client received them (masked), for the recording.
    private var sample = ResultSample()
    private var maskPlan: MaskPlan
    /// The table columns masked by name, for masking them under an alias too.
    private let maskedSources: MaskedColumnSources
    /// What masking hid since the last result or error ended: audited as a `mask` decision
    /// and recorded with that result or error.
    private var maskHits = MaskingHits()
    /// The values of the DataRow being relayed (see `handleUpstreamFrame`).
    private var rowValues: [ByteBuffer?] = []
    /// The last RowDescription's payload and its parsed columns.
    private var lastRowDescription: (payload: ByteBuffer, columns: [ResultColumn])?
    private var holding = false
    private var queuedClientFrames: [PostgresFrame] = []
    private var clientOpen = true
    private var upstreamOpen = true
    private var clientPending = false
    /// The client sent Terminate: the upstream closing next is expected, not an error.
    private var clientTerminated = false
    private var upstreamPending = false
    /// When the client last sent anything or the server last became ready, for `limits.idle_timeout`.
    private var lastClientActivity = NIODeadline.now()
    /// Whether `limits.idle_timeout` is set: only then is the clock read on every message.
    private let tracksIdleness: Bool
    private var idleCheck: RepeatedTask?
    /// Bytes relayed since they were last added to `gateway_bytes_relayed_total`: the counters
    /// are shared by every session on every event loop, so they are updated once a second
    /// (and at the end) rather than for every read.
    private var unreportedUpstreamBytes = 0
    private var unreportedDownstreamBytes = 0
    private var bytesReport: RepeatedTask?
    /// The channels' frame writers, written to directly (set on the event loop when the relay starts).
    private var clientWriter: PostgresFrameWriter?
    private var upstreamWriter: PostgresFrameWriter?

    enum Held {
        case simpleQuery(PostgresFrame, String)
        case parse(PostgresFrame, FrontendMessages.Parse)
    }

    init(
        session: PostgresSession, identity: Identity, connection: ConnectionConfiguration, upstream: PostgresUpstream,
        cancelKey: (Int32, Int32), applicationName: String?, maskedSources: MaskedColumnSources, recorder: SessionRecorder?,
        client: any Channel, upstreamChannel: any Channel
    ) {
        self.session = session
        self.identity = identity
        self.connection = connection
        self.upstream = upstream
        self.cancelKey = cancelKey
        self.applicationName = applicationName
        self.masking = MaskingEngine(policy: connection.masking)
        self.jsonFields = JSONFieldMasker(keys: connection.masking.columns)
        self.maskPlan = MaskPlan(columns: nil, policy: connection.masking, sources: maskedSources)
        self.maskedSources = maskedSources
        self.recorder = recorder
        self.client = client
        self.upstreamChannel = upstreamChannel
        self.eventLoop = client.eventLoop
        self.closed = client.eventLoop.makePromise()
        self.metrics = session.environment.metrics
        self.audit = session.environment.audit
        self.policy = session.environment.policy
        self.tracksIdleness = (connection.limits.idleTimeout ?? 0) > 0
    }

    var environment: GatewayEnvironment { session.environment }
    var service: String { environment.service.serviceName }

    // MARK: - Writing

    /// Takes over both channels' frame writers; called on the event loop as the relay starts.
    func attachWriters() throws {
        eventLoop.preconditionInEventLoop()
        clientWriter = try client.pipeline.syncOperations.handler(type: PostgresFrameWriter.self)
        upstreamWriter = try upstreamChannel.pipeline.syncOperations.handler(type: PostgresFrameWriter.self)
    }

    private func toUpstream(_ frame: PostgresFrame) {
        if let upstreamWriter { upstreamWriter.enqueue(frame) } else { upstreamChannel.write(frame, promise: nil) }
        upstreamPending = true
    }

    private func toClient(_ frame: PostgresFrame) {
        if let clientWriter { clientWriter.enqueue(frame) } else { client.write(frame, promise: nil) }
        clientPending = true
    }

    func flushUpstream() {
        if upstreamPending {
            upstreamPending = false
            if let upstreamWriter { upstreamWriter.flushNow() } else { upstreamChannel.flush() }
        }
    }

    func flushClient() {
        if clientPending {
            clientPending = false
            if let clientWriter { clientWriter.flushNow() } else { client.flush() }
        }
    }

    // MARK: - Back-pressure and closing

    func clientWritabilityChanged(_ writable: Bool) {
        upstreamChannel.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
        if writable { upstreamChannel.read() }
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        guard !holding else { return }
        client.setOption(ChannelOptions.autoRead, value: writable).whenComplete { _ in }
        if writable { client.read() }
    }

    /// Starts the once-a-second report of relayed bytes to the metrics.
    func startBytesReport() {
        eventLoop.preconditionInEventLoop()
        bytesReport = eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            self?.reportBytes()
        }
    }

    private func reportBytes() {
        metrics.bytesRelayed(unreportedUpstreamBytes, direction: "upstream")
        metrics.bytesRelayed(unreportedDownstreamBytes, direction: "downstream")
        unreportedUpstreamBytes = 0
        unreportedDownstreamBytes = 0
    }

    /// `limits.idle_timeout`: a session waiting for the client's next statement (nothing in
    /// flight, nothing held for review) that long is ended with 57P05, as PostgreSQL's
    /// idle_session_timeout does.
    func startIdleTimer() {
        eventLoop.preconditionInEventLoop()
        guard let seconds = connection.limits.idleTimeout, seconds > 0 else { return }
        let timeout = TimeAmount.milliseconds(Int64(seconds * 1000))
        let interval = TimeAmount.milliseconds(max(100, min(30_000, Int64(seconds * 250))))
        idleCheck = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self else { return task.cancel() }
            guard self.clientOpen else { return task.cancel() }
            guard self.state.isIdle, !self.holding, NIODeadline.now() - self.lastClientActivity >= timeout else { return }
            task.cancel()
            let message = "access gateway: terminating connection due to idle-session timeout (limits.idle_timeout \(Self.describe(seconds)))"
            self.recorder?.record(RecordingEvent(type: "error", error: message))
            self.audit.enqueue(.idleTimeout, identity: self.identity, connection: self.connection.name, session: self.session.sessionID, detail: message)
            self.client.writeAndFlush(BackendMessages.error("57P05", message, severity: "FATAL")).whenComplete { [client = self.client] _ in
                client.close(promise: nil)
            }
        }
    }

    static func describe(_ seconds: Double) -> String {
        seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60))m" : "\(seconds.formatted())s"
    }

    func sideClosed(client isClient: Bool) {
        eventLoop.preconditionInEventLoop()
        if isClient { idleCheck?.cancel() }
        if isClient {
            clientOpen = false
            upstreamChannel.close(promise: nil)
        } else {
            upstreamOpen = false
            if clientOpen && !clientTerminated {
                recorder?.record(RecordingEvent(type: "error", error: "the upstream database closed the connection"))
                client.writeAndFlush(BackendMessages.error("08006", "access gateway: the upstream database closed the connection", severity: "FATAL")).whenComplete { [client] _ in
                    client.close(promise: nil)
                }
            }
        }
        if !clientOpen && !upstreamOpen {
            bytesReport?.cancel()
            reportBytes()
            closed.succeed()
        }
    }

    func clientError(_ error: any Error) {
        if let protocolError = error as? PostgresProtocolError {
            client.writeAndFlush(BackendMessages.error("08P01", "access gateway: \(protocolError.description)", severity: "FATAL")).whenComplete { [client] _ in
                client.close(promise: nil)
            }
        } else {
            client.close(promise: nil)
        }
    }

    func upstreamError(_ error: any Error) {
        session.logger.debug("upstream error", metadata: ["gateway.error": "\(error)"])
        upstreamChannel.close(promise: nil)
    }

    // MARK: - Client → upstream

    func clientRead(_ batch: [PostgresFrame]) {
        eventLoop.assertInEventLoop()
        if tracksIdleness { lastClientActivity = .now() }
        if holding {
            queuedClientFrames += batch
            return
        }
        for frame in batch { unreportedUpstreamBytes += frame.payload.readableBytes + 5 }
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
                    startHold(held)
                    return
                }
            } catch {
                clientError(error)
                return
            }
        }
        flushUpstream()
    }

    /// Handles one client frame; returns what to hold when a statement needs review.
    private func handleClientFrame(_ frame: PostgresFrame) throws -> (Held, ApprovalRule)? {
        switch frame.type {
        case PostgresMessageType.query:
            // Skipped until Sync after a refused Parse, as the server skips it after an error.
            if state.discardingUntilSync { return nil }
            let query = try FrontendMessages.parseQuery(frame)
            switch decide(query) {
            case .forward: forwardQuery(frame, query)
            case .refuse(let refusal): refuseSimpleQuery(refusal)
            case .hold(let rule): return (.simpleQuery(frame, query), rule)
            }
        case PostgresMessageType.parse:
            if state.discardingUntilSync { return nil }
            let parse = try FrontendMessages.parseParse(frame)
            switch decide(parse.query) {
            case .forward: forwardParse(frame, parse)
            case .refuse(let refusal): refuseParse(refusal)
            case .hold(let rule): return (.parse(frame, parse), rule)
            }
        case PostgresMessageType.bind:
            if state.discardingUntilSync { return nil }
            let bind = try FrontendMessages.parseBind(frame)
            state.tracker.bind(portal: bind.portal, statement: bind.statement, resultFormats: bind.resultFormats)
            state.bound(portal: bind.portal, statement: bind.statement)
            toUpstream(frame)
        case PostgresMessageType.describe:
            if state.discardingUntilSync { return nil }
            let target = try FrontendMessages.parseTarget(frame)
            state.tracker.describe(kind: target.kind, name: target.name)
            toUpstream(frame)
        case PostgresMessageType.execute:
            if state.discardingUntilSync { return nil }
            let portal = try FrontendMessages.parseExecute(frame)
            let command = state.executed(portal: portal)
            state.tracker.execute(portal: portal, statement: RunningStatement(command: command, start: .now))
            toUpstream(frame)
        case PostgresMessageType.sync:
            state.tracker.sync()
            state.syncsSent += 1
            if state.discardingUntilSync, let refusal = state.pendingRefusal {
                state.injections.append(.init(target: state.syncsSent, beforeReady: true, frames: [refusal], appendReady: false, suppressIfError: true))
            }
            state.discardingUntilSync = false
            state.pendingRefusal = nil
            toUpstream(frame)
        case PostgresMessageType.close:
            if state.discardingUntilSync { return nil }
            let target = try FrontendMessages.parseTarget(frame)
            state.closed(kind: target.kind, name: target.name)
            toUpstream(frame)
        case PostgresMessageType.flush:
            if state.discardingUntilSync { return nil }
            toUpstream(frame)
        case PostgresMessageType.functionCall:
            if state.discardingUntilSync { return nil }
            let call = try FrontendMessages.parseFunctionCall(frame)
            guard let sql = FastPathFunction.sql(for: call) else {
                refuseFunctionCall(command: "fast-path function call (OID \(call.function))", rule: "fast-path", message: FastPathFunction.refusal(for: call))
                return nil
            }
            switch decide(sql) {
            case .forward:
                // Answered with ReadyForQuery, as a simple query is.
                state.tracker.functionCall(RunningStatement(command: sql, start: .now))
                state.syncsSent += 1
                toUpstream(frame)
            case .refuse(let refusal):
                refuseSimpleQuery(refusal)
            case .hold(let rule):
                // A review holds SQL statements; a large-object call that needs one is refused.
                refuseFunctionCall(command: sql, rule: rule.name, message: "\(sql) needs review (rule \"\(rule.name)\"); run it as SQL to request one")
            }
        case PostgresMessageType.terminate:
            clientTerminated = true
            toUpstream(frame)
        default:
            toUpstream(frame)
        }
        return nil
    }

    private func forwardQuery(_ frame: PostgresFrame, _ query: String) {
        noteDefinitions(query)
        let start = ContinuousClock.now
        if let statements = Self.statements(of: query) {
            state.tracker.simpleQuery(RunningStatement(command: statements[0], start: start), then: statements.dropFirst())
        } else {
            state.tracker.simpleQuery(RunningStatement(command: query, start: start))
        }
        state.syncsSent += 1
        toUpstream(frame)
    }

    /// The statements of a simple query string that holds more than one, so each result is
    /// recorded with its own; nil for one statement. Only a string with something after a `;`
    /// is split (a lone statement, with or without its `;`, is not lexed).
    static func statements(of query: String) -> [String]? {
        var afterSemicolon = false
        for byte in query.utf8 {
            if byte == UInt8(ascii: ";") {
                afterSemicolon = true
            } else if afterSemicolon, byte != 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D {
                let texts = SQLSplitter.split(query).map(\.text)
                return texts.count > 1 ? texts : nil
            }
        }
        return nil
    }

    private func forwardParse(_ frame: PostgresFrame, _ parse: FrontendMessages.Parse) {
        noteDefinitions(parse.query)
        state.tracker.parse(statement: parse.statement)
        state.parsed(statement: parse.statement, text: parse.query)
        toUpstream(frame)
    }

    private func refuseParse(_ refusal: PostgresFrame) {
        state.discardingUntilSync = true
        state.pendingRefusal = refusal
    }

    /// A refused fast-path call, recorded and audited as a blocked statement, answered as the
    /// server answers a failed call: ErrorResponse and ReadyForQuery.
    private func refuseFunctionCall(command: String, rule: String, message: String) {
        _ = checkpoint.pass(.block(rule: rule, message: message, statement: command), command: command)
        refuseSimpleQuery(BackendMessages.error("42501", "access gateway: \(message)", hint: "the call was not sent to the database; the session is still usable"))
    }

    /// A blocked simple query: ErrorResponse and ReadyForQuery, in order with anything in flight.
    private func refuseSimpleQuery(_ refusal: PostgresFrame) {
        if state.isIdle {
            toClient(refusal)
            toClient(BackendMessages.readyForQuery(state.transactionStatus))
            flushClient()
        } else {
            state.injections.append(.init(target: state.syncsSent, beforeReady: false, frames: [refusal], appendReady: true, suppressIfError: false))
        }
    }

    enum Verdict {
        case forward
        case refuse(PostgresFrame)
        case hold(ApprovalRule)
    }

    private func decide(_ query: String) -> Verdict {
        var decision = policy.decide(.sql(query), by: identity, on: connectionPolicy, session: &sqlSession)
        if case .allow = decision, let refusal = maskingRefusal(query) {
            decision = .block(rule: "masking", message: refusal, statement: query)
        }
        switch checkpoint.pass(decision, command: query) {
        case .forward:
            return .forward
        case .refuse(_, let message, denied: true):
            return .refuse(BackendMessages.error("42501", "access gateway: \(message)"))
        case .refuse(_, let message, denied: false):
            return .refuse(BackendMessages.error("42501", "access gateway: \(message)", hint: "the statement was not sent to the database; the session is still usable"))
        case .hold(let rule):
            return .hold(rule)
        }
    }

    static let copyWord = Array("copy".utf8)
    static let fetchWord = Array("fetch".utf8)
    static let executeWord = Array("execute".utf8)
    static let declareWord = Array("declare".utf8)
    static let prepareWord = Array("prepare".utf8)

    /// On a connection with column masking, the cursors and prepared statements a statement
    /// sent upstream defines (their later FETCH or EXECUTE is masked by their outputs).
    private func noteDefinitions(_ query: String) {
        guard !connection.masking.columns.isEmpty,
              ASCIISearch.contains(Self.declareWord, in: query) || ASCIISearch.contains(Self.prepareWord, in: query) else { return }
        MaskLineage.define(query, maskedColumns: maskedColumnNames, into: &maskDefinitions)
    }

    static let loreadWord = Array("loread".utf8)
    static let uescapeWord = Array("uescape".utf8)

    /// Whether `query` may call lo_get or loread (or spells a name with escapes); a scan of
    /// the bytes, no copy.
    static func mayReadLargeObjects(_ query: String) -> Bool {
        var text = query
        return text.withUTF8 { bytes in
            if bytes.contains(UInt8(ascii: "\\")) || ASCIISearch.contains(loreadWord, in: bytes) || ASCIISearch.contains(uescapeWord, in: bytes) { return true }
            // lo_get: ASCIISearch compares letters and digits only.
            var index = 0
            while index + 6 <= bytes.count {
                if bytes[index] | 0x20 == UInt8(ascii: "l"), bytes[index + 1] | 0x20 == UInt8(ascii: "o"), bytes[index + 2] == UInt8(ascii: "_"),
                   bytes[index + 3] | 0x20 == UInt8(ascii: "g"), bytes[index + 4] | 0x20 == UInt8(ascii: "e"), bytes[index + 5] | 0x20 == UInt8(ascii: "t") {
                    return true
                }
                index += 1
            }
            return false
        }
    }

    /// What a masked connection refuses that masking could not cover: COPY ... TO STDOUT
    /// with column masking (no column names in COPY data), and reading large objects (bytes
    /// no detector scans). Parsed once, and only when a cheap look finds either possible.
    private func maskingRefusal(_ query: String) -> String? {
        let copies = !connection.masking.columns.isEmpty && ASCIISearch.contains(Self.copyWord, in: query)
        let reads = masking.scansValues && Self.mayReadLargeObjects(query)
        guard copies || reads else { return nil }
        let findings = SQLAnalyzer.analyze(query).reduce(into: SQLFindings()) { $0.formUnion($1.findings) }
        if copies, findings.copiesToClient { return "COPY ... TO STDOUT is refused on a connection with column masking; use SELECT" }
        if reads, findings.readsLargeObjects {
            return "reading large objects (lo_get, loread, psql's \\lo_export) is refused on a connection with masking: their contents are not scanned"
        }
        return nil
    }

    // MARK: - Approvals

    private func startHold(_ held: (Held, ApprovalRule)) {
        flushUpstream()
        holding = true
        client.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let query: String
        switch held.0 {
        case .simpleQuery(_, let text): query = text
        case .parse(_, let parse): query = parse.query
        }
        Task {
            let refusal = await self.waitForReview(query, rule: held.1)
            self.eventLoop.execute { self.resume(held.0, refusal: refusal) }
        }
    }

    private func resume(_ held: Held, refusal: PostgresFrame?) {
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
        if !holding {
            client.setOption(ChannelOptions.autoRead, value: upstreamChannel.isWritable).whenComplete { _ in }
            client.read()
        }
    }

    /// Holds the statement through the shared approval gate; nil when it may run.
    private func waitForReview(_ query: String, rule: ApprovalRule) async -> PostgresFrame? {
        let gate = ApprovalGate(
            environment: environment, identity: identity, connection: connection.name, sessionID: session.sessionID,
            clientAddress: session.clientAddress, eventType: "query", noun: "statement"
        )
        let justification = SQLSplitter.split(query).compactMap(\.reason).first ?? applicationName.flatMap { $0.isEmpty ? nil : "application_name: \($0)" }
        let outcome = await gate.hold(
            query, rule: rule, justification: justification, recorder: recorder,
            tell: { [client] review in
                try? await client.writeAndFlush(BackendMessages.notice(gate.pendingMessage(review, rule: rule), detail: "approve with: gatewayctl reviews approve \(review.id)")).get()
            },
            isClientConnected: { [client] in client.isActive }
        )
        switch outcome {
        case .proceed: return nil
        case .refused(let message): return BackendMessages.error("42501", message)
        }
    }

    // MARK: - Upstream → client

    func upstreamRead(_ batch: [PostgresFrame]) {
        eventLoop.assertInEventLoop()
        for index in batch.indices {
            unreportedDownstreamBytes += batch[index].payload.readableBytes + 5
            do {
                try handleUpstreamFrame(batch[index])
            } catch {
                session.logger.debug("malformed message from the upstream", metadata: ["gateway.error": "\(error)"])
                toClient(BackendMessages.error("08P01", "access gateway: malformed message from the upstream database", severity: "FATAL"))
                flushClient()
                client.close(promise: nil)
                return
            }
        }
    }

    private func handleUpstreamFrame(_ frame: PostgresFrame) throws {
        switch frame.type {
        case PostgresMessageType.rowDescription:
            state.tracker.rowDescription(try describedColumns(frame))
            toClient(frame)
        case PostgresMessageType.dataRow:
            state.rowsInResult += 1
            if state.discardingRows { return }
            if let maxRows = connection.limits.maxRows, state.rowsInResult > maxRows {
                state.discardingRows = true
                stopOversizedResult(limit: maxRows)
                return
            }
            let columns = state.tracker.columnsForDataRow()
            // The row's values go into one array kept for every row, emptied after each (so the
            // slices do not pin the receive buffer).
            defer { rowValues.removeAll(keepingCapacity: true) }
            if masking.policy.isEmpty {
                if recorder != nil, sample.wantsMore, (try? RowMessages.parseDataRow(frame, into: &rowValues)) != nil { sample.add(rowValues, columns: columns) }
                toClient(frame)
            } else {
                // Lineage only decides computed columns (a column the server names a table
                // column of origin is masked, or not, by that column): a plan without them
                // serves every statement with the same columns.
                if maskPlan.columns != columns || (maskPlan.tracesLineage && maskPlan.command != state.tracker.runningCommand) {
                    let command = state.tracker.runningCommand
                    var computed = true
                    if let known = columns { computed = known.contains { column in column.tableOID == 0 } }
                    let traced = computed && !connection.masking.columns.isEmpty
                    maskPlan = MaskPlan(
                        columns: columns, policy: connection.masking, sources: maskedSources,
                        command: traced ? command : nil, lineage: traced ? lineage(of: command) : .none
                    )
                }
                try RowMessages.parseDataRow(frame, into: &rowValues)
                let changed = mask(&rowValues, plan: maskPlan)
                if recorder != nil, sample.wantsMore { sample.add(rowValues, columns: columns) }
                toClient(changed ? RowMessages.dataRow(rowValues) : frame)
            }
        case PostgresMessageType.commandComplete, PostgresMessageType.emptyQuery, PostgresMessageType.portalSuspended:
            let now = ContinuousClock.now
            let started = state.tracker.resultEnded(at: now)
            state.rowsInResult = 0
            if state.discardingRows { return }
            let masked = auditMasking(command: started?.command)
            if frame.type == PostgresMessageType.commandComplete {
                let tag = RowMessages.commandTag(frame) ?? ""
                sample.finish { columns, rows in
                    recorder?.record(RecordingEvent(
                        type: "result", command: started?.command, rows: RowMessages.rowCount(fromTag: tag),
                        durationMS: started.map { Self.milliseconds(from: $0.start, to: now) }, masked: masked, columns: columns, detail: tag,
                        encodedValues: rows
                    ))
                }
            } else {
                sample.finish { _, _ in }
            }
            toClient(frame)
        case PostgresMessageType.errorResponse:
            let started = state.tracker.error()
            state.errorInBatch = true
            if state.discardingRows { return }
            let masked = maskMessage(frame, fields: BackendMessages.parseFields(frame))
            let fields = BackendMessages.parseFields(masked)
            recorder?.record(RecordingEvent(
                type: "error", command: started?.command, durationMS: started.map { Self.milliseconds(from: $0.start, to: .now) },
                error: "\(fields["C"] ?? ""): \(fields["M"] ?? "")", masked: auditMasking(command: started?.command)
            ))
            toClient(masked)
        case PostgresMessageType.noticeResponse:
            toClient(maskMessage(frame, fields: BackendMessages.parseFields(frame)))
        case PostgresMessageType.parameterStatus:
            try parameterStatus(frame)
        case PostgresMessageType.notification where masking.scansValues:
            // pg_notify's payload is any text a query chooses: scanned as a value is.
            toClient(try maskNotification(frame))
        case PostgresMessageType.readyForQuery:
            var status = frame.payload
            let byte = status.readInteger(as: UInt8.self) ?? UInt8(ascii: "I")
            let (before, after) = state.readyForQueryArrived(status: byte)
            // Masked outside any result (a notice or notification on its own).
            _ = auditMasking(command: nil)
            // The idle clock starts when the server is ready for the client's next statement.
            if tracksIdleness { lastClientActivity = .now() }
            before.forEach(toClient)
            toClient(frame)
            after.forEach(toClient)
        case PostgresMessageType.copyData where masking.scansValues:
            var hits = MaskingHits()
            if let masked = Self.withBytes(of: frame.payload, { masking.mask($0, hits: &hits) }) {
                countMasked(hits)
                toClient(PostgresFrame(type: frame.type, payload: ByteBuffer(bytes: masked)))
            } else {
                toClient(frame)
            }
        default:
            toClient(frame)
        }
    }

    /// A RowDescription's columns, parsed once while the session repeats the same one (a
    /// client running one query again and again): the same array then also keeps the mask
    /// plan without comparing column by column.
    private func describedColumns(_ frame: PostgresFrame) throws -> [ResultColumn] {
        if let last = lastRowDescription, last.payload == frame.payload { return last.columns }
        let columns = try RowMessages.parseRowDescription(frame)
        // A copy: a slice would pin the channel's whole receive buffer.
        lastRowDescription = (ByteBuffer(buffer: frame.payload), columns)
        return columns
    }

    private func stopOversizedResult(limit: Int) {
        let message = "access gateway: the result exceeds limits.max_rows (\(limit)); the query was cancelled"
        recorder?.record(RecordingEvent(type: "error", error: message))
        audit.enqueue(.block, identity: identity, connection: connection.name, session: session.sessionID, rule: "limits.max_rows", detail: message)
        toClient(BackendMessages.error("54000", message))
        flushClient()
        let (host, port, key) = (upstream.host, upstream.port, cancelKey)
        Task { await UpstreamConnection.cancel(host: host, port: port, processID: key.0, secretKey: key.1) }
    }

    /// The lineage of a statement's outputs on a connection with column masking (cached by
    /// statement text: a session repeats its statements).
    private func lineage(of command: String?) -> MaskLineage.Outputs {
        guard !connection.masking.columns.isEmpty else { return .none }
        guard let command else { return .unknown }
        if let known = lineageCache[command] { return known }
        let outputs = MaskLineage.outputs(of: command, maskedColumns: maskedColumnNames, definitions: maskDefinitions)
        // FETCH and EXECUTE depend on what was defined under their name: not cached.
        if ASCIISearch.contains(Self.fetchWord, in: command) || ASCIISearch.contains(Self.executeWord, in: command) { return outputs }
        if lineageCache.count >= 256 { lineageCache.removeAll(keepingCapacity: true) }
        lineageCache[command] = outputs
        return outputs
    }

    /// A buffer's readable bytes as one contiguous buffer (copied only when they are not).
    static func withBytes<Result>(of buffer: ByteBuffer, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
        let view = buffer.readableBytesView
        return view.withContiguousStorageIfAvailable(body) ?? Array(view).withUnsafeBufferPointer(body)
    }

    /// Masks a row's values in place; true when any changed.
    private func mask(_ values: inout [ByteBuffer?], plan: MaskPlan) -> Bool {
        var changed = false
        var hits = MaskingHits()
        for index in values.indices {
            guard let value = values[index] else { continue }
            let action = plan.action(for: index)
            switch action {
            case .keep:
                continue
            case .wholeText:
                values[index] = ByteBuffer(string: MaskingPolicy.columnPlaceholder)
                hits.record("COLUMN")
                changed = true
            case .wholeBinary:
                values[index] = nil
                hits.record("COLUMN")
                changed = true
            case .scan, .scanInPlace:
                let inPlace = action == .scanInPlace
                let masked = Self.withBytes(of: value) { inPlace ? masking.maskPreservingLength($0, hits: &hits) : scan($0, hits: &hits) }
                if let masked {
                    values[index] = ByteBuffer(bytes: masked)
                    changed = true
                }
            }
        }
        if changed { countMasked(hits) }
        return changed
    }

    /// A value scanned for masked columns as JSON keys, then by the detectors (over what the
    /// first pass left); nil when neither changed anything.
    private func scan(_ value: UnsafeBufferPointer<UInt8>, hits: inout MaskingHits) -> [UInt8]? {
        guard let fields = jsonFields.mask(value, hits: &hits) else { return masking.mask(value, hits: &hits) }
        return masking.mask(fields, hits: &hits) ?? fields
    }

    /// Counts what one value or message had masked: in the metrics now, in the audit and the
    /// recording when its result or error ends (`auditMasking`).
    private func countMasked(_ hits: MaskingHits) {
        metrics.maskingHits(hits.counts, connection: connection.name)
        maskHits.merge(hits)
    }

    /// The `mask` decision for what was masked since the last result or error ended, audited
    /// with the statement (if any) and the counts by kind; the counts, for the recording.
    private func auditMasking(command: String?) -> [String: Int]? {
        guard !maskHits.isEmpty else { return nil }
        let counts = maskHits.counts
        audit.enqueue(.mask, identity: identity, connection: connection.name, session: session.sessionID, command: command, detail: maskHits.summary)
        maskHits = MaskingHits()
        return counts
    }

    /// The fields of an ErrorResponse or NoticeResponse that carry free text and so may quote
    /// values: message, detail, hint, context and internal query.
    /// Every field but severity and SQLSTATE: a RAISE can put a value in any of them
    /// (message, detail, hint, context, internal query, schema, table, column, data type,
    /// constraint names, file, routine).
    static let textFields: [Character] = ["M", "D", "H", "W", "q", "s", "t", "c", "d", "n", "F", "R", "P", "p", "L"]

    /// Masks the free-text fields of an ErrorResponse or NoticeResponse.
    private func maskMessage(_ frame: PostgresFrame, fields: [Character: String]) -> PostgresFrame {
        guard masking.scansValues else { return frame }
        var masked = fields
        var hits = MaskingHits()
        for key in Self.textFields {
            guard let value = fields[key] else { continue }
            let text = masking.mask(value, hits: &hits)
            if text != value { masked[key] = text }
        }
        guard !hits.isEmpty else { return frame }
        countMasked(hits)
        var payload = ByteBuffer()
        for (key, value) in masked.sorted(by: { $0.key < $1.key }) {
            payload.writeInteger(key.asciiValue ?? UInt8(ascii: "M"))
            payload.writeString(value)
            payload.writeInteger(UInt8(0))
        }
        payload.writeInteger(UInt8(0))
        return PostgresFrame(type: frame.type, payload: payload)
    }

    /// A setting the server reports changed. On a guarded connection, one that leaves the
    /// session unparseable for the gateway (`standard_conforming_strings` off, an encoding
    /// whose characters hold a backslash byte: set by a function, a pg_settings UPDATE, a
    /// role default) ends the session: nothing after it could be inspected. A reported value
    /// is a value a query chose (`SET application_name = email`): scanned like one.
    private func parameterStatus(_ frame: PostgresFrame) throws(PostgresProtocolError) {
        let (name, value) = try BackendMessages.parseParameterStatus(frame)
        if connectionPolicy.isGuarded, let reason = SessionSettings.refusal(reported: name, value: value) {
            let message = "access gateway: the session was ended: \(reason)"
            metrics.decision("block", connection: connection.name)
            recorder?.record(RecordingEvent(type: "error", decision: "block", rule: "session-integrity", error: message))
            audit.enqueue(.block, identity: identity, connection: connection.name, session: session.sessionID, command: "\(name) = \(value)", rule: "session-integrity", detail: reason)
            toClient(BackendMessages.error("42501", message, severity: "FATAL"))
            flushClient()
            client.close(promise: nil)
            upstreamChannel.close(promise: nil)
            return
        }
        guard masking.scansValues else {
            toClient(frame)
            return
        }
        var hits = MaskingHits()
        let masked = masking.mask(value, hits: &hits)
        guard !hits.isEmpty else {
            toClient(frame)
            return
        }
        countMasked(hits)
        toClient(BackendMessages.parameterStatus(name, masked))
    }

    /// Masks a NotificationResponse's payload (process ID and channel stay).
    private func maskNotification(_ frame: PostgresFrame) throws(PostgresProtocolError) -> PostgresFrame {
        var notification = try BackendMessages.parseNotification(frame)
        var hits = MaskingHits()
        let masked = masking.mask(notification.payload, hits: &hits)
        // The channel is a name the query chose (NOTIFY "jane@example.com"): scanned too.
        let channel = masking.mask(notification.channel, hits: &hits)
        guard !hits.isEmpty else { return frame }
        countMasked(hits)
        notification.payload = masked
        notification.channel = channel
        return BackendMessages.notification(notification)
    }

    static func milliseconds(from start: ContinuousClock.Instant, to end: ContinuousClock.Instant) -> Double {
        let elapsed = end - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
