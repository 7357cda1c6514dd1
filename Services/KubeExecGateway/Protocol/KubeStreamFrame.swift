import Foundation
import NIOCore

/// One message of an exec stream: a channel and its bytes, as carried by a WebSocket message
/// of the negotiated `KubeStreamProtocol`. Pure: decoding and encoding only.
public struct KubeStreamFrame: Sendable, Equatable {
    public var channel: UInt8
    public var payload: [UInt8]

    public init(channel: UInt8, payload: [UInt8]) {
        self.channel = channel
        self.payload = payload
    }

    public init(_ channel: KubeStreamChannel, _ payload: [UInt8]) {
        self.init(channel: channel.rawValue, payload: payload)
    }

    public enum DecodingError: Error, Equatable, CustomStringConvertible {
        case empty
        case badChannel(UInt8)
        case badBase64
        case wrongKind(text: Bool)

        public var description: String {
            switch self {
            case .empty: "an empty stream message (no channel byte)"
            case .badChannel(let byte): "an unknown stream channel \(byte)"
            case .badBase64: "a stream message that is not valid base64"
            case .wrongKind(let text): text ? "a text message on a binary stream protocol" : "a binary message on a base64 stream protocol"
            }
        }
    }

    /// Decodes one WebSocket message's data (`text`: a text message).
    public static func decode(_ data: [UInt8], text: Bool, protocol: KubeStreamProtocol) throws(DecodingError) -> KubeStreamFrame {
        guard let first = data.first else { throw .empty }
        if `protocol`.isBase64 {
            guard text else { throw .wrongKind(text: false) }
            guard first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else { throw .badChannel(first) }
            guard let payload = Data(base64Encoded: Data(data.dropFirst())) else { throw .badBase64 }
            return KubeStreamFrame(channel: first - UInt8(ascii: "0"), payload: Array(payload))
        }
        guard !text else { throw .wrongKind(text: true) }
        return KubeStreamFrame(channel: first, payload: Array(data.dropFirst()))
    }

    /// The WebSocket message for this frame: its data and whether it is a text message.
    public func encode(protocol: KubeStreamProtocol) -> (data: ByteBuffer, text: Bool) {
        if `protocol`.isBase64 {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt8(ascii: "0") + channel)
            buffer.writeBytes(Array(Data(payload).base64EncodedString().utf8))
            return (buffer, true)
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count + 1)
        buffer.writeInteger(channel)
        buffer.writeBytes(payload)
        return (buffer, false)
    }
}
