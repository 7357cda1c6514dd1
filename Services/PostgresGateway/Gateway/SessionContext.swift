import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewayState
import Logging
import NIOCore
import PostgresWire

/// A session after start-up: relays both directions, deciding on every statement.
struct SessionContext: Sendable {
    typealias Iterator = FrameReader
    typealias Writer = NIOAsyncChannelOutboundWriter<PostgresFrame>

    let session: PostgresSession
    let identity: Identity
    let connection: ConnectionConfiguration
    let upstream: PostgresUpstream
    let cancelKey: (Int32, Int32)
    let applicationName: String?
    let masking: MaskingEngine

    init(session: PostgresSession, identity: Identity, connection: ConnectionConfiguration, upstream: PostgresUpstream, cancelKey: (Int32, Int32), applicationName: String?) {
        self.session = session
        self.identity = identity
        self.connection = connection
        self.upstream = upstream
        self.cancelKey = cancelKey
        self.applicationName = applicationName
        self.masking = MaskingEngine(policy: connection.masking)
    }

    var environment: GatewayEnvironment { session.environment }
    var service: String { environment.service.serviceName }

    /// Hands an inbound iterator to the one task that uses it from then on. NIO's iterators
    /// must not be shared across tasks; this moves one, which the compiler cannot prove here.
    final class IteratorHandOff: @unchecked Sendable {
        var iterator: Iterator
        init(_ iterator: Iterator) { self.iterator = iterator }
    }

