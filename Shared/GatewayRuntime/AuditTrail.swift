import Foundation
import GatewayPolicy
import GatewayState
import Logging
import Synchronization

/// Writes audit events to the state store. When the store cannot take one, the event goes
/// to `<recordings.dir>/audit-fallback.jsonl` so that nothing is lost, and is moved into the
/// store as soon as it answers again (checked every few seconds) and at the next start.
public final class AuditTrail: Sendable {
    public let service: String
    private let store: any StateStore
    private let fallbackPath: String
    private let logger: Logger
    private let lock = Mutex(())
    private let queue = Mutex<[AuditEvent]>([])
    private let flusher = Mutex<Task<Void, Never>?>(nil)
    /// Whether the fallback file may hold events (checked without touching the disk).
    private let fallbackPending = Atomic<Bool>(false)
    /// Replays run one at a time.
    private let replaying = Mutex(false)
    /// Set when the store refused an event, cleared when a replay moved every waiting event
    /// into it: meanwhile events go straight to the fallback file, so that no decision waits
    /// for a store that is away (each attempt could take the store's whole timeout).
    private let storeAway = Atomic<Bool>(false)

    /// Whether the store refused the last write (events are going to the fallback file).
    public var isStoreAway: Bool { storeAway.load(ordering: .relaxed) }

