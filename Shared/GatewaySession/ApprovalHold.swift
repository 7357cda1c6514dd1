import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewayState
import NIOCore

/// Holds a command for review from a relay that lives on an event loop: the review runs in a
/// task through `ApprovalGate` (which records and audits it), its notice and its outcome come
/// back on the loop. The relay pauses its client's reads before and resumes after; what the
/// client sent meanwhile stays queued in the relay.
public struct ApprovalHold: Sendable {
    public let gate: ApprovalGate
    public let eventLoop: any EventLoop
    public let recorder: SessionRecorder?

    public init(gate: ApprovalGate, eventLoop: any EventLoop, recorder: SessionRecorder?) {
        self.gate = gate
        self.eventLoop = eventLoop
        self.recorder = recorder
    }

    /// Holds `command` under `rule`. `announce` gets the pending notice (its text and the
    /// review) to tell the client; `then` gets the outcome. Both run on the event loop, the
    /// notice first. `isClientConnected` is asked from the review task: a client that left
    /// cancels its review.
    public func hold(
        _ command: String, rule: ApprovalRule, justification: String?,
        isClientConnected: @escaping @Sendable () -> Bool,
        announce: @escaping (_ notice: String, _ review: Review) -> Void,
        then: @escaping (ApprovalGate.Outcome) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        let announce = NIOLoopBound(announce, eventLoop: eventLoop)
        let then = NIOLoopBound(then, eventLoop: eventLoop)
        let (gate, eventLoop, recorder) = (gate, eventLoop, recorder)
        Task {
            let outcome = await gate.hold(
                command, rule: rule, justification: justification, recorder: recorder,
                tell: { review in
                    let notice = gate.pendingMessage(review, rule: rule)
                    // The notice reaches the client before the review can end.
                    try? await eventLoop.submit { announce.value(notice, review) }.get()
                },
                isClientConnected: isClientConnected
            )
            eventLoop.execute { then.value(outcome) }
        }
    }
}
