import Crypto
import Foundation
import GatewayTesting
import NIOSSH
import SSHGatewayCore
import Testing

@Suite("OpenSSH private key files")
struct OpenSSHPrivateKeyTests {
    /// Keys written by ssh-keygen parse, and yield the same public key ssh-keygen derives.
    @Test(arguments: [("ed25519", "256"), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521")])
    func readsKeysFromSSHKeygen(type: String, bits: String) throws {
        let directory = NSTemporaryDirectory() + "keys-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/key"
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", type, "-b", bits, "-N", "", "-C", "a comment", "-f", file])
        let parsed = try OpenSSHPrivateKey.load(file: file)
        let expected = try String(contentsOfFile: file + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        #expect(parsed.publicKeyLine == expected)
        #expect(parsed.comment == "a comment")
    }

    @Test func generatedFilesAreReadBySSHKeygen() throws {
        let key = Curve25519.Signing.PrivateKey()
        let text = OpenSSHPrivateKey.encode(ed25519: key, comment: "gateway")
        let file = NSTemporaryDirectory() + "generated-\(UUID().uuidString.prefix(6))"
        FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        let derived = try ProcessRunner.run("/usr/bin/ssh-keygen", ["-y", "-f", file])
        let ours = String(openSSHPublicKey: NIOSSHPrivateKey(ed25519Key: key).publicKey)
        #expect(derived.hasPrefix(ours))
        #expect(try OpenSSHPrivateKey.parse(text).publicKeyLine == ours)
    }

    @Test func refusesWhatItCannotUse() throws {
        let directory = NSTemporaryDirectory() + "keys-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret", "-f", directory + "/locked"])
        #expect(throws: SSHKeyError.encrypted) { try OpenSSHPrivateKey.load(file: directory + "/locked") }
        try ProcessRunner.run("/usr/bin/ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", directory + "/rsa"])
        #expect(throws: SSHKeyError.unsupported("ssh-rsa")) { try OpenSSHPrivateKey.load(file: directory + "/rsa") }
        #expect(throws: SSHKeyError.self) { try OpenSSHPrivateKey.parse("-----BEGIN OPENSSH PRIVATE KEY-----\n%%%\n-----END OPENSSH PRIVATE KEY-----\n") }
        #expect(throws: SSHKeyError.self) { try OpenSSHPrivateKey.parse("hello") }
        // Every truncation of a valid key is refused with an error, never a crash.
        let valid = OpenSSHPrivateKey.encode(ed25519: Curve25519.Signing.PrivateKey(), comment: "x")
        let body = valid.split(separator: "\n").dropFirst().dropLast().joined()
        let bytes = Array(Data(base64Encoded: body) ?? Data())
        for length in stride(from: 0, to: bytes.count - 1, by: 3) {
            let cut = Data(bytes.prefix(length)).base64EncodedString()
            #expect(throws: SSHKeyError.self) { try OpenSSHPrivateKey.parse("-----BEGIN OPENSSH PRIVATE KEY-----\n\(cut)\n-----END OPENSSH PRIVATE KEY-----\n") }
        }
    }
}
