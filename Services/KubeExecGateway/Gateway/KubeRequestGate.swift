import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import KubeExecGatewayCore
import NIOCore
import Synchronization

/// The decision on one Kubernetes API request, spoken as a `Status`: `api_passthrough`
/// first (none; read_only lets get, list and watch through), port forwarding (not offered),
/// then the guardrails and approval rules that name API requests. A held request waits for
/// its review up to `wait`; still pending, it is answered 403 naming the review, and once the
/// review is approved the same request by the same requester passes, once.
struct KubeRequestGate {
    enum Outcome {
        case forward
        case refuse(KubeStatus)
    }

    let environment: GatewayEnvironment
    let identity: Identity
    let connection: ConnectionConfiguration
    let clientAddress: String
    /// The recorded session the request belongs to (its decision, review and outcome are lines of it).
    var sessionID = ""
    var recorder: SessionRecorder?

    private var checkpoint: Checkpoint {
        Checkpoint(environment: environment, identity: identity, connection: connection.name, sessionID: sessionID, recorder: recorder, eventType: .api)
    }

    static func apiRequest(_ kube: KubeRequest) -> APIRequest {
        APIRequest(verb: kube.verb, resource: kube.isResourceRequest ? kube.resourcePath : (kube.nonResourcePath ?? "/"), namespace: kube.namespace, name: kube.name)
    }

    /// `query` and `body` are the request's own: a held request's review names them (`ReviewedAPIRequest`).
    func decide(_ kube: KubeRequest, query: Substring = "", body: ByteBuffer = ByteBuffer(), justification: String?, wait: Duration) async -> Outcome {
        let request = Self.apiRequest(kube)
        var decision = environment.policy.decide(.api(request), by: identity, on: connection.policy)
        if case .allow = decision, let refusal = passthroughRefusal(kube) {
            decision = .block(rule: refusal.rule, message: refusal.message, statement: request.summary)
        }
        switch checkpoint.pass(decision, command: request.summary) {
        case .forward:
            return .forward
        case .refuse(_, let message, _):
            return .refuse(.failure(code: 403, reason: "Forbidden", message: "access gateway: \(message)"))
        case .hold(let rule):
            let command = ReviewedAPIRequest.command(request, query: query, body: body, masking: MaskingEngine(policy: connection.masking))
            return await hold(command, rule: rule, justification: justification, wait: wait)
        }
    }

    /// What `api_passthrough` and port forwarding refuse, as a rule and a message.
    func passthroughRefusal(_ kube: KubeRequest) -> (rule: String, message: String)? {
        if kube.isPortForward {
            // Allowed port forwarding is a stream upgrade (`KubeExecUpgrade`), never an ordinary request.
            return Self.portForwardRule(connection) ?? ("port-forward", "port forwarding needs a stream upgrade (SPDY/3.1, or WebSocket as SPDY/3.1+portforward.k8s.io)")
        }
        // Discovery and other non-resource reads are what every client needs to start.
        if !kube.isResourceRequest && kube.isReadOnly { return nil }
        switch connection.apiPassthrough {
        case .none:
            return ("api_passthrough", "API requests other than exec are not allowed on connection \"\(connection.name)\" (api_passthrough: none)")
        case .readOnly where !kube.isReadOnly:
            return ("api_passthrough", "\(kube.verb) is not allowed on connection \"\(connection.name)\": api_passthrough is read_only (get, list and watch)")
        case .readOnly, .all:
            return nil
        }
    }

    /// Why port forwarding is refused on `connection`, if it is: not allowed there, or allowed
    /// but the connection masks (a forwarded connection carries bytes the masking does not scan).
    static func portForwardRule(_ connection: ConnectionConfiguration) -> (rule: String, message: String)? {
        guard connection.allowPortForwarding else {
            return ("allow_port_forwarding", "port forwarding is not allowed on connection \"\(connection.name)\"")
        }
        if MaskingEngine(policy: connection.masking).scansValues {
            return ("masking", "port forwarding is refused on connection \"\(connection.name)\": it masks output, and a forwarded connection's bytes are not scanned")
        }
        return nil
    }

    /// The refusal of a port forward (checked, audited and recorded before the stream is
    /// upgraded); nil when the connection allows it (each forwarded port is audited as it opens).
    func portForwardRefusal(_ kube: KubeRequest) -> KubeStatus? {
        let command = "port-forward pods/\(kube.name ?? "") -n \(kube.namespace ?? "default")"
        guard let refusal = Self.portForwardRule(connection) else { return nil }
        switch checkpoint.pass(.block(rule: refusal.rule, message: refusal.message, statement: command), command: command) {
        case .refuse(_, let message, _): return .failure(code: 403, reason: "Forbidden", message: "access gateway: \(message)")
        case .forward, .hold: return nil
        }
    }

