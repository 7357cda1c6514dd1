import NIOCore

/// One SPDY/3.1 frame (the framing of `kubectl` 1.27–1.29's exec and attach streams): control
/// frames carry their type's fields, header blocks still compressed (`SPDYHeaderCompression`
/// opens them: compression state spans the connection); data frames carry a stream's bytes.
public enum SPDYFrame: Sendable, Equatable {
    case synStream(streamID: UInt32, associatedTo: UInt32, priority: UInt8, flags: UInt8, headerBlock: [UInt8])
    case synReply(streamID: UInt32, flags: UInt8, headerBlock: [UInt8])
    case rstStream(streamID: UInt32, status: UInt32)
    case settings(flags: UInt8, entries: [(id: UInt32, value: UInt32)])
    case ping(id: UInt32)
    case goAway(lastStreamID: UInt32, status: UInt32)
    case headers(streamID: UInt32, flags: UInt8, headerBlock: [UInt8])
    case windowUpdate(streamID: UInt32, delta: UInt32)
    case data(streamID: UInt32, flags: UInt8, payload: [UInt8])
    /// A control frame of a type this codec does not know (skipped, as the spec says).
    case unknown(type: UInt16)

    public static let finFlag: UInt8 = 0x01
    public static let version: UInt16 = 3
    /// Bound on one frame's length: a peer cannot make the gateway buffer without limit.
    public static let maximumLength = 1 << 20

    public static func == (lhs: SPDYFrame, rhs: SPDYFrame) -> Bool {
        switch (lhs, rhs) {
        case (.settings(let a, let x), .settings(let b, let y)):
            a == b && x.map(\.id) == y.map(\.id) && x.map(\.value) == y.map(\.value)
        case (.synStream(let a, let b, let c, let d, let e), .synStream(let f, let g, let h, let i, let j)): a == f && b == g && c == h && d == i && e == j
        case (.synReply(let a, let b, let c), .synReply(let d, let e, let f)): a == d && b == e && c == f
        case (.rstStream(let a, let b), .rstStream(let c, let d)): a == c && b == d
        case (.ping(let a), .ping(let b)): a == b
        case (.goAway(let a, let b), .goAway(let c, let d)): a == c && b == d
        case (.headers(let a, let b, let c), .headers(let d, let e, let f)): a == d && b == e && c == f
        case (.windowUpdate(let a, let b), .windowUpdate(let c, let d)): a == c && b == d
        case (.data(let a, let b, let c), .data(let d, let e, let f)): a == d && b == e && c == f
        case (.unknown(let a), .unknown(let b)): a == b
        default: false
        }
    }

    public struct DecodingError: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads one frame from `buffer`; nil (and nothing consumed) while it is incomplete.
    public static func decode(_ buffer: inout ByteBuffer) throws(DecodingError) -> SPDYFrame? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self),
              let second = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt32.self) else { return nil }
        let flags = UInt8(second >> 24)
        let length = Int(second & 0x00FF_FFFF)
        guard length <= maximumLength else { throw DecodingError(description: "a SPDY frame of \(length) bytes") }
        guard buffer.readableBytes >= 8 + length else { return nil }
        buffer.moveReaderIndex(forwardBy: 8)
        var body = buffer.readSlice(length: length)!
        if first & 0x8000_0000 == 0 {
            return .data(streamID: first & 0x7FFF_FFFF, flags: flags, payload: Array(body.readableBytesView))
        }
        let version = UInt16(first >> 16 & 0x7FFF)
        guard version == Self.version else { throw DecodingError(description: "SPDY version \(version) (the gateway speaks 3.1)") }
        func word() throws(DecodingError) -> UInt32 {
            guard let value = body.readInteger(as: UInt32.self) else { throw DecodingError(description: "a truncated SPDY control frame") }
            return value
        }
        let type = UInt16(first & 0xFFFF)
        switch type {
        case 1:
            let stream = try word() & 0x7FFF_FFFF
            let associated = try word() & 0x7FFF_FFFF
            guard let priority = body.readInteger(as: UInt8.self), body.readInteger(as: UInt8.self) != nil else { throw DecodingError(description: "a truncated SYN_STREAM") }
            return .synStream(streamID: stream, associatedTo: associated, priority: priority >> 5, flags: flags, headerBlock: Array(body.readableBytesView))
        case 2:
            return .synReply(streamID: try word() & 0x7FFF_FFFF, flags: flags, headerBlock: Array(body.readableBytesView))
        case 3:
            return .rstStream(streamID: try word() & 0x7FFF_FFFF, status: try word())
        case 4:
            let count = try word()
            guard Int(count) * 8 <= body.readableBytes else { throw DecodingError(description: "a truncated SETTINGS frame") }
            var entries: [(UInt32, UInt32)] = []
            for _ in 0..<count { entries.append((try word() & 0x00FF_FFFF, try word())) }
            return .settings(flags: flags, entries: entries)
        case 6:
            return .ping(id: try word())
        case 7:
            return .goAway(lastStreamID: try word() & 0x7FFF_FFFF, status: try word())
        case 8:
            return .headers(streamID: try word() & 0x7FFF_FFFF, flags: flags, headerBlock: Array(body.readableBytesView))
        case 9:
            return .windowUpdate(streamID: try word() & 0x7FFF_FFFF, delta: try word() & 0x7FFF_FFFF)
        default:
            return .unknown(type: type)
        }
    }

    /// Writes the frame.
    public func encode(into buffer: inout ByteBuffer) {
        func control(_ type: UInt16, flags: UInt8, _ body: (inout ByteBuffer) -> Void) {
            var payload = ByteBuffer()
            body(&payload)
            buffer.writeInteger(UInt32(0x8000_0000) | UInt32(Self.version) << 16 | UInt32(type))
            buffer.writeInteger(UInt32(flags) << 24 | UInt32(payload.readableBytes))
            buffer.writeBuffer(&payload)
        }
        switch self {
        case .synStream(let stream, let associated, let priority, let flags, let block):
            control(1, flags: flags) { $0.writeInteger(stream); $0.writeInteger(associated); $0.writeInteger(priority << 5); $0.writeInteger(UInt8(0)); $0.writeBytes(block) }
        case .synReply(let stream, let flags, let block):
            control(2, flags: flags) { $0.writeInteger(stream); $0.writeBytes(block) }
        case .rstStream(let stream, let status):
            control(3, flags: 0) { $0.writeInteger(stream); $0.writeInteger(status) }
        case .settings(let flags, let entries):
            control(4, flags: flags) { body in
                body.writeInteger(UInt32(entries.count))
                for entry in entries { body.writeInteger(entry.id & 0x00FF_FFFF); body.writeInteger(entry.value) }
            }
        case .ping(let id):
            control(6, flags: 0) { $0.writeInteger(id) }
        case .goAway(let last, let status):
            control(7, flags: 0) { $0.writeInteger(last); $0.writeInteger(status) }
        case .headers(let stream, let flags, let block):
            control(8, flags: flags) { $0.writeInteger(stream); $0.writeBytes(block) }
        case .windowUpdate(let stream, let delta):
            control(9, flags: 0) { $0.writeInteger(stream); $0.writeInteger(delta) }
        case .data(let stream, let flags, let payload):
            buffer.writeInteger(stream & 0x7FFF_FFFF)
            buffer.writeInteger(UInt32(flags) << 24 | UInt32(payload.count))
            buffer.writeBytes(payload)
        case .unknown:
            break
        }
    }
}
