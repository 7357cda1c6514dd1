#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GatewayJSON
import Logging
import Synchronization

/// Writes one session's recording folder: `meta.json`, `events.jsonl` and, for terminal
/// sessions, `terminal.cast` (asciicast v2). Appends only; buffers at most 64 KiB per file;
/// fsyncs every second while data is pending and at the end; seals on `finish`.
///
/// While recording, the folder holds `.recording.lock` with an exclusive `flock`, so crash
/// recovery (by any process on the host) can tell a live recording from an orphaned one,
/// and `.seal-reserve`, disk space allocated at the start and given back at the end so that
/// a recording whose disk filled up can still write its buffered tail, `meta.json` and its
/// seal. When a write fails the recorder stops taking events, calls `onFailure` once (the
/// session decides whether it may go on unrecorded) and, at `finish`, notes the gap in
/// `events.jsonl` before sealing.
public final class SessionRecorder: Sendable {
    public let folder: String
    public let sessionID: String
    private let state: Mutex<State>
    private let signer: RecordingSigner?
    private let syncTask: Mutex<Task<Void, Never>?>
    /// Held around the once-a-second fsyncs (outside `state`'s lock) and while `finish`
    /// closes the files.
    private let syncing = Mutex(())
    private let fileSync: @Sendable (Int32) -> Void
    private let castQueue = DispatchQueue(label: "gateway.recording.cast")
    private let castBacklog = Atomic<Int>(0)
    private let onFailure: (@Sendable (String) -> Void)?

    struct State: ~Copyable {
        var meta: RecordingMeta
        var events: AppendingFile?
        var cast: AppendingFile?
        var castStart: Date
        var outputCarry = UTF8Carry()
        var inputCarry = UTF8Carry()
        var lockDescriptor: Int32
        var timestamps = TimestampWriter()
        var sealed = false
        var failed: String?
        /// Events and terminal writes refused after the failure.
        var dropped = 0
    }

    static let lockName = ".recording.lock"
    static let reserveName = ".seal-reserve"
    /// Room for both files' buffers (64 KiB each), `meta.json`, the seal and the gap note.
    static let reserveBytes = 192 * 1024

    /// Creates `<directory>/<session-id>/` and starts writing.
    /// Throws when the folder cannot be created or has no room (the reserve cannot be
    /// allocated): nothing is left behind then.
    public convenience init(
        directory: String, meta: RecordingMeta, terminal: TerminalInfo? = nil, signer: RecordingSigner? = nil,
        onFailure: (@Sendable (String) -> Void)? = nil
    ) throws {
        try self.init(directory: directory, meta: meta, terminal: terminal, signer: signer, fileSync: { _ = fsync($0) }, onFailure: onFailure)
    }

