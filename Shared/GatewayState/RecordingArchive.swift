import Foundation

/// A state store that also keeps sealed recordings, so that every gateway instance serves
/// every session whichever instance recorded it. `PostgresStateStore` is one; the embedded
/// SQLite store is not (its recordings stay in the local folder, on the one host).
///
/// An upload writes the chunks first and the recording's row last: a recording is listed
/// only once all of it is there, and an interrupted upload is simply done again.
public protocol RecordingArchive: Sendable {
    /// Stores chunk `index` of `file` (idempotent: a repeated upload overwrites it).
    func storeRecordingChunk(sessionID: String, file: String, index: Int, data: Data) async throws
    /// Makes the recording visible, once every chunk named in `recording.chunkCounts` is stored.
    func completeRecording(_ recording: StoredRecording) async throws
    /// Newest first.
    func storedRecordings(limit: Int) async throws -> [StoredRecording]
    func storedRecording(id: String) async throws -> StoredRecording?
    /// nil when the chunk is missing.
    func storedRecordingChunk(sessionID: String, file: String, index: Int) async throws -> Data?
}

extension RecordingArchive {
    /// Reads a stored file's chunks in order into `body`; false when the file is not stored or
    /// a chunk is missing (reading stops there).
    public func forEachStoredChunk(_ recording: StoredRecording, name: String, _ body: (Data) -> Void) async throws -> Bool {
        guard let count = recording.chunkCounts[name] else { return false }
        for index in 0..<count {
            guard let chunk = try await storedRecordingChunk(sessionID: recording.sessionID, file: name, index: index) else { return false }
            body(chunk)
        }
        return true
    }

    /// A stored file's bytes, whole; nil when it is not stored or a chunk is missing.
    public func storedRecordingFile(_ recording: StoredRecording, name: String) async throws -> Data? {
        var data = Data()
        return try await forEachStoredChunk(recording, name: name) { data.append($0) } ? data : nil
    }
}
