import Foundation
import GatewayTesting
@testable import KubeExecGatewayCore
import NIOCore
import Testing

/// SPDY/3.1 framing and header compression, checked on their own and against what the real
/// kubectl 1.29 (which speaks SPDY for exec) sends when a server accepts its upgrade.
@Suite("SPDY codec")
struct SPDYCodecTests {
    @Test func theDictionaryIsSPDY3s() {
        let bytes = SPDYDictionary.bytes
        #expect(bytes.count == 1423)
        #expect(Array(bytes.prefix(11)) == [0x00, 0x00, 0x00, 0x07] + Array("options".utf8))
        #expect(String(decoding: bytes.suffix(7), as: UTF8.self) == ",enq=0.")
    }

    @Test func headerBlocksRoundTripAcrossOneConnectionsState() throws {
        let sender = try SPDYHeaderCompression()
        let receiver = try SPDYHeaderCompression()
        for type in ["error", "stdin", "stdout", "stderr", "resize"] {
            let block = try sender.compress([("streamType", type), ("x-multi", "a\0b")])
            let pairs = try receiver.decompress(block)
            #expect(pairs.map(\.0) == ["streamtype", "x-multi", "x-multi"])
            #expect(pairs.map(\.1) == [type, "a", "b"])
        }
        #expect(throws: SPDYHeaderCompression.Failure.self) { try SPDYHeaderCompression().decompress([0x78, 0xbb, 0x01, 0x02, 0x03]) }
    }

    @Test func framesRoundTripAndIncompleteOnesWait() throws {
        let frames: [SPDYFrame] = [
            .synStream(streamID: 1, associatedTo: 0, priority: 0, flags: 0, headerBlock: [1, 2, 3]),
            .synReply(streamID: 1, flags: 0, headerBlock: [4]),
            .data(streamID: 3, flags: SPDYFrame.finFlag, payload: Array("hello".utf8)),
            .rstStream(streamID: 5, status: 5), .ping(id: 7), .goAway(lastStreamID: 9, status: 0),
            .settings(flags: 0, entries: [(id: 7, value: 65536)]), .windowUpdate(streamID: 1, delta: 1024),
        ]
        var buffer = ByteBuffer()
        for frame in frames { frame.encode(into: &buffer) }
        var partial = buffer.getSlice(at: 0, length: 10)!
        #expect(try SPDYFrame.decode(&partial) == nil)
        #expect(partial.readableBytes == 10)
        var decoded: [SPDYFrame] = []
        while let frame = try SPDYFrame.decode(&buffer) { decoded.append(frame) }
        #expect(decoded == frames)
        var oversized = ByteBuffer()
        oversized.writeInteger(UInt32(1))
        oversized.writeInteger(UInt32(0x00FF_FFFF))
        #expect(throws: SPDYFrame.DecodingError.self) { try SPDYFrame.decode(&oversized) }
    }

    /// A TLS server that accepts kubectl 1.29's SPDY upgrade and keeps what it sends next.
    @Test func kubectl129sStreamsDecode() async throws {
        guard KubeGatewayFixture.requireKubectl("1.29") else { return }
        let directory = NSTemporaryDirectory() + "spdy-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ProcessRunner.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory + "/tls.key", "-out", directory + "/tls.crt", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ])
        let port = ProcessRunner.freePort()
        let script = """
        import socket, ssl, time
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain("\(directory)/tls.crt", "\(directory)/tls.key")
        server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", \(port))); server.listen(4); print("ready", flush=True)
        while True:
            raw, _ = server.accept()
            connection = context.wrap_socket(raw, server_side=True)
            request = b""
            while b"\\r\\n\\r\\n" not in request:
                request += connection.recv(4096)
            path = request.split(b" ")[1].split(b"?")[0]
            if b"/exec" not in path:
                documents = {
                    b"/api": b'{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}',
                    b"/apis": b'{"kind":"APIGroupList","apiVersion":"v1","groups":[]}',
                    b"/api/v1": b'{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"","namespaced":true,"kind":"Pod","verbs":["get","list"]},{"name":"pods/exec","singularName":"","namespaced":true,"kind":"PodExecOptions","verbs":["create","get"]}]}',
                }
                body = documents.get(path, b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web-1","namespace":"default"},"spec":{"containers":[{"name":"app","image":"x"}]},"status":{"phase":"Running"}}')
                connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: " + str(len(body)).encode() + b"\\r\\n\\r\\n" + body)
                connection.close(); continue
            connection.sendall(b"HTTP/1.1 101 Switching Protocols\\r\\nConnection: Upgrade\\r\\nUpgrade: SPDY/3.1\\r\\nX-Stream-Protocol-Version: v4.channel.k8s.io\\r\\n\\r\\n")
            connection.settimeout(1.5); received = b""
            try:
                while True:
                    chunk = connection.recv(65536)
                    if not chunk: break
                    received += chunk
            except Exception:
                pass
            open("\(directory)/frames.bin", "wb").write(received); connection.close()
        """
        try script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        let server = try ProcessRunner.spawn(["/usr/bin/python3", directory + "/server.py"], output: directory + "/server.log")
        defer { ProcessRunner.stop(server) }
        for _ in 0..<50 where !((try? String(contentsOfFile: directory + "/server.log", encoding: .utf8))?.contains("ready") ?? false) {
            try await Task.sleep(for: .milliseconds(100))
        }
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:\(port)", certificate-authority: \(directory)/tls.crt}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u, namespace: default}}]
        current-context: x
        """.write(toFile: directory + "/kubeconfig", atomically: true, encoding: .utf8)
        // kubectl opens its streams once the upgrade is accepted; the server keeps them and closes.
        // (It waits for the error stream's reply before opening the others: stopped after 4 s.)
        _ = try? ProcessRunner.run(
            "/usr/bin/timeout", ["4", KubeGatewayFixture.kubectlDirectory + "/kubectl.1.29", "--kubeconfig", directory + "/kubeconfig", "exec", "web-1", "--", "echo", "hi"],
            environment: ["HOME": directory]
        )
        let captured = try #require(FileManager.default.contents(atPath: directory + "/frames.bin"))
        var buffer = ByteBuffer(bytes: captured)
        let headers = try SPDYHeaderCompression()
        var streamTypes: [String] = []
        while let frame = try SPDYFrame.decode(&buffer) {
            if case .synStream(_, _, _, _, let block) = frame {
                let pairs = try headers.decompress(block)
                streamTypes += pairs.filter { $0.0 == "streamtype" }.map(\.1)
            }
        }
        // Go's spdystream deflated its header block with the dictionary above: it inflates
        // here, and names the error stream, which remotecommand opens first.
        #expect(streamTypes.first == "error", "\(streamTypes)")
    }
}
