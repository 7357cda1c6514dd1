/// Why a key file or a pinned key could not be used. Messages never include key material.
public enum SSHKeyError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unsupported(String)
    case encrypted
    case io(String)

    public var description: String {
        switch self {
        case .malformed(let why): "not a valid OpenSSH private key: \(why)"
        case .unsupported(let what): "unsupported key: \(what) (the gateway supports ssh-ed25519 and ecdsa-sha2-nistp256/384/521)"
        case .encrypted: "the private key is encrypted with a passphrase; the gateway needs an unencrypted key file that only it can read"
        case .io(let why): why
        }
    }
}
