import Crypto
import Foundation

/// `seal.json`: the SHA-256 of every file in the folder, optionally Ed25519-signed.
///
/// The signature covers the canonical JSON (sorted keys) of the seal without its
/// `signature` field.
public struct RecordingSeal: Sendable, Codable, Hashable {
    public var version: Int
    public var sessionID: String
    public var sealedAt: String
    public var recovered: Bool
    /// File name → lowercase hex SHA-256.
    public var files: [String: String]
    /// Base64 Ed25519 public key, when signed.
    public var publicKey: String?
    /// Base64 signature, when signed.
    public var signature: String?

    public static let fileName = "seal.json"

    enum CodingKeys: String, CodingKey {
        case version, sessionID = "session_id", sealedAt = "sealed_at", recovered, files, publicKey = "public_key", signature
    }

    /// The bytes that are signed.
    func signedPayload() throws -> Data {
        var unsigned = self
        unsigned.signature = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(unsigned)
    }

    /// Hashes every regular file in `folder` except the seal itself.
    static func digests(in folder: String) throws -> [String: String] {
        var files: [String: String] = [:]
        // Hidden files (the recording lock) are bookkeeping, not evidence.
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != fileName && !name.hasPrefix(".") {
            let path = (folder as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[name] = try sha256(file: path)
        }
        return files
    }

    static func sha256(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw RecordingError.io("cannot read \(path)") }
        defer { try? handle.close() }
        var digest = RecordingFileDigest()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            digest.update(chunk)
        }
        return digest.finalize()
    }

    /// Seals `folder`: hashes its files and writes `seal.json` (signed when `signer` is given).
    @discardableResult
    public static func seal(folder: String, sessionID: String, recovered: Bool, signer: RecordingSigner?) throws -> RecordingSeal {
        var seal = RecordingSeal(
            version: 1, sessionID: sessionID, sealedAt: RecordingCoding.timestamp(Date()), recovered: recovered,
            files: try digests(in: folder), publicKey: signer?.publicKeyBase64, signature: nil
        )
        if let signer {
            seal.signature = try signer.sign(try seal.signedPayload()).base64EncodedString()
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let path = (folder as NSString).appendingPathComponent(fileName)
        let temporary = path + ".tmp"
        try encoder.encode(seal).write(to: URL(fileURLWithPath: temporary))
        // Atomic: a seal is either absent or whole.
        guard rename(temporary, path) == 0 else { throw RecordingError.io("cannot write \(path)") }
        return seal
    }
}
