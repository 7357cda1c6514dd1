import Crypto
import Foundation
import Logging
import NIOSSH
import SSHGatewayCore

/// The gateway's own SSH host key: read from `services.ssh.host_key_file`, or generated there
/// (Ed25519, mode 0600, with a `.pub` beside it) the first time the gateway starts.
enum GatewayHostKey {
    static func loadOrCreate(path: String?, stateDirectory: String, logger: Logger) throws -> NIOSSHPrivateKey {
        let file = path ?? (stateDirectory as NSString).appendingPathComponent("ssh_host_ed25519_key")
        if FileManager.default.fileExists(atPath: file) {
            let parsed = try OpenSSHPrivateKey.load(file: file)
            logger.info("host key loaded", metadata: ["gateway.host_key": "\(parsed.publicKeyLine)", "gateway.file": "\(file)"])
            return parsed.key
        }
        let key = Curve25519.Signing.PrivateKey()
        let text = OpenSSHPrivateKey.encode(ed25519: key, comment: "access-gateway host key")
        let directory = (file as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw SSHGatewayFailure("cannot write the generated host key to \(file)")
        }
        let sshKey = NIOSSHPrivateKey(ed25519Key: key)
        let publicLine = String(openSSHPublicKey: sshKey.publicKey)
        _ = FileManager.default.createFile(atPath: file + ".pub", contents: Data((publicLine + " access-gateway\n").utf8), attributes: [.posixPermissions: 0o644])
        logger.notice("generated a new host key: clients will see this key", metadata: ["gateway.host_key": "\(publicLine)", "gateway.file": "\(file)"])
        return sshKey
    }
}