    func relay(client: Iterator, clientOut: Writer, upstream: Iterator, upstreamOut: Writer) async {
        let upstreamHandOff = IteratorHandOff(upstream)
        let clientHandOff = IteratorHandOff(client)
        let recorder: SessionRecorder?
        if connection.record {
            recorder = try? SessionRecorder(
                directory: environment.configuration.recordings.directory,
                meta: RecordingMeta(
                    sessionID: session.sessionID, service: service, connection: connection.name,
                    identity: .init(sub: identity.subject, email: identity.email, groups: identity.groups),
                    clientAddress: session.clientAddress
                ),
                signer: environment.signer
            )
            if recorder == nil { session.logger.error("the session recording could not be started") }
        } else {
            recorder = nil
        }
        let record = SessionRecord(
            id: session.sessionID, service: service, connection: connection.name,
            user: Person(subject: identity.subject, email: identity.email, groups: identity.groups),
            clientAddress: session.clientAddress, instance: environment.instanceID, recordingPath: recorder?.folder
        )
        try? await environment.store.upsert(record)
        environment.sessions.add(.init(id: session.sessionID, connection: connection.name) { [session] _ in session.terminate() })
        environment.metrics.sessionStarted(connection: connection.name)
        await environment.audit.record("connect", identity: identity, connection: connection.name, session: session.sessionID, clientAddress: session.clientAddress)
        session.logger.info("session started", metadata: ["gateway.connection": "\(connection.name)", "gateway.user": "\(identity.subject)"])

        var endStatus = SessionStatus.ended
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await self.upstreamToClient(&upstreamHandOff.iterator, clientOut, recorder: recorder)
                self.session.terminate()
            }
            group.addTask {
                await self.clientToUpstream(&clientHandOff.iterator, clientOut, upstreamOut, recorder: recorder)
                self.session.terminate()
            }
        }

        if (try? await environment.store.session(id: session.sessionID))?.killRequested == true { endStatus = .killed }
        var ended = record
        ended.status = endStatus
        ended.endedAt = Date()
        try? await environment.store.upsert(ended)
        environment.sessions.remove(session.sessionID)
        environment.metrics.sessionEnded(connection: connection.name)
        do {
            try recorder?.finish(status: endStatus.rawValue)
        } catch {
            session.logger.error("the session recording could not be sealed", metadata: ["gateway.error": "\(error)"])
        }
        await environment.audit.record(endStatus == .killed ? "kill" : "disconnect", identity: identity, connection: connection.name, session: session.sessionID, clientAddress: session.clientAddress)
        session.logger.info("session ended")
    }

    // MARK: - Client → upstream

    private func clientToUpstream(_ iterator: inout Iterator, _ clientOut: Writer, _ upstreamOut: Writer, recorder: SessionRecorder?) async {
        var out: [PostgresFrame] = []
        func send() async throws {
            guard !out.isEmpty else { return }
            try await upstreamOut.write(contentsOf: out)
            out.removeAll(keepingCapacity: true)
        }
        do {
            while let batch = try await iterator.nextBatch() {
              environment.metrics.bytesRelayed(batch.reduce(0) { $0 + $1.payload.readableBytes + 5 }, direction: "upstream")
              for frame in batch {
                switch frame.type {
                case PostgresMessageType.query:
                    let query = try FrontendMessages.parseQuery(frame)
                    try await send()
                    if let refusal = await check(query, recorder: recorder, clientOut: clientOut) {
                        await refuseSimpleQuery(refusal, clientOut)
                        continue
                    }
                    session.state.withLock {
                        $0.tracker.simpleQuery()
                        $0.syncsSent += 1
                        $0.inFlight.append((query, .now))
                    }
                    out.append(frame)
                case PostgresMessageType.parse:
                    if session.state.withLock({ $0.discardingUntilSync }) { continue }
                    let parse = try FrontendMessages.parseParse(frame)
                    try await send()
                    if let refusal = await check(parse.query, recorder: recorder, clientOut: clientOut) {
                        session.state.withLock {
                            $0.discardingUntilSync = true
                            $0.pendingRefusal = refusal
                        }
                        continue
                    }
                    session.state.withLock { $0.tracker.parse(statement: parse.statement) }
                    out.append(frame)
                case PostgresMessageType.bind:
                    if session.state.withLock({ $0.discardingUntilSync }) { continue }
                    let bind = try FrontendMessages.parseBind(frame)
                    session.state.withLock { $0.tracker.bind(portal: bind.portal, statement: bind.statement, resultFormats: bind.resultFormats) }
                    out.append(frame)
                case PostgresMessageType.describe:
                    if session.state.withLock({ $0.discardingUntilSync }) { continue }
                    let target = try FrontendMessages.parseTarget(frame)
                    session.state.withLock { $0.tracker.describe(kind: target.kind, name: target.name) }
                    out.append(frame)
                case PostgresMessageType.execute:
                    if session.state.withLock({ $0.discardingUntilSync }) { continue }
                    let portal = try FrontendMessages.parseExecute(frame)
                    session.state.withLock {
                        $0.tracker.execute(portal: portal)
                        $0.inFlight.append(("execute \(portal.isEmpty ? "unnamed portal" : portal)", .now))
                    }
                    out.append(frame)
                case PostgresMessageType.sync:
                    session.state.withLock { state in
                        state.tracker.sync()
                        state.syncsSent += 1
                        if state.discardingUntilSync, let refusal = state.pendingRefusal {
                            state.injections.append(.init(target: state.syncsSent, beforeReady: true, frames: [refusal], appendReady: false, suppressIfError: true))
                        }
                        state.discardingUntilSync = false
                        state.pendingRefusal = nil
                    }
                    out.append(frame)
                case PostgresMessageType.close, PostgresMessageType.flush:
                    if session.state.withLock({ $0.discardingUntilSync }) { continue }
                    out.append(frame)
                case PostgresMessageType.terminate:
                    out.append(frame)
                    try? await send()
                    return
                default:
                    out.append(frame)
                }
              }
              try await send()
            }
        } catch {
            session.logger.debug("client side ended", metadata: ["gateway.error": "\(error)"])
            if let protocolError = error as? PostgresProtocolError {
                try? await clientOut.write(BackendMessages.error("08P01", "access gateway: \(protocolError.description)", severity: "FATAL"))
            }
        }
    }

    /// A blocked simple query: ErrorResponse and ReadyForQuery, in order with anything in flight.
    private func refuseSimpleQuery(_ refusal: PostgresFrame, _ clientOut: Writer) async {
        let direct: UInt8? = session.state.withLock { state in
            if state.isIdle { return state.transactionStatus }
            state.injections.append(.init(target: state.syncsSent, beforeReady: false, frames: [refusal], appendReady: true, suppressIfError: false))
            return nil
        }
        if let status = direct {
            try? await clientOut.write(contentsOf: [refusal, BackendMessages.readyForQuery(status)])
        }
    }

    /// Decides on a query string; returns the ErrorResponse to send instead when refused.
    private func check(_ query: String, recorder: SessionRecorder?, clientOut: Writer) async -> PostgresFrame? {
        let command = Command.sql(query)
        var decision = environment.policy.decide(command, by: identity, on: connection.policy)
        if case .allow = decision, !connection.masking.columns.isEmpty, Self.copiesOut(query) {
            decision = .block(rule: "masking", message: "COPY ... TO STDOUT is refused on a connection with column masking; use SELECT", statement: query)
        }
        environment.metrics.decision(decision.kind, connection: connection.name)
        switch decision {
        case .allow:
            recorder?.record(RecordingEvent(type: "query", command: query, decision: "allow"))
            environment.audit.enqueue("allow", identity: identity, connection: connection.name, session: session.sessionID, command: query)
            return nil
        case .deny(let reason):
            recorder?.record(RecordingEvent(type: "query", command: query, decision: "deny", detail: reason))
            await environment.audit.record("deny", identity: identity, connection: connection.name, session: session.sessionID, command: query, detail: reason)
            return BackendMessages.error("42501", "access gateway: \(reason)")
        case .block(let rule, let message, _):
            recorder?.record(RecordingEvent(type: "query", command: query, decision: "block", rule: rule, detail: message))
            await environment.audit.record("block", identity: identity, connection: connection.name, session: session.sessionID, command: query, rule: rule, detail: message)
            return BackendMessages.error("42501", "access gateway: \(message)", hint: "the statement was not sent to the database; the session is still usable")
        case .hold(let rule, _):
            return await hold(query, rule: rule, recorder: recorder, clientOut: clientOut)
        }
    }

    /// Holds a statement for review; nil when approved (the statement then runs).
    private func hold(_ query: String, rule: ApprovalRule, recorder: SessionRecorder?, clientOut: Writer) async -> PostgresFrame? {
        let justification = SQLSplitter.split(query).compactMap(\.reason).first ?? applicationName.flatMap { $0.isEmpty ? nil : "application_name: \($0)" }
        let now = Date()
        let review = Review(
            createdAt: now, expiresAt: now.addingTimeInterval(rule.timeout), service: service, connection: connection.name,
            sessionID: session.sessionID, command: query, rule: rule.name,
            requester: Person(subject: identity.subject, email: identity.email, groups: identity.groups),
            clientAddress: session.clientAddress, justification: justification, reviewerGroups: rule.reviewerGroups,
            minApprovals: rule.minApprovals, requireAllGroups: rule.requireAllGroups,
            grantWindow: { if case .window(let seconds) = rule.grant { return seconds } else { return nil } }()
        )
        do {
            try await environment.store.insert(review)
        } catch {
            return BackendMessages.error("42501", "access gateway: the statement needs approval (rule \"\(rule.name)\") and the review could not be stored")
        }
        recorder?.record(RecordingEvent(type: "query", command: query, decision: "hold", rule: rule.name, reviewID: review.id))
        await environment.audit.record("hold", identity: identity, connection: connection.name, session: session.sessionID, command: query, rule: rule.name, detail: "review \(review.id)")
        try? await clientOut.write(BackendMessages.notice(
            "access gateway: review \(review.id) is pending: the statement waits for approval by \(rule.reviewerGroups.joined(separator: ", ")) (rule \"\(rule.name)\")",
            detail: "approve with: gatewayctl reviews approve \(review.id)"
        ))

        let outcome = await ReviewWaiter(store: environment.store, isClientConnected: { [session] in session.client.channel.isActive }).wait(for: review)
        switch outcome.status {
        case .approved:
            recorder?.record(RecordingEvent(type: "review", decision: "approve", rule: rule.name, reviewID: review.id))
            return nil
        case .rejected:
            let comment = outcome.votes.last(where: { !$0.approved })?.comment
            recorder?.record(RecordingEvent(type: "review", decision: "reject", rule: rule.name, reviewID: review.id, detail: comment))
            return BackendMessages.error("42501", "access gateway: review \(review.id) was rejected" + (comment.map { ": \($0)" } ?? ""))
        case .expired:
            recorder?.record(RecordingEvent(type: "review", decision: "expire", rule: rule.name, reviewID: review.id))
            await environment.audit.record("expire", identity: identity, connection: connection.name, session: session.sessionID, command: query, rule: rule.name, detail: "review \(review.id)")
            return BackendMessages.error("42501", "access gateway: review \(review.id) timed out without a decision")
        case .cancelled, .pending:
            recorder?.record(RecordingEvent(type: "review", decision: "cancel", rule: rule.name, reviewID: review.id))
            await environment.audit.record("cancel", identity: identity, connection: connection.name, session: session.sessionID, command: query, rule: rule.name, detail: "review \(review.id): the client went away")
            return BackendMessages.error("42501", "access gateway: review \(review.id) was cancelled")
        }
    }

    static func copiesOut(_ query: String) -> Bool {
        SQLSplitter.split(query).contains { statement in
            let tokens = statement.tokens
            guard tokens.first?.isWord("copy") == true else { return false }
            return zip(tokens, tokens.dropFirst()).contains { $0.isWord("to") && $1.isWord("stdout") }
        }
    }

    // MARK: - Upstream → client

    private func upstreamToClient(_ iterator: inout Iterator, _ clientOut: Writer, recorder: SessionRecorder?) async {
        let maxRows = connection.limits.maxRows
        var maskPlan = MaskPlan(columns: nil, policy: connection.masking)
        var out: [PostgresFrame] = []
        do {
            while let batch = try await iterator.nextBatch() {
              environment.metrics.bytesRelayed(batch.reduce(0) { $0 + $1.payload.readableBytes + 5 }, direction: "downstream")
              for frame in batch {
                switch frame.type {
                case PostgresMessageType.rowDescription:
                    let columns = try RowMessages.parseRowDescription(frame)
                    session.state.withLock { $0.tracker.rowDescription(columns) }
                    out.append(frame)
                case PostgresMessageType.dataRow:
                    let (columns, exceeded, discarding) = session.state.withLock { state -> ([ResultColumn]?, Bool, Bool) in
                        state.rowsInResult += 1
                        let exceeded = maxRows.map { state.rowsInResult > $0 } ?? false
                        let discarding = state.discardingRows
                        if exceeded && !discarding { state.discardingRows = true }
                        return (state.tracker.columnsForDataRow(), exceeded, discarding)
                    }
                    if discarding { continue }
                    if exceeded {
                        try await clientOut.write(contentsOf: out)
                        out.removeAll(keepingCapacity: true)
                        await stopOversizedResult(clientOut, recorder: recorder, limit: maxRows ?? 0)
                        continue
                    }
                    if masking.policy.isEmpty {
                        out.append(frame)
                    } else {
                        if maskPlan.columns != columns { maskPlan = MaskPlan(columns: columns, policy: connection.masking) }
                        out.append(try mask(frame, plan: maskPlan))
                    }
                case PostgresMessageType.commandComplete, PostgresMessageType.emptyQuery, PostgresMessageType.portalSuspended:
                    let (discarding, started) = session.state.withLock { state -> (Bool, (String, ContinuousClock.Instant)?) in
                        state.tracker.resultEnded()
                        state.rowsInResult = 0
                        return (state.discardingRows, state.inFlight.isEmpty ? nil : state.inFlight.removeFirst())
                    }
                    if discarding { continue }
                    if frame.type == PostgresMessageType.commandComplete {
                        let tag = RowMessages.commandTag(frame) ?? ""
                        recorder?.record(RecordingEvent(type: "result", command: started?.0, rows: RowMessages.rowCount(fromTag: tag), durationMS: started.map { Self.milliseconds(since: $0.1) }, detail: tag))
                    }
                    out.append(frame)
                case PostgresMessageType.errorResponse:
                    let (discarding, started) = session.state.withLock { state -> (Bool, (String, ContinuousClock.Instant)?) in
                        state.tracker.error()
                        state.errorInBatch = true
                        return (state.discardingRows, state.inFlight.isEmpty ? nil : state.inFlight.removeFirst())
                    }
                    if discarding { continue }
                    let fields = BackendMessages.parseFields(frame)
                    let masked = maskMessage(frame, fields: fields)
                    let maskedFields = BackendMessages.parseFields(masked)
                    recorder?.record(RecordingEvent(type: "error", command: started?.0, durationMS: started.map { Self.milliseconds(since: $0.1) }, error: "\(maskedFields["C"] ?? ""): \(maskedFields["M"] ?? "")"))
                    out.append(masked)
                case PostgresMessageType.noticeResponse:
                    out.append(maskMessage(frame, fields: BackendMessages.parseFields(frame)))
                case PostgresMessageType.readyForQuery:
                    var status = frame.payload
                    let byte = status.readInteger(as: UInt8.self) ?? UInt8(ascii: "I")
                    let (before, after) = session.state.withLock { state in
                        let result = state.readyForQueryArrived(status: byte)
                        state.inFlight.removeAll()
                        return result
                    }
                    out += before
                    out.append(frame)
                    out += after
                case PostgresMessageType.copyData:
                    if masking.scansValues {
                        var hits = MaskingHits()
                        let bytes = frame.payload.readableBytesView
                        if let masked = bytes.withContiguousStorageIfAvailable({ masking.mask($0, hits: &hits) }) ?? masking.mask(Array(bytes), hits: &hits) {
                            environment.metrics.maskingHits(hits.counts, connection: connection.name)
                            out.append(PostgresFrame(type: frame.type, payload: ByteBuffer(bytes: masked)))
                            continue
                        }
                    }
                    out.append(frame)
                default:
                    out.append(frame)
                }
              }
              try await clientOut.write(contentsOf: out)
              out.removeAll(keepingCapacity: true)
            }
            // The upstream closed: tell the client, unless it already left.
            if session.client.channel.isActive {
                recorder?.record(RecordingEvent(type: "error", error: "the upstream database closed the connection"))
                try? await clientOut.write(BackendMessages.error("08006", "access gateway: the upstream database closed the connection", severity: "FATAL"))
            }
        } catch {
            session.logger.debug("upstream side ended", metadata: ["gateway.error": "\(error)"])
            if session.client.channel.isActive {
                recorder?.record(RecordingEvent(type: "error", error: "upstream connection lost"))
                try? await clientOut.write(BackendMessages.error("08006", "access gateway: the connection to the upstream database was lost", severity: "FATAL"))
            }
        }
    }

    private func stopOversizedResult(_ clientOut: Writer, recorder: SessionRecorder?, limit: Int) async {
        let message = "access gateway: the result exceeds limits.max_rows (\(limit)); the query was cancelled"
        recorder?.record(RecordingEvent(type: "error", error: message))
        await environment.audit.record("block", identity: identity, connection: connection.name, session: session.sessionID, rule: "limits.max_rows", detail: message)
        try? await clientOut.write(BackendMessages.error("54000", message))
        await UpstreamConnection.cancel(host: upstream.host, port: upstream.port, processID: cancelKey.0, secretKey: cancelKey.1)
    }

    private func mask(_ frame: PostgresFrame, plan: MaskPlan) throws -> PostgresFrame {
        var values = try RowMessages.parseDataRow(frame)
        var changed = false
        var hits = MaskingHits()
        for index in values.indices {
            guard let value = values[index] else { continue }
            switch plan.action(for: index) {
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
            case .scan:
                let view = value.readableBytesView
                let masked = view.withContiguousStorageIfAvailable { masking.mask($0, hits: &hits) } ?? masking.mask(Array(view), hits: &hits)
                if let masked {
                    values[index] = ByteBuffer(bytes: masked)
                    changed = true
                }
            }
        }
        guard changed else { return frame }
        environment.metrics.maskingHits(hits.counts, connection: connection.name)
        return RowMessages.dataRow(values)
    }

    /// Masks the message and detail of an ErrorResponse or NoticeResponse: they may quote values.
    private func maskMessage(_ frame: PostgresFrame, fields: [Character: String]) -> PostgresFrame {
        guard masking.scansValues else { return frame }
        let message = fields["M"].map(masking.mask)
        let detail = fields["D"].map(masking.mask)
        guard message != fields["M"] || detail != fields["D"] else { return frame }
        var payload = ByteBuffer()
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            payload.writeInteger(key.asciiValue ?? UInt8(ascii: "M"))
            payload.writeString(key == "M" ? message ?? value : key == "D" ? detail ?? value : value)
            payload.writeInteger(UInt8(0))
        }
        payload.writeInteger(UInt8(0))
        return PostgresFrame(type: frame.type, payload: payload)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}

/// Per result set: what to do with each column's values.
struct MaskPlan: Sendable {
    enum Action: Sendable {
        case keep, wholeText, wholeBinary, scan
    }

    let columns: [ResultColumn]?
    private let actions: [Action]
    private let fallback: Action

    init(columns: [ResultColumn]?, policy: MaskingPolicy) {
        self.columns = columns
        let scans = !policy.entities.isEmpty || !policy.patterns.isEmpty
        fallback = scans ? .scan : .keep
        actions = (columns ?? []).map { column in
            if policy.masksColumn(named: column.name) { return column.format == 0 ? .wholeText : .wholeBinary }
            // Binary values of textual types are their UTF-8 text: scanned like text.
            if column.format != 0 && !Self.textualTypes.contains(column.typeOID) { return .keep }
            return scans ? .scan : .keep
        }
    }

    /// text, varchar, bpchar, name, json, jsonb (a version byte, then text), xml, unknown, citext-like domains are not known here.
    static let textualTypes: Set<UInt32> = [25, 1043, 1042, 19, 114, 3802, 142, 705]

    /// Unknown columns (no RowDescription seen) are scanned as text: protection first.
    func action(for index: Int) -> Action {
        index < actions.count ? actions[index] : fallback
    }
}
