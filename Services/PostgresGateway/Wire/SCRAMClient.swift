import Crypto
import Foundation

/// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL uses it, client side, without channel binding.
public struct SCRAMClient: Sendable {
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case serverSignatureMismatch
        public var description: String {
            switch self {
            case .malformed(let what): "malformed SCRAM \(what) from the server"
            case .serverSignatureMismatch: "the server's SCRAM signature does not verify"
            }
        }
    }

    private let password: String
    private let clientNonce: String
    private var clientFirstBare = ""
    private var serverSignature: [UInt8] = []

    public init(password: String, nonce: String? = nil) {
        self.password = password
        if let nonce {
            self.clientNonce = nonce
        } else {
            var bytes = [UInt8](repeating: 0, count: 18)
            for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
            self.clientNonce = Data(bytes).base64EncodedString()
        }
    }

    /// client-first-message
    public mutating func firstMessage() -> [UInt8] {
        clientFirstBare = "n=,r=\(clientNonce)"
        return Array(("n,," + clientFirstBare).utf8)
    }

    /// Given server-first-message, returns client-final-message.
    public mutating func finalMessage(serverFirst: [UInt8]) throws(Failure) -> [UInt8] {
        let text = String(decoding: serverFirst, as: UTF8.self)
        var fields: [Character: String] = [:]
        for part in text.split(separator: ",") where part.count >= 2 {
            fields[part.first!] = String(part.dropFirst(2))
        }
        guard let nonce = fields["r"], nonce.hasPrefix(clientNonce), let saltText = fields["s"],
              let salt = Data(base64Encoded: saltText), let iterationText = fields["i"], let iterations = Int(iterationText), iterations > 0 else {
            throw .malformed("server-first-message")
        }
        let salted = Self.pbkdf2(password: Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = Self.hmac(salted, Array("Client Key".utf8))
        let storedKey = Array(SHA256.hash(data: clientKey))
        let withoutProof = "c=biws,r=\(nonce)"
        let authMessage = Array("\(clientFirstBare),\(text),\(withoutProof)".utf8)
        let clientSignature = Self.hmac(storedKey, authMessage)
        let proof = zip(clientKey, clientSignature).map { $0 ^ $1 }
        let serverKey = Self.hmac(salted, Array("Server Key".utf8))
        serverSignature = Self.hmac(serverKey, authMessage)
        return Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)
    }

    /// Checks server-final-message.
    public func verify(serverFinal: [UInt8]) throws(Failure) {
        let text = String(decoding: serverFinal, as: UTF8.self)
        guard text.hasPrefix("v="), let signature = Data(base64Encoded: String(text.dropFirst(2))) else {
            throw .malformed("server-final-message")
        }
        guard Array(signature) == serverSignature else { throw .serverSignatureMismatch }
    }

    static func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var block = HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key)
        var result = Array(block)
        var previous = Array(block)
        for _ in 1..<iterations {
            block = HMAC<SHA256>.authenticationCode(for: previous, using: key)
            previous = Array(block)
            for index in result.indices { result[index] ^= previous[index] }
        }
        return result
    }

    /// PostgreSQL's md5 password response: "md5" + md5(md5(password + user) + salt).
    public static func md5Response(user: String, password: String, salt: [UInt8]) -> String {
        func hex(_ digest: some Sequence<UInt8>) -> String { digest.map { String(format: "%02x", $0) }.joined() }
        let inner = hex(Insecure.MD5.hash(data: Array((password + user).utf8)))
        return "md5" + hex(Insecure.MD5.hash(data: Array(inner.utf8) + salt))
    }
}
