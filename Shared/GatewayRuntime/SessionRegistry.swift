import Foundation
import Synchronization

/// The sessions this process holds, so a kill (local or requested through the store by
/// another instance) and a graceful shutdown can reach them.
public final class SessionRegistry: Sendable {
    public struct Entry: Sendable {
        public var id: String
        public var connection: String
        /// Ends the session: the protocol handler closes its channels and seals the recording.
        public var terminate: @Sendable (_ reason: String) async -> Void

        public init(id: String, connection: String, terminate: @escaping @Sendable (_ reason: String) async -> Void) {
            self.id = id
            self.connection = connection
            self.terminate = terminate
        }
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    public func add(_ entry: Entry) {
        entries.withLock { $0[entry.id] = entry }
    }

    public func remove(_ id: String) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    public var ids: [String] { entries.withLock { Array($0.keys) } }
    public var count: Int { entries.withLock { $0.count } }

    @discardableResult
    public func terminate(_ id: String, reason: String) async -> Bool {
        guard let entry = entries.withLock({ $0[id] }) else { return false }
        await entry.terminate(reason)
        return true
    }

    /// Waits until every session has left the registry (a session leaves last, after its
    /// recording is sealed and its end audited), or until `timeout` has passed. Returns how
    /// many are still in.
    public func waitUntilEmpty(timeout: Duration) async -> Int {
        let deadline = ContinuousClock.now + timeout
        while count > 0, ContinuousClock.now < deadline, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return count
    }

    /// Asks every session to end (shutdown). Ending is asynchronous: `waitUntilEmpty` waits
    /// for the recordings to be sealed.
    public func terminateAll(reason: String) async {
        let all = entries.withLock { Array($0.values) }
        await withTaskGroup(of: Void.self) { group in
            for entry in all {
                group.addTask { await entry.terminate(reason) }
            }
        }
    }
}
