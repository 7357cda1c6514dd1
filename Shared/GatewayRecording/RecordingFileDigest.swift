import Crypto
import Foundation

/// The SHA-256 of one recording file fed in pieces, as `seal.json` lists it (lowercase hex).
public struct RecordingFileDigest: Sendable {
    private var hasher = SHA256()

    public init() {}

    public mutating func update(_ data: Data) {
        hasher.update(data: data)
    }

    public func finalize() -> String {
        hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
