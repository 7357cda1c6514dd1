import FuzzDriver
import KubeExecGatewayCore
import Foundation
import NIOCore

/// The Kubernetes stream decoders on arbitrary bytes: the WebSocket channel framing in every
/// subprotocol, SPDY frames and the exec session (server and client roles) fed whatever the
/// frames decode to, and the observer of passed-through SPDY. A crash or a sanitizer report
/// is a bug; thrown errors are the expected answer to garbage. Invariants are checked too: an
/// encoded frame decodes to itself, and the session never asks to send more than it was fed
/// plus its own bounded frames.
func kubeStreamsFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for kind in KubeStreamProtocol.allCases {
        for text in [false, true] {
            if let frame = try? KubeStreamFrame.decode(bytes, text: text, protocol: kind) {
                let (encoded, isText) = frame.encode(protocol: kind)
                let again = try? KubeStreamFrame.decode(Array(encoded.readableBytesView), text: isText, protocol: kind)
                precondition(again == frame, "a frame does not survive its own encoding")
            }
        }
    }
    var buffer = ByteBuffer(bytes: bytes)
    var frames: [SPDYFrame] = []
    while let frame = try? SPDYFrame.decode(&buffer) { frames.append(frame) }
    for role in [SPDYStreamSession.Role.server, .client] {
        guard let session = try? SPDYStreamSession(role: role, expected: [.stdin, .stdout, .stderr, .resize]) else { continue }
        _ = try? session.openStreams()
        for frame in frames {
            guard let (reply, events) = try? session.receive(frame) else { break }
            precondition(reply.count <= 4, "a frame answered with \(reply.count) frames")
            for event in events { _ = session.send(event) }
        }
        _ = session.send(.finish)
    }
    if let observer = try? SPDYStreamObserver() {
        let half = bytes.count / 2
        _ = try? observer.observe(bytes[..<half])
        _ = try? observer.observe(bytes[half...])
    }
    return 0
}

runFuzzer(kubeStreamsFuzz)
