import NIOCore
import Synchronization

/// Waits until a client's channel closes, or until the waiting task is cancelled (a wait on
/// `closeFuture` alone cannot be cancelled, and would keep a task group open for as long as a
/// keep-alive connection lives).
final class ClientDeparture: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, Never>?
        var done = false
    }
    private let state = Mutex(State())

    static func wait(for channel: any Channel) async {
        let departure = ClientDeparture()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                departure.install(continuation)
                channel.closeFuture.whenComplete { _ in departure.resume() }
            }
        } onCancel: {
            departure.resume()
        }
    }

    private func install(_ continuation: CheckedContinuation<Void, Never>) {
        let resumeNow = state.withLock { state -> Bool in
            if state.done { return true }
            state.continuation = continuation
            return false
        }
        if resumeNow { continuation.resume() }
    }

    private func resume() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume()
    }
}