    /// The refusal of an exec that policy refuses (checked before the stream is upgraded, so
    /// the client sees a 403 rather than a stream that ends at once); nil when it may go on.
    func execRefusal(_ options: KubeExecOptions, request kube: KubeRequest) -> KubeStatus? {
        // An interactive shell is let in; its lines are checked as they are typed.
        if options.isInteractiveShell { return nil }
        var decision = environment.policy.decide(.exec(options.command), by: identity, on: connection.policy)
        // `kubectl cp` is an exec of tar: its archive cannot be masked without corrupting it.
        if case .allow = decision, options.command.first.map({ ($0 as NSString).lastPathComponent }) == "tar",
           MaskingEngine(policy: connection.masking).scansValues {
            decision = .block(
                rule: "masking", message: "kubectl cp (an exec of tar) is refused on a connection with masking: a tar stream cannot be masked without corrupting it",
                statement: options.command.joined(separator: " ")
            )
        }
        switch decision {
        case .allow, .hold: return nil
        case .deny, .block: break
        }
        switch checkpoint.pass(decision, command: options.command.joined(separator: " ")) {
        case .refuse(_, let message, _): return .failure(code: 403, reason: "Forbidden", message: "access gateway: \(message)")
        case .forward, .hold: return nil
        }
    }

    /// An approved, unused `grant: once` review of this very request (query and body included)
    /// by this requester, decided within the rule's timeout, marked used; nil when there is none
    /// (or another instance used it first: the store's compare-and-set decides).
    private func consumeApproval(of command: String, rule: ApprovalRule) async -> Review? {
        guard let approved = try? await environment.store.reviews(status: .approved) else { return nil }
        let candidates = approved.filter { review in
            review.requester.subject == identity.subject && review.connection == connection.name && review.command == command
                && review.rule == rule.name && review.grantWindow == nil && review.consumedAt == nil
                && (review.decidedAt.map { Date().timeIntervalSince($0) < rule.timeout } ?? false)
        }
        for review in candidates where await consume(review) { return review }
        return nil
    }

    private func consume(_ review: Review) async -> Bool {
        var used = review
        used.consumedAt = Date()
        used.version += 1
        return (try? await environment.store.update(used)) ?? false
    }

    private func hold(_ command: String, rule: ApprovalRule, justification: String?, wait: Duration) async -> Outcome {
        // Approved after an earlier try of this very request was answered: it passes, once,
        // whichever instance it reaches (the use is stored with the review).
        if let review = await consumeApproval(of: command, rule: rule) {
            environment.audit.enqueue(.allow, identity: identity, connection: connection.name, command: command, rule: rule.name, detail: "approved in review \(review.id)")
            return .forward
        }
        let gate = ApprovalGate(
            environment: environment, identity: identity, connection: connection.name, sessionID: sessionID, clientAddress: clientAddress,
            eventType: .api, noun: "request"
        )
        let pending = SharedValue<String?>(nil)
        // The review goes on after the answer (a retry finds it approved); the request
        // waits for it only `wait` long.
        let outcome: ApprovalGate.Outcome? = await withCheckedContinuation { continuation in
            let answered = SharedValue(false)
            let answer: @Sendable (ApprovalGate.Outcome?) -> Void = { value in
                if !answered.exchange(true) { continuation.resume(returning: value) }
            }
            Task {
                answer(await gate.hold(command, rule: rule, justification: justification, recorder: recorder, tell: { review in
                    _ = pending.exchange(gate.pendingMessage(review, rule: rule))
                }, isClientConnected: { true }))
            }
            Task {
                try? await Task.sleep(for: wait)
                answer(nil)
            }
        }
        switch outcome {
        case .proceed(let reviewID)?:
            // Approved while the request waited: that was its one use.
            if let review = try? await environment.store.review(id: reviewID), review.grantWindow == nil { _ = await consume(review) }
            return .forward
        case .refused(let message)?:
            return .refuse(.failure(code: 403, reason: "Forbidden", message: message))
        case nil:
            let notice = pending.value ?? "access gateway: the request waits for review (rule \"\(rule.name)\")"
            return .refuse(.failure(code: 403, reason: "Forbidden", message: "\(notice); retry the request once it is approved"))
        }
    }
}

/// A value shared between tasks, behind a lock.
final class SharedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) {
        storage = Mutex(value)
    }

    var value: Value { storage.withLock { $0 } }

    /// Sets `new`; returns what was there.
    func exchange(_ new: Value) -> Value {
        storage.withLock { value in
            defer { value = new }
            return value
        }
    }
}
