import Synchronization

/// Lets the session registry end a stream whose session starts before the stream is upgraded
/// (so that a session that cannot start is refused with an HTTP `Status`) and whose relay is
/// made after. A kill that arrives before the relay exists is kept and delivered when it does.
final class StreamTerminator: Sendable {
    private struct State {
        var end: (@Sendable (String) -> Void)?
        var pending: String?
    }

    private let state = Mutex(State())

    /// Who ends the stream from now on.
    func set(_ end: @escaping @Sendable (String) -> Void) {
        let pending = state.withLock { state -> String? in
            state.end = end
            defer { state.pending = nil }
            return state.pending
        }
        if let pending { end(pending) }
    }

    func terminate(_ reason: String) {
        let end = state.withLock { state -> (@Sendable (String) -> Void)? in
            if state.end == nil { state.pending = reason }
            return state.end
        }
        end?(reason)
    }
}
