import Foundation

/// Runs a blocking call (a client process the test waits for: psql, ssh held for review) on a
/// thread of its own and returns a task for its result.
///
/// Not `Task.detached`: a detached task still runs on Swift's cooperative pool, which has one
/// thread per core; two held clients on a 2-core machine would occupy every thread and starve
/// the very test code that is supposed to approve them.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) -> Task<T, any Error> {
    Task {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try body() })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }
}
