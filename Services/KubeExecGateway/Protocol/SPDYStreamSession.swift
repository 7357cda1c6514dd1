/// One Kubernetes exec or attach connection over SPDY/3.1, as `k8s.io/apimachinery`'s
/// `httpstream/spdy` (moby/spdystream) speaks it: the client opens one stream per channel,
/// naming it in a `streamtype` header (error, stdin, stdout, stderr, resize), the server answers
/// each with SYN_REPLY, and each direction of a stream ends with FIN. Pure: frames in, frames
/// and `KubeStreamEvent`s out; the header compression state is the connection's.
///
/// As spdystream does: no flow control (WINDOW_UPDATE and SETTINGS are read and ignored, none
/// are sent), the peer's PINGs echoed, a GOAWAY ends the connection. The error stream's bytes
/// are gathered until its FIN (a `Status` may span frames) and the resize stream's split into
/// its JSON lines, so that either reads as one WebSocket message does.
///
/// Not `Sendable`: one per connection, used on its event loop.
public final class SPDYStreamSession {
    public enum Role: Sendable { case server, client }

    public struct Failure: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    public static let streamTypes: [KubeStreamChannel: String] = [.error: "error", .stdin: "stdin", .stdout: "stdout", .stderr: "stderr", .resize: "resize"]
    /// Bound on what the gateway gathers of one error stream or resize line.
    public static let maximumGathered = 64 << 10
    /// Bound on what waits for a stream the client has not opened yet (server role).
    public static let maximumQueued = 1 << 20
    /// Data frames the gateway writes are at most this long.
    public static let chunk = 32 << 10
    static let refusedStream: UInt32 = 3
    static let protocolError: UInt32 = 1

    public let role: Role
    /// The channels this exec uses (from its options): a server waits for all of them, a
    /// client opens them.
    public let expected: Set<KubeStreamChannel>
    private let compression: SPDYHeaderCompression
    private var channelOf: [UInt32: KubeStreamChannel] = [:]
    private var streamOf: [KubeStreamChannel: UInt32] = [:]
    /// Channels whose direction from the gateway is closed (FIN sent).
    private var finished: Set<KubeStreamChannel> = []
    /// Client role: streams opened and not answered yet.
    private var awaitingReply: Set<UInt32> = []
    /// Server role: what was written for a channel the client has not opened yet.
    private var queued: [KubeStreamChannel: [KubeStreamEvent]] = [:]
    private var queuedBytes = 0
    private var gathered: [KubeStreamChannel: [UInt8]] = [:]
    private var lastReceivedStream: UInt32 = 0
    private var nextStream: UInt32 = 1
    private var isReady = false
    private var goneAway = false

    public init(role: Role, expected: Set<KubeStreamChannel>) throws(Failure) {
        self.role = role
        self.expected = expected.union([.error])
        do { compression = try SPDYHeaderCompression() } catch { throw Failure(description: error.description) }
    }

    /// The channels of an exec with these options, as client-go opens them: the error stream
    /// always, stdin/stdout/stderr as asked, resize for a terminal.
    public static func channels(of options: KubeExecOptions) -> Set<KubeStreamChannel> {
        var channels: Set<KubeStreamChannel> = [.error]
        if options.stdin { channels.insert(.stdin) }
        if options.stdout { channels.insert(.stdout) }
        if options.stderr && !options.tty { channels.insert(.stderr) }
        if options.tty { channels.insert(.resize) }
        return channels
    }

