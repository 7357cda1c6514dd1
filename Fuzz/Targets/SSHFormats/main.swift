import FuzzDriver
import SSHGatewayCore

/// The OpenSSH private-key reader (the gateway's own upstream keys, but a file an operator
/// may get wrong) and the SFTP request decoder, which reads a client's raw channel bytes.
/// Invariant for the decoder: how the bytes arrive in pieces does not change the operations
/// it reports (an agent cannot hide a `remove` by splitting its packet).
runFuzzer { data, size in
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? OpenSSHPrivateKey.parse(String(decoding: bytes, as: UTF8.self))

    var whole = SFTPRequestDecoder()
    let wholeOperations = whole.feed(bytes)
    var pieces = SFTPRequestDecoder()
    let piecewise = chunks(of: bytes[...], pattern: bytes.first ?? 0).flatMap { pieces.feed($0) }
    precondition(wholeOperations == piecewise, "pieces changed the SFTP operations reported")
    precondition(whole.gaveUp == pieces.gaveUp, "pieces changed whether the SFTP decoder gave up")
    return 0
}
