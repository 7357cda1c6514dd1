import KubeExecGatewayCore
import NIOCore
import Testing

/// The SPDY exec session on its own: a client session (the gateway towards an API server) and a
/// server session (the gateway towards kubectl) talking to each other, frame by frame, and each
/// against frames a peer could send that break the protocol.
@Suite("SPDY exec session")
struct SPDYStreamSessionTests {
    /// Hands every frame `from` produced to `to`, and the replies back, until both are quiet;
    /// the events each side saw.
    struct Pair {
        let client: SPDYStreamSession
        let server: SPDYStreamSession
        var clientEvents: [KubeStreamEvent] = []
        var serverEvents: [KubeStreamEvent] = []

        init(_ options: KubeExecOptions) throws {
            let channels = SPDYStreamSession.channels(of: options)
            client = try SPDYStreamSession(role: .client, expected: channels)
            server = try SPDYStreamSession(role: .server, expected: channels)
        }

        mutating func toServer(_ frames: [SPDYFrame]) throws {
            for frame in frames {
                let (reply, events) = try server.receive(frame)
                serverEvents += events
                try toClient(reply)
            }
        }

        mutating func toClient(_ frames: [SPDYFrame]) throws {
            for frame in frames {
                let (reply, events) = try client.receive(frame)
                clientEvents += events
                try toServer(reply)
            }
        }
    }

    static func data(_ events: [KubeStreamEvent], _ channel: KubeStreamChannel) -> String {
        events.compactMap { event -> String? in
            guard case .data(let frame) = event, frame.channel == channel.rawValue else { return nil }
            return String(decoding: frame.payload, as: UTF8.self)
        }.joined()
    }

    @Test func theStreamsAnExecNeedsAreOpenedAndAnswered() throws {
        #expect(SPDYStreamSession.channels(of: KubeExecOptions(command: ["ls"], stdin: false, stdout: true, stderr: true)) == [.error, .stdout, .stderr])
        // A terminal: stderr travels on stdout, and a resize stream is opened.
        #expect(SPDYStreamSession.channels(of: KubeExecOptions(command: ["sh"], stdin: true, stdout: true, stderr: false, tty: true)) == [.error, .stdin, .stdout, .resize])
        var pair = try Pair(KubeExecOptions(command: ["cat"], stdin: true, stdout: true, stderr: true))
        let opening = try pair.client.openStreams()
        #expect(opening.count == 4)
        guard case .synStream(let first, _, _, _, _) = opening.first else { Issue.record("no SYN_STREAM"); return }
        #expect(first == 1)
        try pair.toServer(opening)
        #expect(pair.serverEvents == [.ready])
        #expect(pair.clientEvents == [.ready])
    }

    @Test func dataFlowsBothWaysAndEachDirectionEndsOnItsOwn() throws {
        var pair = try Pair(KubeExecOptions(command: ["cat"], stdin: true, stdout: true, stderr: true))
        try pair.toServer(try pair.client.openStreams())
        try pair.toServer(pair.client.send(.data(KubeStreamFrame(.stdin, Array("typed\n".utf8)))))
        try pair.toServer(pair.client.send(.end(.stdin)))
        #expect(Self.data(pair.serverEvents, .stdin) == "typed\n")
        #expect(pair.serverEvents.last == .end(.stdin))
        // A write longer than one frame is split, and arrives whole.
        let long = String(repeating: "x", count: SPDYStreamSession.chunk * 2 + 10)
        let frames = pair.server.send(.data(KubeStreamFrame(.stdout, Array(long.utf8))))
        #expect(frames.count == 3)
        try pair.toClient(frames)
        try pair.toClient(pair.server.send(.data(KubeStreamFrame(.stderr, Array("oops".utf8)))))
        #expect(Self.data(pair.clientEvents, .stdout) == long)
        #expect(Self.data(pair.clientEvents, .stderr) == "oops")
        // The exit status is the error stream's whole content: it arrives as one message at its FIN.
        let status = #"{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        let statusFrames = pair.server.send(.data(KubeStreamFrame(.error, Array(status.utf8))))
        #expect(statusFrames.count == 1)
        guard case .data(_, let flags, _) = statusFrames[0] else { Issue.record("not data"); return }
        #expect(flags & SPDYFrame.finFlag != 0)
        try pair.toClient(statusFrames)
        #expect(pair.clientEvents.suffix(2) == [.data(KubeStreamFrame(.error, Array(status.utf8))), .end(.error)])
        // The end: every open direction finished, then GOAWAY, read as the connection's end.
        let finish = pair.server.send(.finish)
        guard case .goAway = finish.last else { Issue.record("no GOAWAY"); return }
        try pair.toClient(finish)
        #expect(pair.clientEvents.contains(.end(.stdout)))
        #expect(pair.clientEvents.last == .finish)
        // Nothing is sent after the end.
        #expect(pair.server.send(.data(KubeStreamFrame(.stdout, [1]))).isEmpty)
    }

