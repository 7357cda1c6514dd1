import Foundation
import GatewayPolicy
import GatewayRuntime
import GatewayState
import Logging
import Testing

/// The audit trail while the state store is away and when it comes back: nothing is lost,
/// nothing is doubled, order is kept, and no decision waits on a store known to be away.
@Suite("Audit fallback")
struct AuditFallbackTests {
    let directory: String
    let store: SwitchableStateStore
    let trail: AuditTrail
    var fallback: String { directory + "/audit-fallback.jsonl" }

    init() async throws {
        directory = NSTemporaryDirectory() + "gateway-audit-fallback-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = try SwitchableStateStore(path: directory + "/state.sqlite")
        try await store.migrate()
        trail = AuditTrail(service: "postgres-gateway", store: store, recordingsDirectory: directory, logger: Logger(label: "test"))
    }

    func fallbackLines() -> [String] {
        ((try? String(contentsOfFile: fallback, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func stored() async throws -> [String] {
        try await store.auditEvents(AuditQuery()).sorted { $0.time < $1.time }.compactMap(\.command)
    }

    @Test func eventsWaitInTheFallbackFileAndMoveInOrderWhenTheStoreAnswers() async throws {
        store.failing.store(true, ordering: .relaxed)
        await trail.record(.allow, identity: nil, connection: "orders", command: "first")
        #expect(trail.isStoreAway)
        let attempts = store.appendAttempts.load(ordering: .relaxed)
        await trail.record(.block, identity: nil, connection: "orders", command: "second")
        trail.enqueue(.allow, identity: nil, connection: "orders", command: "third")
        await trail.flush()
        #expect(store.appendAttempts.load(ordering: .relaxed) == attempts, "a store known to be away is not asked again")
        #expect(fallbackLines().count == 3)
        #expect(OwnerOnlyFilesTests.mode(fallback).map { $0 & 0o777 } == 0o600)

        // Still away: a replay keeps every event, in order.
        await trail.replayFallback()
        #expect(fallbackLines().count == 3)
        #expect(try await stored().isEmpty)

        store.failing.store(false, ordering: .relaxed)
        await trail.replayFallback()
        #expect(try await stored() == ["first", "second", "third"])
        #expect(!FileManager.default.fileExists(atPath: fallback))
        #expect(!trail.isStoreAway)
        // Back to the store directly.
        await trail.record(.allow, identity: nil, connection: "orders", command: "fourth")
        #expect(try await stored() == ["first", "second", "third", "fourth"])
    }

    @Test func anEventWrittenDuringAReplayIsNeitherLostNorDoubled() async throws {
        store.failing.store(true, ordering: .relaxed)
        await trail.record(.allow, identity: nil, connection: "orders", command: "before")
        store.failing.store(false, ordering: .relaxed)
        store.holding.store(true, ordering: .relaxed)
        let replay = Task { await trail.replayFallback() }
        // The replay has taken the file and waits on the store; a new decision meanwhile.
        try await Task.sleep(for: .milliseconds(200))
        await trail.record(.block, identity: nil, connection: "orders", command: "during")
        #expect(fallbackLines() == fallbackLines().filter { $0.contains("during") }, "the replayed event is not in the new file")
        store.holding.store(false, ordering: .relaxed)
        await replay.value
        #expect(try await stored() == ["before"])
        #expect(fallbackLines().count == 1)
        await trail.replayFallback()
        #expect(try await stored() == ["before", "during"])
        #expect(!FileManager.default.fileExists(atPath: fallback))
    }
}
