import Foundation
import GatewayRuntime
import GatewayState
import GatewayTesting
import Synchronization
import Testing

@Suite("Review watcher")
struct ReviewWatcherTests {
    @Test func resolvesManyWaitersWithOneLoop() async throws {
        let store = try SQLiteStateStore(path: NSTemporaryDirectory() + "watcher-\(UUID().uuidString).sqlite")
        try await store.migrate()
        let watcher = ReviewWatcher(store: store, interval: .milliseconds(50))
        func review(_ id: String, expiresIn: TimeInterval = 60) -> Review {
            Review(id: id, expiresAt: Date().addingTimeInterval(expiresIn), service: "s", connection: "c", sessionID: "x",
                   command: "UPDATE t SET a = 1 WHERE id = 1", rule: "writes", requester: Person(subject: "agent"), reviewerGroups: ["dba"])
        }
        let approved = review("r-a")
        let expiring = review("r-e", expiresIn: 2)
        // Far from expiring: on a loaded machine the loop may not run for a minute, and the
        // review must still be found abandoned (cancelled), not expired.
        let abandoned = review("r-c", expiresIn: 900)
        for item in [approved, expiring, abandoned] { try await store.insert(item) }
        let connected = Mutex(true)
        async let a = watcher.wait(for: approved, isClientConnected: { true })
        async let e = watcher.wait(for: expiring, isClientConnected: { true })
        async let c = watcher.wait(for: abandoned, isClientConnected: { connected.withLock { $0 } })
        // All three register (the machine may be busy: wait for it rather than a fixed time).
        let deadline = ContinuousClock.now + .seconds(10)
        while await watcher.watchedCount < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await watcher.watchedCount == 3)
        let vote = try ReviewDecision.vote(on: approved, by: Person(subject: "dba-1", groups: ["dba"]), approve: true, comment: nil)
        #expect(try await store.update(vote))
        connected.withLock { $0 = false }
        let (ra, re, rc) = await (a, e, c)
        #expect(ra.status == .approved)
        #expect(re.status == .expired)
        #expect(rc.status == .cancelled)
        #expect(try await store.review(id: "r-e")?.status == .expired)
        #expect(try await store.review(id: "r-c")?.status == .cancelled)
        #expect(await watcher.watchedCount == 0)
        await store.close()
    }
}

@Suite("Review pushes through PostgreSQL LISTEN/NOTIFY")
struct ReviewPushTests {
    @Test func aDecisionOnAnotherInstanceWakesTheWaiterAtOnce() async throws {
        let url = try TemporaryPostgres.shared().createDatabase()
        let holder = try PostgresStateStore(url: url, operationTimeout: .seconds(120))
        let other = try PostgresStateStore(url: url, operationTimeout: .seconds(120))
        try await holder.migrate()
        // A poll interval of an hour: only the push can resolve the wait within the test.
        let watcher = ReviewWatcher(store: holder, interval: .seconds(3600))
        let listener = Task { await holder.watchReviewChanges { id in await watcher.nudge(id) } }
        let review = Review(expiresAt: Date().addingTimeInterval(600), service: "s", connection: "c", sessionID: "x",
                            command: "UPDATE t SET a = 1 WHERE id = 1", rule: "writes", requester: Person(subject: "agent"), reviewerGroups: ["dba"])
        try await holder.insert(review)
        let waiting = Task { await watcher.wait(for: review, isClientConnected: { true }) }
        try await Task.sleep(for: .milliseconds(500))
        let vote = try ReviewDecision.vote(on: review, by: Person(subject: "dba-1", groups: ["dba"]), approve: true, comment: nil)
        #expect(try await other.update(vote))
        // A liveness bound, not a speed claim: without the push this would wait an hour.
        let outcome = await withTaskGroup(of: ReviewStatus?.self) { group in
            group.addTask { await waiting.value.status }
            group.addTask { try? await Task.sleep(for: .seconds(120)); return nil }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(outcome == .approved)
        waiting.cancel()
        listener.cancel()
        await holder.close()
        await other.close()
    }
}
