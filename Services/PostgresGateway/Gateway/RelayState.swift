import NIOCore
import PostgresWire

/// What the two relay directions share, on the session's event loop: where the session stands in the
/// protocol, and the responses the gateway itself owes the client, placed so the client
/// sees them in the order the server would have sent them.
struct RelayState: Sendable {
    /// A response the gateway owes: emitted when the upstream's ReadyForQuery number
    /// `target` passes (before or after it).
    struct Injection: Sendable {
        var target: Int
        var beforeReady: Bool
        var frames: [PostgresFrame]
        /// Also send a ReadyForQuery with the current status after the frames.
        var appendReady: Bool
        /// Drop it when the server already reported an error in that batch (the server
        /// would have skipped the refused message).
        var suppressIfError: Bool
    }

    var tracker = ResultTracker()
    var transactionStatus = UInt8(ascii: "I")
    var syncsSent = 0
    var syncsReceived = 0
    var injections: [Injection] = []
    var errorInBatch = false
    /// After a refused Parse: drop client messages until Sync, as the server does after an error.
    var discardingUntilSync = false
    var pendingRefusal: PostgresFrame?
    /// Rows of the result set in flight, for limits.max_rows.
    var rowsInResult = 0
    var discardingRows = false
    /// The SQL of each prepared statement and bound portal, by name, so the recorded result
    /// of an Execute names the statement it ran. At most `maximumNamed` of each are kept
    /// (a client that prepares more gets its older executions recorded by portal name).
    private(set) var statementTexts: [String: String] = [:]
    private(set) var portalTexts: [String: String] = [:]
    static let maximumNamed = 10_000

    mutating func parsed(statement: String, text: String) {
        guard statementTexts.count < Self.maximumNamed || statementTexts[statement] != nil else { return }
        statementTexts[statement] = text
    }

    mutating func bound(portal: String, statement: String) {
        guard portalTexts.count < Self.maximumNamed || portalTexts[portal] != nil else { return }
        portalTexts[portal] = statementTexts[statement]
    }

    mutating func closed(kind: UInt8, name: String) {
        if kind == UInt8(ascii: "S") { statementTexts[name] = nil } else { portalTexts[name] = nil }
    }

    /// What the recording calls an Execute of `portal`: its statement's SQL when known.
    /// `mutating` though it changes nothing: called on the relay's stored state, a
    /// non-mutating method works on a copy of the whole state (a retain and a release of
    /// every field, on every Execute).
    mutating func executed(portal: String) -> String {
        portalTexts[portal] ?? "execute \(portal.isEmpty ? "unnamed portal" : "portal \(portal)")"
    }

    var isIdle: Bool { syncsSent == syncsReceived }

    static let skippedAfterError: Set<UInt8> = [
        PostgresMessageType.query, PostgresMessageType.parse, PostgresMessageType.bind, PostgresMessageType.describe,
        PostgresMessageType.execute, PostgresMessageType.close, PostgresMessageType.flush, PostgresMessageType.functionCall,
    ]

    /// After a refused Parse, the extended-query messages until Sync are skipped, as the
    /// server skips them after an error. (`mutating` for the reason `executed` is.)
    mutating func skips(_ type: UInt8) -> Bool {
        discardingUntilSync && Self.skippedAfterError.contains(type)
    }

    /// The client sent Sync: a refused Parse's error is owed before the ReadyForQuery it
    /// brings (unless the server reports an error of its own in that batch), and the
    /// messages after it are the server's again.
    mutating func synced() {
        tracker.sync()
        syncsSent += 1
        if discardingUntilSync, let refusal = pendingRefusal {
            injections.append(.init(target: syncsSent, beforeReady: true, frames: [refusal], appendReady: false, suppressIfError: true))
        }
        discardingUntilSync = false
        pendingRefusal = nil
    }

    /// Frames to emit around the ReadyForQuery that just arrived.
    mutating func readyForQueryArrived(status: UInt8) -> (before: [PostgresFrame], after: [PostgresFrame]) {
        syncsReceived += 1
        transactionStatus = status
        tracker.readyForQuery()
        var before: [PostgresFrame] = []
        var after: [PostgresFrame] = []
        var remaining: [Injection] = []
        for injection in injections {
            guard injection.target == syncsReceived else {
                remaining.append(injection)
                continue
            }
            if injection.suppressIfError && errorInBatch { continue }
            var frames = injection.frames
            if injection.appendReady { frames.append(BackendMessages.readyForQuery(status)) }
            if injection.beforeReady { before += frames } else { after += frames }
        }
        injections = remaining
        errorInBatch = false
        discardingRows = false
        rowsInResult = 0
        return (before, after)
    }
}
