import Foundation
import PostgresNIO

extension PostgresStateStore: RecordingArchive {
    public func storeRecordingChunk(sessionID: String, file: String, index: Int, data: Data) async throws {
        try await answered { connection in
            try await connection.query("""
                INSERT INTO gateway_recording_chunks (session_id, file, chunk, data) VALUES (\(sessionID), \(file), \(index), \(data))
                ON CONFLICT (session_id, file, chunk) DO UPDATE SET data = excluded.data
                """, logger: Self.logger)
        }
    }

    public func completeRecording(_ recording: StoredRecording) async throws {
        let counts = String(decoding: try JSONEncoder().encode(recording.chunkCounts), as: UTF8.self)
        try await answered { connection in
            try await connection.withTransaction(logger: Self.logger) { connection in
                // Chunks left by an earlier, longer upload of the same session are not part of it.
                for (file, count) in recording.chunkCounts {
                    try await connection.query("""
                        DELETE FROM gateway_recording_chunks WHERE session_id = \(recording.sessionID) AND file = \(file) AND chunk >= \(count)
                        """, logger: Self.logger)
                }
                try await connection.query("""
                    INSERT INTO gateway_recordings (session_id, stored_at, instance, meta, seal, chunk_counts)
                    VALUES (\(recording.sessionID), \(recording.storedAt.timeIntervalSince1970), \(recording.instance), \(recording.meta), \(recording.seal), \(counts))
                    ON CONFLICT (session_id) DO UPDATE SET stored_at = excluded.stored_at, instance = excluded.instance,
                        meta = excluded.meta, seal = excluded.seal, chunk_counts = excluded.chunk_counts
                    """, logger: Self.logger)
            }
        }
    }

    public func storedRecordings(limit: Int) async throws -> [StoredRecording] {
        try await answered { connection in
            let rows = try await connection.query("""
                SELECT session_id, stored_at, instance, meta, seal, chunk_counts FROM gateway_recordings
                ORDER BY stored_at DESC LIMIT \(max(1, limit))
                """, logger: Self.logger)
            return try await Self.decodeRecordings(rows)
        }
    }

    public func storedRecording(id: String) async throws -> StoredRecording? {
        try await answered { connection in
            let rows = try await connection.query("""
                SELECT session_id, stored_at, instance, meta, seal, chunk_counts FROM gateway_recordings WHERE session_id = \(id)
                """, logger: Self.logger)
            return try await Self.decodeRecordings(rows).first
        }
    }

    public func storedRecordingChunk(sessionID: String, file: String, index: Int) async throws -> Data? {
        try await answered { connection in
            let rows = try await connection.query("""
                SELECT data FROM gateway_recording_chunks WHERE session_id = \(sessionID) AND file = \(file) AND chunk = \(index)
                """, logger: Self.logger)
            var data: Data?
            for try await value in rows.decode(Data.self) { data = value }
            return data
        }
    }

    private static func decodeRecordings(_ rows: PostgresRowSequence) async throws -> [StoredRecording] {
        var recordings: [StoredRecording] = []
        for try await (id, storedAt, instance, meta, seal, counts) in rows.decode((String, Double, String, Data, Data, String).self) {
            recordings.append(StoredRecording(
                sessionID: id, meta: meta, seal: seal,
                chunkCounts: try JSONDecoder().decode([String: Int].self, from: Data(counts.utf8)),
                storedAt: Date(timeIntervalSince1970: storedAt), instance: instance
            ))
        }
        return recordings
    }
}
