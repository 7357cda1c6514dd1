import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRuntime
import GatewaySession
import GatewayState
import KubeExecGatewayCore
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

    /// Reviews approved for a request that was answered before its approval came, each passed once.
    static let consumed = Mutex<Set<String>>([])

    private var checkpoint: Checkpoint {
        Checkpoint(environment: environment, identity: identity, connection: connection.name, sessionID: "", recorder: nil, eventType: .api)
    }

    static func apiRequest(_ kube: KubeRequest) -> APIRequest {
        APIRequest(verb: kube.verb, resource: kube.isResourceRequest ? kube.resourcePath : (kube.nonResourcePath ?? "/"), namespace: kube.namespace, name: kube.name)
    }

    func decide(_ kube: KubeRequest, justification: String?, wait: Duration) async -> Outcome {
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
            return await hold(request, rule: rule, justification: justification, wait: wait)
        }
    }

    /// What `api_passthrough` and the lack of port forwarding refuse, as a rule and a message.
    func passthroughRefusal(_ kube: KubeRequest) -> (rule: String, message: String)? {
        if kube.isPortForward {
            return ("port-forward", "port forwarding is not offered on connection \"\(connection.name)\"")
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

    private func hold(_ request: APIRequest, rule: ApprovalRule, justification: String?, wait: Duration) async -> Outcome {
        // Approved after an earlier try of this very request was answered: it passes, once.
        if let approved = try? await environment.store.reviews(status: .approved),
           let review = approved.first(where: { review in
               review.requester.subject == identity.subject && review.connection == connection.name && review.command == request.summary
                   && review.rule == rule.name && (review.decidedAt.map { Date().timeIntervalSince($0) < rule.timeout } ?? false)
           }),
           Self.consumed.withLock({ $0.insert(review.id).inserted }) {
            environment.audit.enqueue(.allow, identity: identity, connection: connection.name, command: request.summary, rule: rule.name, detail: "approved in review \(review.id)")
            return .forward
        }
        let gate = ApprovalGate(
            environment: environment, identity: identity, connection: connection.name, sessionID: "", clientAddress: clientAddress,
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
                answer(await gate.hold(request.summary, rule: rule, justification: justification, recorder: nil, tell: { review in
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
            Self.consumed.withLock { _ = $0.insert(reviewID) }
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
