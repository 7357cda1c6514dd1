import Crypto
import Foundation

/// Signs seals with an Ed25519 key read from a PEM file (PKCS#8 `PRIVATE KEY`, as
/// `openssl genpkey -algorithm ed25519` writes it).
public struct RecordingSigner: Sendable {
    let key: Curve25519.Signing.PrivateKey

    public init(key: Curve25519.Signing.PrivateKey) {
        self.key = key
    }

    public init(pemFile: String) throws {
        guard let data = FileManager.default.contents(atPath: pemFile) else { throw RecordingError.badKey("cannot read \(pemFile)") }
        try self.init(pem: String(decoding: data, as: UTF8.self))
    }

    public init(pem: String) throws {
        let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        guard let der = Data(base64Encoded: body) else { throw RecordingError.badKey("not PEM") }
        // PKCS#8 for Ed25519: 16 bytes of fixed prefix, then the 32-byte seed.
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        guard der.count == 48, Array(der.prefix(16)) == prefix else { throw RecordingError.badKey("not an Ed25519 PKCS#8 private key") }
        key = try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
    }

    /// The PEM a test or an operator can write for this key.
    public var pemRepresentation: String {
        let prefix: [UInt8] = [0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        let der = Data(prefix) + key.rawRepresentation
        return "-----BEGIN PRIVATE KEY-----\n\(der.base64EncodedString())\n-----END PRIVATE KEY-----\n"
    }

    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    func sign(_ data: Data) throws -> Data { try key.signature(for: data) }
}