    /// `fileSync` makes a file durable (fsync); tests pass their own to look inside a sync.
    init(
        directory: String, meta: RecordingMeta, terminal: TerminalInfo?, signer: RecordingSigner?,
        fileSync: @escaping @Sendable (Int32) -> Void, onFailure: (@Sendable (String) -> Void)? = nil
    ) throws {
        let folder = (directory as NSString).appendingPathComponent(meta.sessionID)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lockPath = (folder as NSString).appendingPathComponent(Self.lockName)
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            if lock >= 0 { _ = Glibc.close(lock) }
            throw RecordingError.io("cannot lock \(lockPath)")
        }
        let events: AppendingFile
        var cast: AppendingFile?
        let now = Date()
        do {
            try Self.reserve((folder as NSString).appendingPathComponent(Self.reserveName))
            try Self.writeMeta(meta, folder: folder)
            events = try AppendingFile(path: (folder as NSString).appendingPathComponent("events.jsonl"))
            if let terminal {
                let file = try AppendingFile(path: (folder as NSString).appendingPathComponent("terminal.cast"))
                try file.append(Self.castHeader(terminal, start: now))
                try file.sync()
                cast = file
            }
        } catch {
            // A recording that could not start holds nothing: no half-made folder stays.
            _ = Glibc.close(lock)
            try? FileManager.default.removeItem(atPath: folder)
            throw error
        }
        self.onFailure = onFailure
        self.folder = folder
        self.sessionID = meta.sessionID
        self.signer = signer
        self.fileSync = fileSync
        self.state = Mutex(State(meta: meta, events: events, cast: cast, castStart: now, lockDescriptor: lock))
        self.syncTask = Mutex(nil)
        let task = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                guard let self else { return }
                self.sync()
            }
        }
        syncTask.withLock { $0 = task }
    }

    deinit {
        syncTask.withLock { $0?.cancel() }
    }

    /// Starts `terminal.cast` for a session that learns its terminal after it began (an SSH
    /// connection opens its shell or exec channel after authentication). Does nothing when
    /// the cast already exists; the cast's clock starts now.
    public func beginTerminal(_ terminal: TerminalInfo) {
        state.withLock { state in
            guard state.cast == nil, Self.accepts(&state) else { return }
            do {
                let file = try AppendingFile(path: (folder as NSString).appendingPathComponent("terminal.cast"))
                let now = Date()
                try file.append(Self.castHeader(terminal, start: now))
                try file.sync()
                state.cast = file
                state.castStart = now
            } catch {
                self.fail(&state, error)
            }
        }
    }

    /// Allocates `path` with `reserveBytes` of real disk blocks (not a sparse file).
    static func reserve(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RecordingError.io("cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { _ = Glibc.close(fd) }
        let result = posix_fallocate(fd, 0, off_t(reserveBytes))
        guard result == 0 else {
            unlink(path)
            throw RecordingError.io("no room for a new recording in \((path as NSString).deletingLastPathComponent): \(String(cString: strerror(result)))")
        }
    }

    /// Notes the first write failure and tells `onFailure`, outside the caller's lock.
    private func fail(_ state: inout State, _ error: any Error) {
        guard state.failed == nil else { return }
        let message = "\(error)"
        state.failed = message
        if let onFailure { Task { onFailure(message) } }
    }

    /// Whether the recorder still takes data; counts what it refuses after a failure.
    private static func accepts(_ state: inout State) -> Bool {
        guard !state.sealed else { return false }
        guard state.failed == nil else {
            state.dropped += 1
            return false
        }
        return true
    }

    /// Appends one line to `events.jsonl`.
    public func record(_ event: RecordingEvent) {
        state.withLock { state in
            guard Self.accepts(&state) else { return }
            do {
                // Encoded straight into the file's buffer: no line array per event.
                try state.events?.append { buffer in
                    event.appendJSONLine(to: &buffer, timestamps: &state.timestamps)
                    buffer.append(UInt8(ascii: "\n"))
                }
            } catch {
                self.fail(&state, error)
            }
        }
    }

    /// Terminal output (`o` event).
    public func output(_ bytes: some Collection<UInt8>) {
        let copy = Array(bytes)
        enqueueCast(copy.count) { recorder, time in recorder.castEvent(code: "o", bytes: copy, input: false, time: time) }
    }

    /// Terminal input (`i` event).
    public func input(_ bytes: some Collection<UInt8>) {
        let copy = Array(bytes)
        enqueueCast(copy.count) { recorder, time in recorder.castEvent(code: "i", bytes: copy, input: true, time: time) }
    }

    /// Terminal resize (`r` event, "COLSxROWS").
    public func resize(width: Int, height: Int) {
        enqueueCast(0) { recorder, time in
            recorder.state.withLock { state in
                guard state.cast != nil, Self.accepts(&state), let cast = state.cast else { return }
                let line = Self.castLine(elapsed: time.timeIntervalSince(state.castStart), code: "r", text: "\(width)x\(height)")
                do { try cast.append(line) } catch { self.fail(&state, error) }
            }
        }
    }

    /// Cast events are encoded and written in order on the recorder's serial queue, so the
    /// caller (an event loop relaying a terminal) only copies the bytes. Past
    /// `castBacklogLimit` bytes not yet written, the caller waits for the queue: memory stays
    /// bounded and the relay slows to the disk's pace.
    private func enqueueCast(_ count: Int, _ write: @escaping @Sendable (SessionRecorder, Date) -> Void) {
        let time = Date()
        let work: @Sendable () -> Void = { [self] in
            write(self, time)
            castBacklog.subtract(count, ordering: .relaxed)
        }
        if castBacklog.add(count, ordering: .relaxed).newValue > Self.castBacklogLimit {
            castQueue.sync(execute: work)
        } else {
            castQueue.async(execute: work)
        }
    }

    static let castBacklogLimit = 4 << 20

    private func castEvent(code: String, bytes: [UInt8], input: Bool, time: Date) {
        state.withLock { state in
            guard state.cast != nil, Self.accepts(&state), let cast = state.cast else { return }
            let elapsed = time.timeIntervalSince(state.castStart)
            // The common case, ASCII with nothing held back: escaped straight into the file's buffer.
            if input ? state.inputCarry.isEmpty : state.outputCarry.isEmpty,
               let written: Bool = bytes.withUnsafeBufferPointer({ buffer in
                   guard JSONString.isASCII(buffer) else { return nil }
                   do {
                       try cast.append { line in Self.appendCastLine(elapsed: elapsed, code: code, utf8: buffer, to: &line) }
                   } catch {
                       self.fail(&state, error)
                   }
                   return true
               }), written {
                return
            }
            let text = input ? state.inputCarry.decode(bytes) : state.outputCarry.decode(bytes)
            guard !text.isEmpty else { return }
            let line = Self.castLine(elapsed: time.timeIntervalSince(state.castStart), code: code, text: text)
            do { try cast.append(line) } catch { self.fail(&state, error) }
        }
    }

    /// Writes buffered data (cast events still queued included) and fsyncs.
    public func sync() {
        castQueue.sync {}
        syncing.withLock { _ in
            let descriptors: [Int32] = state.withLock { state in
                guard !state.sealed else { return [] }
                do {
                    return [try state.events?.prepareSync(), try state.cast?.prepareSync()].compactMap { $0 }
                } catch {
                    self.fail(&state, error)
                    return []
                }
            }
            // Outside the state lock: an fsync can take milliseconds or more while the disk is
            // busy, and the relay's event loop records under that lock (it stalled meanwhile).
            // `syncing` keeps `finish` from closing the files until the fsyncs are done.
            for descriptor in descriptors { fileSync(descriptor) }
        }
    }

    /// Ends the recording: writes the end time and status to `meta.json` and seals the folder.
    /// Calling it again does nothing.
    @discardableResult
    public func finish(status: String = "ended", end: Date = Date()) throws -> RecordingSeal? {
        syncTask.withLock { $0?.cancel() }
        castQueue.sync {}
        let prepared: RecordingMeta? = try syncing.withLock { _ in try state.withLock { state -> RecordingMeta? in
            guard !state.sealed else { return nil }
            state.sealed = true
            // The reserve's room is for what follows.
            unlink((folder as NSString).appendingPathComponent(Self.reserveName))
            if let failure = state.failed {
                let note = RecordingEvent(
                    type: .error, time: end,
                    error: "the recording stopped early: \(failure); \(state.dropped) later events were not recorded"
                )
                try state.events?.append { buffer in
                    note.appendJSONLine(to: &buffer, timestamps: &state.timestamps)
                    buffer.append(UInt8(ascii: "\n"))
                }
            }
            if let cast = state.cast {
                let elapsed = end.timeIntervalSince(state.castStart)
                for (code, rest) in [("o", state.outputCarry.finish()), ("i", state.inputCarry.finish())] where !rest.isEmpty {
                    try cast.append(Self.castLine(elapsed: elapsed, code: code, text: rest))
                }
            }
            try state.events?.close()
            try state.cast?.close()
            state.events = nil
            state.cast = nil
            state.meta.end = end
            state.meta.status = status
            return state.meta
        } }
        guard let meta = prepared else { return nil }
        try Self.writeMeta(meta, folder: folder)
        let seal = try RecordingSeal.seal(folder: folder, sessionID: sessionID, recovered: false, signer: signer)
        state.withLock { state in
            unlink((folder as NSString).appendingPathComponent(Self.lockName))
            _ = Glibc.close(state.lockDescriptor)
        }
        return seal
    }

    /// Whether a recording call would wait for the recorder's lock now (for tests).
    var isBusyForTesting: Bool { state.withLockIfAvailable { _ in false } ?? true }

    /// The first write error, if any (`onFailure` was told).
    public var failure: String? { state.withLock { $0.failed } }

    static func writeMeta(_ meta: RecordingMeta, folder: String) throws {
        let encoder = RecordingCoding.encoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let path = (folder as NSString).appendingPathComponent("meta.json")
        let temporary = path + ".tmp"
        try encoder.encode(meta).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path) == 0 else { throw RecordingError.io("cannot write \(path)") }
    }

    static func castHeader(_ terminal: TerminalInfo, start: Date) -> [UInt8] {
        var header: [String: Any] = [
            "version": 2, "width": terminal.width, "height": terminal.height, "timestamp": Int(start.timeIntervalSince1970),
        ]
        if let command = terminal.command { header["command"] = command }
        if let term = terminal.term { header["env"] = ["TERM": term] }
        let data = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{\"version\":2}".utf8)
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// `[elapsed, "code", "escaped"]\n` appended to `line`, from bytes known to be valid UTF-8.
    static func appendCastLine(elapsed: Double, code: String, utf8 bytes: UnsafeBufferPointer<UInt8>, to line: inout [UInt8]) {
        line.append(UInt8(ascii: "["))
        line.append(contentsOf: String(format: "%.6f", max(0, elapsed)).utf8)
        line.append(contentsOf: ", \"\(code)\", ".utf8)
        JSONString.append(utf8: bytes, to: &line)
        line.append(contentsOf: "]\n".utf8)
    }

    static func castLine(elapsed: Double, code: String, text: String) -> [UInt8] {
        var line: [UInt8] = [UInt8(ascii: "[")]
        line.append(contentsOf: String(format: "%.6f", max(0, elapsed)).utf8)
        line.append(contentsOf: ", \"\(code)\", ".utf8)
        JSONString.append(text, to: &line)
        line.append(contentsOf: "]\n".utf8)
        return line
    }
}
