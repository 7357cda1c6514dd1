import Foundation
import GatewayRecording
import GatewayTesting
import Synchronization
import Testing

/// The recorder on a disk that is full for real (a small tmpfs): a recording that cannot
/// reserve its room does not start and leaves nothing behind; one whose writes start failing
/// says so once, stops taking events, and still seals what it wrote, noting the gap.
@Suite("Session recorder on a full disk", .serialized)
struct SessionRecorderDiskFullTests {
    static func meta() -> RecordingMeta {
        RecordingMeta(sessionID: "s-full-\(UUID().uuidString.prefix(6))", service: "postgres-gateway", connection: "orders", identity: .init(sub: "agent-1", email: nil, groups: ["agents"]), clientAddress: "127.0.0.1:40000")
    }

    @Test func aRecordingThatCannotReserveItsRoomDoesNotStart() throws {
        guard RecordingDiskFullTests.requireSmallDisk() else { return }
        let disk = try SmallDisk(size: "1m")
        defer { disk.unmount() }
        disk.fill()
        let meta = Self.meta()
        #expect(throws: RecordingError.self) { try SessionRecorder(directory: disk.path, meta: meta) }
        #expect(!FileManager.default.fileExists(atPath: disk.path + "/" + meta.sessionID), "no half-made folder")
        disk.free()
        let recorder = try SessionRecorder(directory: disk.path, meta: meta)
        try recorder.finish()
        _ = try RecordingVerifier.verify(folder: recorder.folder)
    }

    @Test func aRecordingWhoseDiskFillsSealsWhatItWroteAndNotesTheGap() async throws {
        guard RecordingDiskFullTests.requireSmallDisk() else { return }
        let disk = try SmallDisk(size: "1m")
        defer { disk.unmount() }
        let failures = Mutex<[String]>([])
        let recorder = try SessionRecorder(directory: disk.path, meta: Self.meta(), onFailure: { message in failures.withLock { $0.append(message) } })
        recorder.record(RecordingEvent(type: .query, command: "SELECT 'written-before'"))
        recorder.sync()
        disk.fill()
        // 200 KB of events: more than the file's last page and the buffer can hold.
        for index in 0..<400 {
            recorder.record(RecordingEvent(type: .query, command: "SELECT '\(index)' -- " + String(repeating: "x", count: 500)))
        }
        recorder.sync()
        #expect(recorder.failure?.contains("No space left on device") == true, "\(recorder.failure ?? "no failure")")
        for _ in 0..<50 where failures.withLock({ $0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(failures.withLock { $0.count } == 1, "told once")
        // Taken no more.
        recorder.record(RecordingEvent(type: .query, command: "SELECT 'after-the-failure'"))
        try recorder.finish()
        _ = try RecordingVerifier.verify(folder: recorder.folder)
        let events = try String(contentsOfFile: recorder.folder + "/events.jsonl", encoding: .utf8)
        #expect(events.contains("written-before"))
        #expect(!events.contains("after-the-failure"))
        #expect(events.contains("the recording stopped early: "))
        #expect(events.contains("later events were not recorded"))
        #expect(!FileManager.default.fileExists(atPath: recorder.folder + "/.seal-reserve"))
        // Each line is whole JSON: a write cut by the full disk was completed, not torn.
        let lines = events.split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }
}
