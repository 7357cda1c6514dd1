import Foundation

/// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it
/// held. For waiting on another process (a gateway writing a file, a server coming back), not
/// for asserting on speed: the timeout only bounds a failing test.
public func eventually(
    timeout: Duration = .seconds(20), interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: interval)
    }
}
