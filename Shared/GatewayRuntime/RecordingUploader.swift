import Foundation
import GatewayAdmin
import GatewayRecording
import GatewayState
import Logging

/// Copies each sealed recording into the shared state store when that store keeps
/// recordings (`RecordingArchive`: PostgreSQL), so that every instance's admin API serves
/// every session. The local folder is the write-ahead buffer: a folder is marked `.stored`
/// once its copy is whole; a sealed folder without the mark (its upload failed, or the
/// process stopped first) is uploaded again by `sweep()`, at start and every minute.
///
/// Uploads run one at a time, in the background: a session's end does not wait for its copy.
public actor RecordingUploader {
    /// Each chunk is one row and one round trip; a store operation must answer within its
    /// timeout, so a chunk is kept well below what a slow link carries in that time.
    static let chunkSize = 512 * 1024

    let archive: (any RecordingArchive)?
    let directory: String
    let instanceID: String
    let metrics: GatewayMetrics?
    let logger: Logger
    private var queue: [String] = []
    private var worker: Task<Void, Never>?

    public init(archive: (any RecordingArchive)?, directory: String, instanceID: String, metrics: GatewayMetrics? = nil, logger: Logger) {
        self.archive = archive
        self.directory = directory
        self.instanceID = instanceID
        self.metrics = metrics
        self.logger = logger
    }

    /// Queues a just-sealed session's recording.
    public func enqueue(_ sessionID: String) {
        guard archive != nil, !queue.contains(sessionID) else { return }
        queue.append(sessionID)
        guard worker == nil else { return }
        worker = Task { await self.work() }
    }

    private func work() async {
        while !queue.isEmpty, !Task.isCancelled {
            let id = queue[0]
            await uploadLogged(id)
            queue.removeFirst()
        }
        worker = nil
    }

    /// Queues every sealed recording not yet stored and waits for them; returns how many
    /// are still not stored, which is also what `gateway_recordings_unstored` reports (set
    /// here, once a minute, not after every session's copy: each count lists the folder).
    @discardableResult
    public func sweep() async -> Int {
        guard archive != nil else { return 0 }
        for id in unstored() { enqueue(id) }
        await worker?.value
        let left = unstored().count
        metrics?.recordingsUnstored(left)
        return left
    }

    /// Waits for the uploads queued so far, at most `limit`; whatever is left is uploaded by
    /// the next start's sweep. True when nothing was left.
    public func finish(within limit: Duration) async -> Bool {
        guard let worker else { return true }
        struct Late: Error {}
        do {
            try await answer(within: limit, { await worker.value }, onTimeout: { Late() })
            return true
        } catch {
            worker.cancel()
            return false
        }
    }

    /// Session ids of sealed folders without the stored mark, oldest first.
    func unstored() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().filter { name in
            guard !name.hasPrefix(".") else { return false }
            let folder = (directory as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName))
                && !FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(StoredRecording.markerName))
        }
    }

    private func uploadLogged(_ sessionID: String) async {
        do {
            guard try await upload(sessionID) else { return }
            metrics?.recordingUpload("stored")
        } catch {
            metrics?.recordingUpload("failed")
            logger.warning("a sealed recording was not copied to the state store; it is tried again within a minute", metadata: [
                "gateway.session": "\(sessionID)", "gateway.error": "\(error)",
            ])
        }
    }

    /// Copies one sealed folder; false when there is nothing to copy (gone, or not sealed).
    func upload(_ sessionID: String) async throws -> Bool {
        guard let archive else { return false }
        let folder = (directory as NSString).appendingPathComponent(sessionID)
        guard let sealData = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName)),
              let seal = try? JSONDecoder().decode(RecordingSeal.self, from: sealData) else { return false }
        var counts: [String: Int] = [:]
        // The files the seal names, as they are: a file altered since sealing is copied as it is
        // and fails verification there, as it does here.
        for name in seal.files.keys.sorted() {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            var index = 0
            while let chunk = try handle.read(upToCount: Self.chunkSize), !chunk.isEmpty {
                try Task.checkCancellation()
                try await archive.storeRecordingChunk(sessionID: sessionID, file: name, index: index, data: chunk)
                index += 1
            }
            counts[name] = index
        }
        let meta = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("meta.json")) ?? Data("{}".utf8)
        try await archive.completeRecording(StoredRecording(sessionID: sessionID, meta: meta, seal: sealData, chunkCounts: counts, instance: instanceID))
        let marker = (folder as NSString).appendingPathComponent(StoredRecording.markerName)
        guard FileManager.default.createFile(atPath: marker, contents: Data()) else {
            throw RecordingError.io("cannot mark \(folder) stored")
        }
        return true
    }
}