    /// Client role: the SYN_STREAMs that open the expected streams, error first (as client-go).
    public func openStreams() throws(Failure) -> [SPDYFrame] {
        guard role == .client else { return [] }
        var frames: [SPDYFrame] = []
        let order: [KubeStreamChannel] = [.error, .stdin, .stdout, .stderr, .resize]
        for channel in order where expected.contains(channel) && streamOf[channel] == nil {
            let id = nextStream
            nextStream += 2
            streamOf[channel] = id
            channelOf[id] = channel
            awaitingReply.insert(id)
            let block = try compress([("streamtype", Self.streamTypes[channel]!)])
            frames.append(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headerBlock: block))
        }
        return frames
    }

    /// A frame from the peer: what to send back at once, and what it means for the relay.
    public func receive(_ frame: SPDYFrame) throws(Failure) -> (reply: [SPDYFrame], events: [KubeStreamEvent]) {
        switch frame {
        case .synStream(let id, _, _, let flags, let block):
            let headers = try decompress(block)
            guard role == .server, id % 2 == 1, id > lastReceivedStream, !goneAway else {
                return ([.rstStream(streamID: id, status: Self.protocolError)], [])
            }
            lastReceivedStream = id
            let type = headers.first { $0.0.lowercased() == "streamtype" }?.1
            guard let channel = Self.streamTypes.first(where: { $0.value == type })?.key, streamOf[channel] == nil else {
                return ([.rstStream(streamID: id, status: Self.refusedStream)], [])
            }
            streamOf[channel] = id
            channelOf[id] = channel
            var reply: [SPDYFrame] = [.synReply(streamID: id, flags: 0, headerBlock: try compress([]))]
            var events: [KubeStreamEvent] = []
            if flags & SPDYFrame.finFlag != 0 { events += end(channel) }
            for event in queued.removeValue(forKey: channel) ?? [] { reply += frames(for: event) }
            if !isReady, expected.isSubset(of: Set(streamOf.keys)) {
                isReady = true
                queuedBytes = 0
                events.append(.ready)
            }
            return (reply, events)
        case .synReply(let id, let flags, let block):
            _ = try decompress(block)
            guard awaitingReply.remove(id) != nil else { return ([], []) }
            var events: [KubeStreamEvent] = []
            if flags & SPDYFrame.finFlag != 0, let channel = channelOf[id] { events += end(channel) }
            if role == .client, awaitingReply.isEmpty, !isReady {
                isReady = true
                events.append(.ready)
            }
            return ([], events)
        case .headers(_, _, let block):
            _ = try decompress(block)
            return ([], [])
        case .data(let id, let flags, let payload):
            guard let channel = channelOf[id] else { return ([], []) }
            var events = data(payload, on: channel)
            if flags & SPDYFrame.finFlag != 0 { events += end(channel) }
            return ([], events)
        case .rstStream(let id, _):
            guard let channel = channelOf[id] else { return ([], []) }
            finished.insert(channel)
            return ([], end(channel))
        case .ping(let id):
            // The peer's pings (odd from a client, even from a server) are echoed; ours we never send.
            let peers: UInt32 = role == .server ? 1 : 0
            return (id % 2 == peers ? [.ping(id: id)] : [], [])
        case .goAway:
            goneAway = true
            return ([], [.finish])
        case .settings, .windowUpdate, .unknown:
            return ([], [])
        }
    }

    /// An event from the relay, as frames for the peer.
    public func send(_ event: KubeStreamEvent) -> [SPDYFrame] {
        switch event {
        case .data(let frame):
            guard let channel = KubeStreamChannel(rawValue: frame.channel) else { return [] }
            if role == .server, streamOf[channel] == nil {
                // Written before the client opened that stream: kept until it does (if it will).
                guard expected.contains(channel), !isReady, queuedBytes + frame.payload.count <= Self.maximumQueued else { return [] }
                queuedBytes += frame.payload.count
                queued[channel, default: []].append(event)
                return []
            }
            return frames(for: event)
        case .end(let channel):
            if role == .server, streamOf[channel] == nil, expected.contains(channel), !isReady {
                queued[channel, default: []].append(event)
                return []
            }
            return frames(for: event)
        case .finish:
            guard !goneAway else { return [] }
            goneAway = true
            var frames: [SPDYFrame] = []
            for channel in [KubeStreamChannel.stdout, .stderr, .stdin, .resize, .error] { frames += self.frames(for: .end(channel)) }
            return frames + [.goAway(lastStreamID: lastReceivedStream, status: 0)]
        case .ready:
            return []
        }
    }

    private func frames(for event: KubeStreamEvent) -> [SPDYFrame] {
        switch event {
        case .data(let frame):
            guard let channel = KubeStreamChannel(rawValue: frame.channel), let id = streamOf[channel], !finished.contains(channel) else { return [] }
            var payload = frame.payload
            // Resize documents are read by a JSON decoder on a byte stream: one per line.
            if channel == .resize, payload.last != UInt8(ascii: "\n") { payload.append(UInt8(ascii: "\n")) }
            // A Status on the error stream is the stream's whole content: its FIN follows.
            let fin = channel == .error
            if fin { finished.insert(channel) }
            var frames: [SPDYFrame] = []
            var start = 0
            repeat {
                let end = min(start + Self.chunk, payload.count)
                frames.append(.data(streamID: id, flags: fin && end == payload.count ? SPDYFrame.finFlag : 0, payload: Array(payload[start..<end])))
                start = end
            } while start < payload.count
            return frames
        case .end(let channel):
            guard let id = streamOf[channel], !finished.contains(channel) else { return [] }
            finished.insert(channel)
            return [.data(streamID: id, flags: SPDYFrame.finFlag, payload: [])]
        case .ready, .finish:
            return []
        }
    }

    private func data(_ payload: [UInt8], on channel: KubeStreamChannel) -> [KubeStreamEvent] {
        switch channel {
        case .error:
            guard (gathered[channel]?.count ?? 0) + payload.count <= Self.maximumGathered else { return [] }
            gathered[channel, default: []] += payload
            return []
        case .resize:
            var pending = (gathered[channel] ?? []) + payload
            var events: [KubeStreamEvent] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if !line.isEmpty { events.append(.data(KubeStreamFrame(.resize, line))) }
            }
            gathered[channel] = pending.count <= Self.maximumGathered ? pending : []
            return events
        default:
            return payload.isEmpty ? [] : [.data(KubeStreamFrame(channel, payload))]
        }
    }

    private func end(_ channel: KubeStreamChannel) -> [KubeStreamEvent] {
        var events: [KubeStreamEvent] = []
        if let rest = gathered.removeValue(forKey: channel), !rest.isEmpty { events.append(.data(KubeStreamFrame(channel, rest))) }
        return events + [.end(channel)]
    }

    private func compress(_ headers: [(String, String)]) throws(Failure) -> [UInt8] {
        do { return try compression.compress(headers) } catch { throw Failure(description: error.description) }
    }

    private func decompress(_ block: [UInt8]) throws(Failure) -> [(String, String)] {
        do { return try compression.decompress(block) } catch { throw Failure(description: error.description) }
    }
}
