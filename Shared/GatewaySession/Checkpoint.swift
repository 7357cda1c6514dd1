import CoreMetrics
import Foundation
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewayState

/// Where a command's decision becomes evidence, for every gateway: one place turns a
/// `Decision` into its metric, its recording line and its audit event (typed, enqueued in
/// order with the session's others), and says what to do with the command. Each gateway only
/// speaks the verdict in its protocol: an ErrorResponse, stderr and exit status 126, a
/// Kubernetes `Status`.
public struct Checkpoint: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Send the command on.
        case forward
        /// Refuse it: `message` says why (`denied`: the identity may not use the
        /// connection at all; otherwise a rule blocked it).
        case refuse(rule: String?, message: String, denied: Bool)
        /// Hold it for review under `rule` (`ApprovalGate` records and audits the review).
        case hold(ApprovalRule)
    }

    let environment: GatewayEnvironment
    let identity: Identity
    let connection: String
    let sessionID: String
    let recorder: SessionRecorder?
    /// The recording event type of the commands this checkpoint passes: query, exec, line.
    let eventType: RecordingEventType
    private let allowed: CoreMetrics.Counter

    public init(environment: GatewayEnvironment, identity: Identity, connection: String, sessionID: String, recorder: SessionRecorder?, eventType: RecordingEventType) {
        self.environment = environment
        self.identity = identity
        self.connection = connection
        self.sessionID = sessionID
        self.recorder = recorder
        self.eventType = eventType
        // Created once: the allow path runs for every statement.
        allowed = environment.metrics.decisionCounter(AuditAction.allow.rawValue, connection: connection)
    }

    /// Counts, records and audits `decision` on `command`, and says what to do with it.
    public func pass(_ decision: Decision, command: String) -> Verdict {
        switch decision {
        case .allow:
            allowed.increment()
            let now = Date()
            recorder?.record(RecordingEvent(type: eventType, time: now, command: command, decision: AuditAction.allow.rawValue))
            environment.audit.enqueue(.allow, identity: identity, connection: connection, session: sessionID, command: command, time: now)
            return .forward
        case .deny(let reason):
            refused(.deny, command: command, rule: nil, detail: reason)
            return .refuse(rule: nil, message: reason, denied: true)
        case .block(let rule, let message, _):
            refused(.block, command: command, rule: rule, detail: message)
            return .refuse(rule: rule, message: message, denied: false)
        case .hold(let rule, _):
            environment.metrics.decision(AuditAction.hold.rawValue, connection: connection)
            return .hold(rule)
        }
    }

    private func refused(_ action: AuditAction, command: String, rule: String?, detail: String) {
        environment.metrics.decision(action.rawValue, connection: connection)
        recorder?.record(RecordingEvent(type: eventType, command: command, decision: action.rawValue, rule: rule, detail: detail))
        environment.audit.enqueue(action, identity: identity, connection: connection, session: sessionID, command: command, rule: rule, detail: detail)
    }
}
