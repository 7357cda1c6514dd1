import Synchronization

/// `operation`'s result, or `onTimeout()` thrown once `timeout` has passed, whichever comes
/// first. Past the timeout the operation is cancelled and *not waited for*: a task group
/// would wait for every child, and a database call that does not react to cancellation (a
/// query on a connection whose server vanished) would then hold its caller forever.
public func answer<T: Sendable>(
    within timeout: Duration, _ operation: @escaping @Sendable () async throws -> T, onTimeout: @escaping @Sendable () -> any Error
) async throws -> T {
    let race = FirstResult<T>()
    let work = Task { try await operation() }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.install(continuation)
            Task {
                do { race.finish(.success(try await work.value)) } catch { race.finish(.failure(error)) }
            }
            Task {
                try? await Task.sleep(for: timeout)
                work.cancel()
                race.finish(.failure(onTimeout()))
            }
        }
    } onCancel: {
        work.cancel()
        race.finish(.failure(CancellationError()))
    }
}

/// Resumes a continuation once, with whichever result comes first (a result that comes before
/// the continuation is installed is kept for it).
final class FirstResult<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, early: Result<T, any Error>?, done: Bool)>((nil, nil, false))

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let early = state.early {
                state.early = nil
                state.done = true
                return early
            }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func finish(_ result: Result<T, any Error>) {
        let continuation = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard !state.done else { return nil }
            guard let continuation = state.continuation else {
                if state.early == nil { state.early = result }
                return nil
            }
            state.done = true
            state.continuation = nil
            return continuation
        }
        continuation?.resume(with: result)
    }
}
