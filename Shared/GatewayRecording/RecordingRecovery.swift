#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Seals recordings left unsealed by a crash. Run at every gateway start.
///
/// A folder is orphaned when it has no `seal.json` and no live process holds its
/// `.recording.lock`. A half-written last line of `events.jsonl` or `terminal.cast` is moved
/// to `<file>.partial` so the files stay valid line by line and nothing is dropped.
public enum RecordingRecovery {
    @discardableResult
    public static func recover(directory: String, signer: RecordingSigner?) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var recovered: [String] = []
        for name in names.sorted() {
            let folder = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue,
                  !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName)) else { continue }
            let lockPath = (folder as NSString).appendingPathComponent(SessionRecorder.lockName)
            let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard lock >= 0 else { continue }
            defer { close(lock) }
            // Someone is still recording here.
            guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { continue }
            do {
                try recoverFolder(folder, sessionID: name, signer: signer)
                unlink(lockPath)
                recovered.append(name)
            } catch {
                continue
            }
        }
        return recovered
    }

    static func recoverFolder(_ folder: String, sessionID: String, signer: RecordingSigner?) throws {
        // The crashed recorder's reserved room is what the seal is written into.
        unlink((folder as NSString).appendingPathComponent(SessionRecorder.reserveName))
        var lastWrite = Date.distantPast
        for file in ["events.jsonl", "terminal.cast"] {
            let path = (folder as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else { continue }
            if let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date {
                lastWrite = max(lastWrite, modified)
            }
            try splitPartialLine(path)
        }
        let metaPath = (folder as NSString).appendingPathComponent("meta.json")
        var meta: RecordingMeta
        if let data = FileManager.default.contents(atPath: metaPath), let decoded = try? RecordingCoding.decoder().decode(RecordingMeta.self, from: data) {
            meta = decoded
        } else {
            meta = RecordingMeta(sessionID: sessionID, service: "unknown", connection: "unknown", identity: .init(sub: "unknown", email: nil, groups: []), clientAddress: nil)
        }
        meta.end = lastWrite == .distantPast ? Date() : lastWrite
        meta.status = "recovered"
        meta.recovered = true
        try SessionRecorder.writeMeta(meta, folder: folder)
        try RecordingSeal.seal(folder: folder, sessionID: sessionID, recovered: true, signer: signer)
    }

    /// Moves an unterminated last line into `<path>.partial`.
    static func splitPartialLine(_ path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") else { return }
        let cut = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? data.startIndex
        try data[cut...].write(to: URL(fileURLWithPath: path + ".partial"))
        guard truncate(path, off_t(cut - data.startIndex)) == 0 else { throw RecordingError.io("cannot truncate \(path)") }
    }
}
