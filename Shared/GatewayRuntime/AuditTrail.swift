import Foundation
import GatewayPolicy
import GatewayState
import Logging
import Synchronization

/// Writes audit events to the state store. When the store cannot take one, the event goes
/// to `<recordings.dir>/audit-fallback.jsonl` so that nothing is lost, and is replayed
/// into the store at the next start.
public final class AuditTrail: Sendable {
    public let service: String
    private let store: any StateStore
    private let fallbackPath: String
    private let logger: Logger
    private let lock = Mutex(())
    private let queue = Mutex<[AuditEvent]>([])
    private let flusher = Mutex<Task<Void, Never>?>(nil)

    public init(service: String, store: any StateStore, recordingsDirectory: String, logger: Logger) {
        self.service = service
        self.store = store
        self.fallbackPath = (recordingsDirectory as NSString).appendingPathComponent("audit-fallback.jsonl")
        self.logger = logger
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                guard let self else { return }
                await self.flush()
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
        do {
            try await store.append(contentsOf: pending)
        } catch {
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
        do {
            try await store.append(event)
        } catch {
            logger.error("audit event kept in the fallback file: the state store refused it", metadata: ["gateway.error": "\(error)"])
            writeFallback(event)
        }
    }

    private func writeFallback(_ event: AuditEvent) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        guard var line = try? encoder.encode(event) else { return }
        line.append(UInt8(ascii: "\n"))
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

    /// Moves events from the fallback file into the store; keeps the file if the store still refuses.
    public func replayFallback() async {
        guard let data = FileManager.default.contents(atPath: fallbackPath), !data.isEmpty else { return }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        var remaining: [Data] = []
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let event = try? decoder.decode(AuditEvent.self, from: Data(line)) else { continue }
            do { try await store.append(event) } catch { remaining.append(Data(line)) }
        }
        let rest = remaining.map { $0 + Data([UInt8(ascii: "\n")]) }.reduce(Data(), +)
        try? rest.write(to: URL(fileURLWithPath: fallbackPath))
        if rest.isEmpty { try? FileManager.default.removeItem(atPath: fallbackPath) }
    }
}
