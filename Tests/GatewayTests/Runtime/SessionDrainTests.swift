@testable import GatewayRuntime
import Logging
import Synchronization
import Testing

/// A shutdown must not end the process while a session is still sealing its recording: a
/// session's `terminate` only asks it to end, and it leaves the registry when it is done.
@Suite("Session drain on shutdown")
struct SessionDrainTests {
    final class Ended: Sendable {
        let names = Mutex<[String]>([])
        func add(_ id: String) { names.withLock { $0.append(id) } }
        var all: Set<String> { names.withLock { Set($0) } }
    }

    /// A session that takes `sealing` to end after being asked (or after ending on its own).
    static func slowSession(_ id: String, in registry: SessionRegistry, sealing: Duration, ended: Ended) -> SessionRegistry.Entry {
        SessionRegistry.Entry(id: id, connection: "orders") { _ in
            Task {
                try? await Task.sleep(for: sealing)
                ended.add(id)
                registry.remove(id)
            }
        }
    }

    @Test func waitsForEverySessionToLeaveTheRegistry() async {
        let registry = SessionRegistry()
        let ended = Ended()
        registry.add(Self.slowSession("s-1", in: registry, sealing: .milliseconds(300), ended: ended))
        registry.add(Self.slowSession("s-2", in: registry, sealing: .milliseconds(100), ended: ended))
        // A session already ending on its own: not terminated again, still waited for.
        registry.add(SessionRegistry.Entry(id: "s-3", connection: "orders") { _ in })
        Task {
            try? await Task.sleep(for: .milliseconds(200))
            ended.add("s-3")
            registry.remove("s-3")
        }
        let started = ContinuousClock.now
        await SessionDrain(sessions: registry, logger: Logger(label: "test")).drain()
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(ended.all == ["s-1", "s-2", "s-3"])
        #expect(registry.count == 0)
    }

    /// Returning at all is the point (the stuck session never leaves); the time limit turns a
    /// drain that waited forever into a failure instead of a hung run.
    @Test(.timeLimit(.minutes(1))) func givesUpAfterTheTimeout() async {
        let registry = SessionRegistry()
        registry.add(SessionRegistry.Entry(id: "stuck", connection: "orders") { _ in })
        let started = ContinuousClock.now
        await SessionDrain(sessions: registry, logger: Logger(label: "test"), timeout: .milliseconds(200)).drain()
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(registry.count == 1)
    }
}
