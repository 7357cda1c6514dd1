import Crypto
import Foundation
import NIOSSH

/// Reads and writes OpenSSH's private key file format (`-----BEGIN OPENSSH PRIVATE KEY-----`,
/// the `openssh-key-v1` structure of PROTOCOL.key) for the key types swift-nio-ssh can use:
/// ssh-ed25519 and ecdsa-sha2-nistp256/384/521. Encrypted keys are refused with a clear error.
public enum OpenSSHPrivateKey {
    static let magic = Array("openssh-key-v1".utf8) + [0]
    static let beginLine = "-----BEGIN OPENSSH PRIVATE KEY-----"
    static let endLine = "-----END OPENSSH PRIVATE KEY-----"

    /// A parsed key: what NIOSSH signs with, and its OpenSSH public key line.
    public struct Parsed: Sendable {
        public var key: NIOSSHPrivateKey
        public var type: String
        public var comment: String
        public var publicKeyLine: String { String(openSSHPublicKey: key.publicKey) }
    }

    public static func load(file path: String) throws(SSHKeyError) -> Parsed {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .io("cannot read the private key file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self))
    }

    public static func parse(_ text: String) throws(SSHKeyError) -> Parsed {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: beginLine), let end = lines.firstIndex(of: endLine), begin < end else {
            if text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN DSA PRIVATE KEY") {
                throw .unsupported("RSA and DSA keys")
            }
            throw .malformed("no \(beginLine) block")
        }
        guard let decoded = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw .malformed("the key block is not valid base64")
        }
        return try decode(Array(decoded))
    }

    static func decode(_ bytes: [UInt8]) throws(SSHKeyError) -> Parsed {
        var reader = SSHWireReader(bytes)
        guard try reader.readBytes(magic.count) == magic else { throw .malformed("missing openssh-key-v1 header") }
        let cipher = try reader.readText()
        let kdf = try reader.readText()
        _ = try reader.readString()
        guard cipher == "none", kdf == "none" else { throw .encrypted }
        guard try reader.readUInt32() == 1 else { throw .unsupported("files holding more than one key") }
        _ = try reader.readString()
        var section = SSHWireReader(try reader.readString())
        guard try section.readUInt32() == section.readUInt32() else { throw .malformed("check values differ (wrong passphrase or a damaged file)") }
        let type = try section.readText()
        let key: NIOSSHPrivateKey
        switch type {
        case "ssh-ed25519":
            _ = try section.readString()
            let secret = try section.readString()
            guard secret.count == 64, let signing = try? Curve25519.Signing.PrivateKey(rawRepresentation: secret[0..<32]) else {
                throw .malformed("an ed25519 private key is 64 bytes")
            }
            key = NIOSSHPrivateKey(ed25519Key: signing)
        case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
            let curve = try section.readText()
            _ = try section.readString()
            let scalar = try section.readString()
            key = try ecdsaKey(curve: curve, scalar: scalar)
        default:
            throw .unsupported(type.isEmpty ? "an empty key type" : type)
        }
        let comment = try section.readText()
        return Parsed(key: key, type: type, comment: comment)
    }

    /// `mpint` d, trimmed of its sign byte and left-padded to the curve's size.
    static func ecdsaKey(curve: String, scalar: [UInt8]) throws(SSHKeyError) -> NIOSSHPrivateKey {
        let size: Int
        switch curve {
        case "nistp256": size = 32
        case "nistp384": size = 48
        case "nistp521": size = 66
        default: throw .unsupported("ECDSA curve \(curve)")
        }
        var raw = Array(scalar.drop { $0 == 0 })
        guard raw.count <= size else { throw .malformed("the ECDSA private scalar is too long") }
        raw.insert(contentsOf: [UInt8](repeating: 0, count: size - raw.count), at: 0)
        do {
            switch size {
            case 32: return NIOSSHPrivateKey(p256Key: try P256.Signing.PrivateKey(rawRepresentation: raw))
            case 48: return NIOSSHPrivateKey(p384Key: try P384.Signing.PrivateKey(rawRepresentation: raw))
            default: return NIOSSHPrivateKey(p521Key: try P521.Signing.PrivateKey(rawRepresentation: raw))
            }
        } catch {
            throw .malformed("the ECDSA private scalar is not valid for \(curve)")
        }
    }

    /// An unencrypted OpenSSH file for an Ed25519 key, as `ssh-keygen -t ed25519 -N ''` writes it.
    public static func encode(ed25519 key: Curve25519.Signing.PrivateKey, comment: String) -> String {
        let publicKey = Array(key.publicKey.rawRepresentation)
        var publicBlob = SSHWireWriter()
        publicBlob.writeText("ssh-ed25519")
        publicBlob.writeString(publicKey)

        var section = SSHWireWriter()
        let check = UInt32.random(in: 0...UInt32.max)
        section.writeUInt32(check)
        section.writeUInt32(check)
        section.writeText("ssh-ed25519")
        section.writeString(publicKey)
        section.writeString(Array(key.rawRepresentation) + publicKey)
        section.writeText(comment)
        var padding: UInt8 = 1
        while section.bytes.count % 8 != 0 {
            section.writeBytes([padding])
            padding += 1
        }

        var file = SSHWireWriter()
        file.writeBytes(magic)
        file.writeText("none")
        file.writeText("none")
        file.writeText("")
        file.writeUInt32(1)
        file.writeString(publicBlob.bytes)
        file.writeString(section.bytes)

        let base64 = Data(file.bytes).base64EncodedString()
        var lines = [beginLine]
        var index = base64.startIndex
        while index < base64.endIndex {
            let next = base64.index(index, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<next]))
            index = next
        }
        lines.append(endLine)
        return lines.joined(separator: "\n") + "\n"
    }
}
