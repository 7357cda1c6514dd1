import Foundation
import GatewayRecording
import GatewayRuntime
import GatewayState
import Logging
import Testing

/// The uploader against an in-memory `RecordingArchive` that can be made to fail: what is
/// copied, in how many chunks, what is left for the next sweep. (The PostgreSQL archive
/// itself is exercised end to end by `RecordingsAcrossInstancesTests`.)
@Suite("Recording uploader")
struct RecordingUploaderTests {
    /// An archive in memory; `failing` makes every write throw, as a store that is away does.
    actor MemoryArchive: RecordingArchive {
        struct Unavailable: Error {}
        var failing = false
        var chunks: [String: Data] = [:]
        var recordings: [String: StoredRecording] = [:]

        func setFailing(_ value: Bool) { failing = value }

        func storeRecordingChunk(sessionID: String, file: String, index: Int, data: Data) async throws {
            if failing { throw Unavailable() }
            chunks["\(sessionID)/\(file)/\(index)"] = data
        }

        func completeRecording(_ recording: StoredRecording) async throws {
            if failing { throw Unavailable() }
            recordings[recording.sessionID] = recording
        }

        func storedRecordings(limit: Int) async throws -> [StoredRecording] { Array(recordings.values) }
        func storedRecording(id: String) async throws -> StoredRecording? { recordings[id] }
        func storedRecordingChunk(sessionID: String, file: String, index: Int) async throws -> Data? { chunks["\(sessionID)/\(file)/\(index)"] }
    }

    static func sealedRecording(in directory: String, id: String, terminalBytes: Int = 0) throws {
        let recorder = try SessionRecorder(
            directory: directory,
            meta: RecordingMeta(sessionID: id, service: "ssh-gateway", connection: "web", identity: .init(sub: "agent-1", email: nil, groups: ["agents"]), clientAddress: "127.0.0.1:1"),
            terminal: terminalBytes > 0 ? TerminalInfo() : nil
        )
        recorder.record(RecordingEvent(type: .exec, command: "echo \(id)"))
        if terminalBytes > 0 {
            // Printable and varied, so the cast is as long as asked.
            let line = Array("0123456789abcdefghijklmnopqrstuvwxyz\r\n".utf8)
            var left = terminalBytes
            while left > 0 {
                recorder.output(line.prefix(left))
                left -= line.count
            }
        }
        try recorder.finish()
    }

    static func directory() -> String {
        let path = NSTemporaryDirectory() + "gateway-upload-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aSealedRecordingIsCopiedWholeInChunksAndMarked() async throws {
        let directory = Self.directory()
        try Self.sealedRecording(in: directory, id: "s-big", terminalBytes: 1_300_000)
        let archive = MemoryArchive()
        let uploader = RecordingUploader(archive: archive, directory: directory, instanceID: "host-a:1", logger: Logger(label: "test"))
        #expect(await uploader.sweep() == 0)
        let stored = try #require(await archive.recordings["s-big"])
        #expect(stored.instance == "host-a:1")
        #expect(stored.fileNames == ["events.jsonl", "meta.json", "terminal.cast"])
        // Over 1.3 MB of cast: more than one chunk, read back byte for byte.
        #expect((stored.chunkCounts["terminal.cast"] ?? 0) >= 3)
        for name in stored.fileNames {
            let copy = try await archive.storedRecordingFile(stored, name: name)
            #expect(copy == FileManager.default.contents(atPath: "\(directory)/s-big/\(name)"), "\(name)")
        }
        #expect(stored.seal == FileManager.default.contents(atPath: "\(directory)/s-big/seal.json"))
        #expect(FileManager.default.fileExists(atPath: "\(directory)/s-big/.stored"))
        // The mark is bookkeeping: the folder still verifies against its seal.
        #expect(throws: Never.self) { try RecordingVerifier.verify(folder: "\(directory)/s-big") }
    }

    @Test func theStoredCopyVerifiesAgainstItsSealAndAnAlteredOneDoesNot() async throws {
        let directory = Self.directory()
        try Self.sealedRecording(in: directory, id: "s-check")
        let archive = MemoryArchive()
        let uploader = RecordingUploader(archive: archive, directory: directory, instanceID: "a", logger: Logger(label: "test"))
        await uploader.sweep()
        let stored = try #require(await archive.recordings["s-check"])
        func digests() async throws -> [String: String] {
            var result: [String: String] = [:]
            for name in stored.fileNames {
                var digest = RecordingFileDigest()
                digest.update(try #require(try await archive.storedRecordingFile(stored, name: name)))
                result[name] = digest.finalize()
            }
            return result
        }
        let intact = try await digests()
        #expect(throws: Never.self) { try RecordingVerifier.verify(seal: stored.seal, digests: intact) }
        var altered = try await digests()
        altered["events.jsonl"] = String(repeating: "0", count: 64)
        #expect {
            try RecordingVerifier.verify(seal: stored.seal, digests: altered)
        } throws: { error in
            (error as? RecordingVerifier.Problem)?.file == "events.jsonl"
        }
    }

    @Test func aFailedUploadIsLeftUnmarkedAndTheNextSweepStoresIt() async throws {
        let directory = Self.directory()
        try Self.sealedRecording(in: directory, id: "s-1")
        try Self.sealedRecording(in: directory, id: "s-2")
        let archive = MemoryArchive()
        await archive.setFailing(true)
        let uploader = RecordingUploader(archive: archive, directory: directory, instanceID: "a", logger: Logger(label: "test"))
        await uploader.enqueue("s-1")
        #expect(await uploader.finish(within: .seconds(10)))
        #expect(await uploader.sweep() == 2, "neither is stored while the store is away")
        #expect(await archive.recordings.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/s-1/.stored"))

        await archive.setFailing(false)
        #expect(await uploader.sweep() == 0)
        #expect(await Set(archive.recordings.keys) == ["s-1", "s-2"])
        // Stored ones are not copied again.
        await archive.setFailing(true)
        #expect(await uploader.sweep() == 0)
    }

    @Test func aRecordingStillBeingWrittenIsNotCopied() async throws {
        let directory = Self.directory()
        let open = try SessionRecorder(
            directory: directory,
            meta: RecordingMeta(sessionID: "s-open", service: "postgres-gateway", connection: "db", identity: .init(sub: "a", email: nil, groups: []), clientAddress: nil),
            terminal: nil
        )
        open.record(RecordingEvent(type: .query, command: "SELECT 1"))
        let archive = MemoryArchive()
        let uploader = RecordingUploader(archive: archive, directory: directory, instanceID: "a", logger: Logger(label: "test"))
        await uploader.enqueue("s-open")
        #expect(await uploader.finish(within: .seconds(10)))
        #expect(await uploader.sweep() == 0)
        #expect(await archive.recordings.isEmpty)
        try open.finish()
        #expect(await uploader.sweep() == 0)
        #expect(await archive.recordings["s-open"] != nil)
    }

    @Test func withoutAnArchiveNothingHappens() async throws {
        let directory = Self.directory()
        try Self.sealedRecording(in: directory, id: "s-local")
        let uploader = RecordingUploader(archive: nil, directory: directory, instanceID: "a", logger: Logger(label: "test"))
        #expect(await uploader.sweep() == 0)
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/s-local/.stored"))
    }
}