    public init(service: String, store: any StateStore, recordingsDirectory: String, logger: Logger) {
        self.service = service
        self.store = store
        self.fallbackPath = (recordingsDirectory as NSString).appendingPathComponent("audit-fallback.jsonl")
        self.logger = logger
        fallbackPending.store(
            FileManager.default.fileExists(atPath: fallbackPath) || FileManager.default.fileExists(atPath: fallbackPath + ".replaying"),
            ordering: .relaxed
        )
        let task = Task { [weak self] in
            var ticks = 0
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                guard let self else { return }
                await self.flush()
                ticks += 1
                // Every 5 s while events wait in the fallback file: the store may be back.
                if ticks % 25 == 0, self.fallbackPending.load(ordering: .relaxed) || self.isStoreAway {
                    await self.replayFallback()
                }
            }
        }
        flusher.withLock { $0 = task }
    }

    deinit {
        flusher.withLock { $0?.cancel() }
    }

    /// Queues a high-volume event (an allowed statement) without waiting for the store;
    /// queued events are written within 200 ms, in order, and on `flush()`.
    public func enqueue(
        _ action: AuditAction, identity: Identity?, connection: String? = nil, session: String? = nil,
        command: String? = nil, rule: String? = nil, detail: String? = nil, time: Date = Date()
    ) {
        // Built in place in the queue: building it first and appending cost a copy and a destroy of every field.
        queue.withLock { queue in
            queue.append(makeEvent(action, identity: identity, connection: connection, session: session, command: command, rule: rule, detail: detail, clientAddress: nil, time: time))
        }
    }

    /// Writes every queued event.
    public func flush() async {
        let pending = queue.withLock { queue -> [AuditEvent] in
            var taken: [AuditEvent] = []
            swap(&taken, &queue)
            // Room for as many as the last 200 ms brought: the queue fills without regrowing.
            queue.reserveCapacity(taken.count)
            return taken
        }
        guard !pending.isEmpty else { return }
        guard !isStoreAway else { return pending.forEach(writeFallback) }
        do {
            try await store.append(contentsOf: pending)
        } catch {
            storeAway.store(true, ordering: .relaxed)
            logger.error("audit events kept in the fallback file: the state store refused them", metadata: ["gateway.error": "\(error)"])
            pending.forEach(writeFallback)
        }
    }

    public func record(
        _ action: AuditAction, identity: Identity?, connection: String? = nil, session: String? = nil,
        command: String? = nil, rule: String? = nil, detail: String? = nil, clientAddress: String? = nil
    ) async {
        await record(makeEvent(action, identity: identity, connection: connection, session: session, command: command, rule: rule, detail: detail, clientAddress: clientAddress))
    }

    private func makeEvent(
        _ action: AuditAction, identity: Identity?, connection: String?, session: String?,
        command: String?, rule: String?, detail: String?, clientAddress: String?, time: Date = Date()
    ) -> AuditEvent {
        AuditEvent(
            action: action.rawValue, time: time, service: service, connection: connection, sessionID: session, subject: identity?.subject,
            email: identity?.email, groups: identity?.groups ?? [], command: command, rule: rule, detail: detail,
            clientAddress: clientAddress
        )
    }

    public func record(_ event: AuditEvent) async {
        guard !isStoreAway else { return writeFallback(event) }
        do {
            try await store.append(event)
        } catch {
            storeAway.store(true, ordering: .relaxed)
            logger.error("audit event kept in the fallback file: the state store refused it", metadata: ["gateway.error": "\(error)"])
            writeFallback(event)
        }
    }

    private func writeFallback(_ event: AuditEvent) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        guard var line = try? encoder.encode(event) else { return }
        line.append(UInt8(ascii: "\n"))
        fallbackPending.store(true, ordering: .relaxed)
        lock.withLock { _ in
            if !FileManager.default.fileExists(atPath: fallbackPath) {
                _ = FileManager.default.createFile(atPath: fallbackPath, contents: nil, attributes: [.posixPermissions: 0o600])
            }
            guard let handle = FileHandle(forWritingAtPath: fallbackPath) else { return }
            defer { try? handle.close() }
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: line)
            try? handle.synchronize()
        }
    }

    /// Where a replay keeps the events it is moving, so that events written to the fallback
    /// file meanwhile are neither lost nor replayed twice.
    private var replayPath: String { fallbackPath + ".replaying" }

    /// Moves events from the fallback file into the store, oldest first; what the store still
    /// refuses goes back to the fallback file. A replay cut short by a crash is resumed by the
    /// next one (its events may then reach the store twice, never not at all).
    public func replayFallback() async {
        let claimed = replaying.withLock { busy in
            defer { busy = true }
            return !busy
        }
        guard claimed else { return }
        defer { replaying.withLock { $0 = false } }
        // Take the file as it is now: later fallback writes start a new one.
        let taken: Data? = lock.withLock { _ in
            if !FileManager.default.fileExists(atPath: replayPath) {
                guard FileManager.default.fileExists(atPath: fallbackPath) else { return nil }
                guard rename(fallbackPath, replayPath) == 0 else { return nil }
            }
            return FileManager.default.contents(atPath: replayPath)
        }
        guard let data = taken else {
            fallbackPending.store(false, ordering: .relaxed)
            // Nothing waits; the store may be back all the same.
            if isStoreAway, (try? await store.ping()) != nil { storeAway.store(false, ordering: .relaxed) }
            return
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        var remaining: [Data] = []
        var refused = false
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard !refused else {
                remaining.append(Data(line))
                continue
            }
            guard let event = try? decoder.decode(AuditEvent.self, from: Data(line)) else { continue }
            do { try await store.append(event) } catch {
                // The store is still away: the rest waits for the next attempt, in order.
                refused = true
                remaining.append(Data(line))
            }
        }
        lock.withLock { _ in
            if !remaining.isEmpty {
                // Back in front of whatever was written to the fallback file meanwhile.
                var rest = remaining.map { $0 + Data([UInt8(ascii: "\n")]) }.reduce(Data(), +)
                if let newer = FileManager.default.contents(atPath: fallbackPath) { rest.append(newer) }
                let temporary = fallbackPath + ".tmp"
                if FileManager.default.createFile(atPath: temporary, contents: rest, attributes: [.posixPermissions: 0o600]) {
                    _ = rename(temporary, fallbackPath)
                }
            }
            unlink(replayPath)
            fallbackPending.store(FileManager.default.fileExists(atPath: fallbackPath), ordering: .relaxed)
        }
        if !refused {
            // Everything that waited is in the store: new events go there again. (Events that
            // reached the fallback file during this replay are moved by the next one.)
            storeAway.store(false, ordering: .relaxed)
            logger.info("the state store answers again: audit events go to it")
        }
    }
}
