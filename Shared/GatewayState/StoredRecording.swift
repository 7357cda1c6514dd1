import Foundation

/// A sealed session recording as the shared state store holds it: the folder's files, cut
/// into chunks, with the seal they were hashed into. Listing needs only this summary; the
/// files' bytes are read chunk by chunk.
public struct StoredRecording: Sendable, Hashable {
    public var sessionID: String
    /// `meta.json` as recorded (also one of the files): the listing reads it from here.
    public var meta: Data
    /// `seal.json` as recorded.
    public var seal: Data
    /// File name → how many chunks hold it (a file of no bytes has none).
    public var chunkCounts: [String: Int]
    public var storedAt: Date
    /// The gateway instance that recorded and uploaded it.
    public var instance: String

    public init(sessionID: String, meta: Data, seal: Data, chunkCounts: [String: Int], storedAt: Date = Date(), instance: String) {
        self.sessionID = sessionID
        self.meta = meta
        self.seal = seal
        self.chunkCounts = chunkCounts
        self.storedAt = storedAt
        self.instance = instance
    }

    /// The empty file that marks a local recording folder whose copy is in the store (hidden,
    /// so the seal and the verifier leave it out).
    public static let markerName = ".stored"

    /// The file names, without the seal (which is `seal`).
    public var fileNames: [String] { chunkCounts.keys.sorted() }
}