    @Test func anErrorStatusSplitAcrossFramesIsGathered() throws {
        var pair = try Pair(KubeExecOptions(command: ["ls"]))
        try pair.toServer(try pair.client.openStreams())
        let status = Array(#"{"metadata":{},"status":"Success"}"#.utf8)
        // A server that writes its Status in pieces (as any byte stream may).
        try pair.toClient([.data(streamID: 1, flags: 0, payload: Array(status[..<10])), .data(streamID: 1, flags: SPDYFrame.finFlag, payload: Array(status[10...]))])
        #expect(pair.clientEvents.suffix(2) == [.data(KubeStreamFrame(.error, status)), .end(.error)])
    }

    @Test func resizesAreOneJSONDocumentALine() throws {
        var pair = try Pair(KubeExecOptions(command: ["sh"], stdin: true, stdout: true, stderr: false, tty: true))
        let opening = try pair.client.openStreams()
        try pair.toServer(opening)
        guard case .synStream(let resizeID, _, _, _, _)? = opening.last else { Issue.record("no resize stream"); return }
        // The gateway's resize gets its newline (a JSON decoder reads the stream).
        let sent = pair.client.send(.data(KubeStreamFrame(.resize, Array(#"{"Width":80,"Height":24}"#.utf8))))
        guard case .data(let id, _, let payload)? = sent.first else { Issue.record("no data"); return }
        #expect(id == resizeID)
        #expect(payload.last == UInt8(ascii: "\n"))
        // Two documents in one frame, one across two: read as one message a document.
        let a = #"{"Width":100,"Height":30}"#, b = #"{"Width":120,"Height":40}"#
        let bytes = Array("\(a)\n\(b)\n\(a)".utf8)
        try pair.toServer(sent + [
            .data(streamID: resizeID, flags: 0, payload: Array(bytes[..<(a.count + 5)])),
            .data(streamID: resizeID, flags: 0, payload: Array(bytes[(a.count + 5)...])),
            .data(streamID: resizeID, flags: 0, payload: Array("\n".utf8)),
        ])
        let resizes = pair.serverEvents.compactMap { event -> String? in
            guard case .data(let frame) = event, frame.channel == KubeStreamChannel.resize.rawValue else { return nil }
            return String(decoding: frame.payload, as: UTF8.self)
        }
        #expect(resizes == [#"{"Width":80,"Height":24}"#, a, b, a])
    }

    @Test func whatIsWrittenBeforeTheClientOpensItsStreamWaitsForIt() throws {
        // A hold's notice goes to stderr, which kubectl opens after the error stream's reply.
        var pair = try Pair(KubeExecOptions(command: ["ls"], stdout: true, stderr: true))
        #expect(pair.server.send(.data(KubeStreamFrame(.stderr, Array("review r-1 is pending\n".utf8)))).isEmpty)
        // A channel this exec does not use is dropped, not kept.
        #expect(pair.server.send(.data(KubeStreamFrame(.stdin, [1]))).isEmpty)
        try pair.toServer(try pair.client.openStreams())
        #expect(Self.data(pair.clientEvents, .stderr) == "review r-1 is pending\n")
        #expect(!pair.clientEvents.contains { if case .data(let frame) = $0 { return frame.channel == 0 } else { return false } })
    }

    @Test func pingsOfThePeerAreEchoedAndOursAreNot() throws {
        let server = try SPDYStreamSession(role: .server, expected: [.stdout])
        #expect(try server.receive(.ping(id: 1)).reply == [.ping(id: 1)])
        #expect(try server.receive(.ping(id: 2)).reply.isEmpty)
        let client = try SPDYStreamSession(role: .client, expected: [.stdout])
        #expect(try client.receive(.ping(id: 2)).reply == [.ping(id: 2)])
        #expect(try client.receive(.ping(id: 3)).reply.isEmpty)
        // Flow control is not spoken (as spdystream): window updates and settings change nothing.
        #expect(try server.receive(.windowUpdate(streamID: 1, delta: 10)) == ([], []))
        #expect(try server.receive(.settings(flags: 0, entries: [(id: 7, value: 100)])) == ([], []))
    }

    @Test func streamsThatBreakTheProtocolAreReset() throws {
        let server = try SPDYStreamSession(role: .server, expected: [.stdout])
        let peer = try SPDYHeaderCompression()
        func open(_ id: UInt32, _ type: String) throws -> (reply: [SPDYFrame], events: [KubeStreamEvent]) {
            try server.receive(.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headerBlock: try peer.compress([("streamtype", type)])))
        }
        guard case .synReply(1, _, _)? = try open(1, "error").reply.first else { Issue.record("no reply"); return }
        // The same streamtype twice, an unknown one: refused (3); an even (server-side) id, an id going back: protocol error (1).
        #expect(try open(3, "error").reply == [.rstStream(streamID: 3, status: 3)])
        #expect(try open(5, "bogus").reply == [.rstStream(streamID: 5, status: 3)])
        #expect(try open(8, "stdout").reply == [.rstStream(streamID: 8, status: 1)])
        #expect(try open(7, "stdout").events == [.ready])
        #expect(try open(7, "stderr").reply == [.rstStream(streamID: 7, status: 1)])
        // Data on a stream that is not open is dropped; a client's SYN_STREAM to a client is refused.
        #expect(try server.receive(.data(streamID: 99, flags: 0, payload: [1, 2])) == ([], []))
        let client = try SPDYStreamSession(role: .client, expected: [.stdout])
        #expect(try client.receive(.synStream(streamID: 2, associatedTo: 0, priority: 0, flags: 0, headerBlock: try SPDYHeaderCompression().compress([]))).reply.first.map {
            if case .rstStream = $0 { true } else { false }
        } == true)
        // A header block that does not inflate ends the connection (the codec closes it).
        #expect(throws: SPDYStreamSession.Failure.self) {
            _ = try server.receive(.synStream(streamID: 201, associatedTo: 0, priority: 0, flags: 0, headerBlock: [0xde, 0xad, 0xbe, 0xef]))
        }
    }
}

/// The observer of a passed-through SPDY session (port forwarding): the streams it opens, however
/// the bytes are cut, and a failure for what is not SPDY.
@Suite("SPDY stream observer")
struct SPDYStreamObserverTests {
    /// A client's bytes: two forwarded connections (error and data stream each), data between.
    static func clientBytes() throws -> [UInt8] {
        let headers = try SPDYHeaderCompression()
        var buffer = ByteBuffer()
        for (id, type, request) in [(UInt32(1), "error", "0"), (3, "data", "0"), (5, "error", "1"), (7, "data", "1")] {
            let block = try headers.compress([("streamtype", type), ("port", "8080"), ("requestid", request)])
            SPDYFrame.synStream(streamID: id, associatedTo: 0, priority: 0, flags: 0, headerBlock: block).encode(into: &buffer)
            SPDYFrame.data(streamID: id, flags: 0, payload: Array(repeating: 0x80, count: 3000)).encode(into: &buffer)
        }
        SPDYFrame.ping(id: 1).encode(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test(arguments: [1, 7, 100, 1 << 20])
    func streamsAreSeenHoweverTheBytesAreCut(chunk: Int) throws {
        let bytes = try Self.clientBytes()
        let observer = try SPDYStreamObserver()
        var opened: [SPDYStreamObserver.Opened] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            opened += try observer.observe(bytes[start..<end])
            start = end
        }
        #expect(opened.map(\.streamID) == [1, 3, 5, 7])
        #expect(opened.map { $0.headers["streamtype"] } == ["error", "data", "error", "data"])
        #expect(opened.allSatisfy { $0.headers["port"] == "8080" })
        #expect(opened.map { $0.headers["requestid"] } == ["0", "0", "1", "1"])
    }

    @Test func whatIsNotSPDYFails() throws {
        // An HTTP request where SPDY was promised: a control bit with version 18516 ("HT").
        #expect(throws: SPDYStreamSession.Failure.self) { _ = try SPDYStreamObserver().observe(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8).map { $0 | 0x80 }) }
        // A frame longer than the bound.
        #expect(throws: SPDYStreamSession.Failure.self) { _ = try SPDYStreamObserver().observe([0x80, 0x03, 0x00, 0x01, 0x00, 0xFF, 0xFF, 0xFF]) }
        // A SYN_STREAM whose header block does not inflate.
        var buffer = ByteBuffer()
        SPDYFrame.synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: [1, 2, 3, 4]).encode(into: &buffer)
        #expect(throws: SPDYStreamSession.Failure.self) { _ = try SPDYStreamObserver().observe(Array(buffer.readableBytesView)) }
    }
}
