import NIOCore

/// Reads the SPDY/3.1 frames of one direction of a connection the gateway passes through
/// unchanged (port forwarding), to see the streams it opens: every SYN_STREAM's headers (a
/// forwarded port's `port`, `streamtype` and `requestID`). Data frames are skipped without
/// copying; control frames are read whole (bounded by `SPDYFrame.maximumLength`), and every
/// header block of the direction is inflated, in order, so the connection's zlib state stays
/// in step. A direction that does not read as SPDY is a failure: the caller closes the
/// connection rather than pass on what it cannot inspect. Pure: bytes in, headers out.
///
/// Not `Sendable`: one per connection direction, used on its event loop.
public final class SPDYStreamObserver {
    public struct Opened: Sendable, Equatable {
        public var streamID: UInt32
        public var headers: [String: String]
    }

    private let compression: SPDYHeaderCompression
    private var pending: [UInt8] = []
    /// Bytes of a data frame still to come (skipped).
    private var skipping = 0

    public init() throws(SPDYStreamSession.Failure) {
        do { compression = try SPDYHeaderCompression() } catch { throw SPDYStreamSession.Failure(description: error.description) }
    }

    /// The streams `bytes` open (the rest of a frame may come later).
    public func observe(_ bytes: some Collection<UInt8>) throws(SPDYStreamSession.Failure) -> [Opened] {
        var input = bytes[...]
        var opened: [Opened] = []
        while !input.isEmpty {
            if skipping > 0 {
                let count = min(skipping, input.count)
                input = input.dropFirst(count)
                skipping -= count
                continue
            }
            // The frame's 8-byte header, then (for a control frame) its body.
            let needed = pending.count < 8 ? 8 : 8 + Self.length(pending)
            let take = min(needed - pending.count, input.count)
            pending += input.prefix(take)
            input = input.dropFirst(take)
            guard pending.count >= 8 else { break }
            let length = Self.length(pending)
            guard length <= SPDYFrame.maximumLength else { throw .init(description: "a SPDY frame of \(length) bytes") }
            if pending[0] & 0x80 == 0 {
                // Data: what is in `pending` beyond the header is data too.
                skipping = length - (pending.count - 8)
                pending = []
                continue
            }
            guard pending.count == 8 + length else { continue }
            var buffer = ByteBuffer(bytes: pending)
            pending = []
            let frame: SPDYFrame?
            do { frame = try SPDYFrame.decode(&buffer) } catch { throw .init(description: error.description) }
            switch frame {
            case .synStream(let id, _, _, _, let block)?:
                var headers: [String: String] = [:]
                do {
                    for (name, value) in try compression.decompress(block) { headers[name.lowercased()] = value }
                } catch {
                    throw .init(description: error.description)
                }
                opened.append(Opened(streamID: id, headers: headers))
            case .synReply(_, _, let block)?, .headers(_, _, let block)?:
                do { _ = try compression.decompress(block) } catch { throw .init(description: error.description) }
            default:
                break
            }
        }
        return opened
    }

    static func length(_ header: [UInt8]) -> Int {
        Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
    }
}
