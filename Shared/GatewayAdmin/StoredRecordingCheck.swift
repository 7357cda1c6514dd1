import Foundation
import GatewayRecording
import GatewayState

/// Verifies the state store's copy of a recording against the seal stored with it: every
/// file is read back chunk by chunk and hashed, as `gatewayctl recordings verify` does with a
/// folder. `trustedKeys` pins the signer (see `RecordingVerifier`): whoever can write the
/// store can rewrite a seal to match altered files, but cannot sign it with a trusted key.
enum StoredRecordingCheck {
    static func verify(_ recording: StoredRecording, in archive: any RecordingArchive, trusting trustedKeys: Set<String>) async throws -> Result<RecordingVerifier.Report, RecordingVerifier.Problem> {
        var digests: [String: String] = [:]
        for name in recording.fileNames {
            var digest = RecordingFileDigest()
            // A missing chunk leaves the file out: the verifier names it missing.
            if try await archive.forEachStoredChunk(recording, name: name, { digest.update($0) }) {
                digests[name] = digest.finalize()
            }
        }
        do {
            return .success(try RecordingVerifier.verify(seal: recording.seal, digests: digests, trusting: trustedKeys))
        } catch {
            return .failure(error)
        }
    }
}
