import GatewayConfig
import NIOCore
import NIOSSL
import NIOPosix
import PostgresWire

/// The gateway's own connection to the target database, authenticated with credentials
/// only the gateway holds (trust, md5 or SCRAM-SHA-256).
struct UpstreamConnection {
    typealias Writer = FrameWriter

    struct Startup {
        var parameters: [PostgresFrame]
        var processID: Int32
        var secretKey: Int32
    }

    struct Failure: Error, CustomStringConvertible {
        /// SQLSTATE for the client: 08006 (cannot connect) or 28P01 (authentication refused).
        var code: String
        var message: String
        var description: String { message }
    }

    /// Connects on `eventLoop`: the client's, so both directions of a session share one thread.
    /// `opened` is given the channel as soon as it is dialled (the start-up deadline closes it).
    static func connect(_ upstream: PostgresUpstream, on eventLoop: any EventLoop, opened: (any Channel) -> Void = { _ in }) async throws(Failure) -> StartupChannel {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(.seconds(5))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: upstream.host, port: upstream.port).get()
        } catch {
            throw Failure(code: "08006", message: "cannot connect to the upstream database at \(upstream.host):\(upstream.port): \(error)")
        }
        opened(channel)
        do {
            if upstream.tls != .disable {
                try await negotiateTLS(channel, upstream)
            }
            let stream = try await channel.eventLoop.submit { try PostgresChannel.configure(channel, side: .server).stream }.get()
            return StartupChannel(channel: channel, stream: stream)
        } catch let failure as Failure {
            channel.close(promise: nil)
            throw failure
        } catch {
            channel.close(promise: nil)
            throw Failure(code: "08006", message: "TLS with the upstream database failed: \(error)")
        }
    }

    /// SSLRequest, then TLS when the server says `S`. `prefer` goes on in plaintext after `N`;
    /// `require` and `verify-full` refuse. Only `verify-full` checks the certificate and name.
    private static func negotiateTLS(_ channel: any Channel, _ upstream: PostgresUpstream) async throws {
        let answer = channel.eventLoop.makePromise(of: UInt8.self)
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(SSLResponseReader(answer: answer), name: SSLResponseReader.name)
        }.get()
        var request = channel.allocator.buffer(capacity: 8)
        request.writeInteger(UInt32(8))
        request.writeInteger(PostgresFrameDecoder.startupCodeSSL)
        try await channel.writeAndFlush(request).get()
        let byte = try await answer.futureResult.get()
        try await channel.pipeline.removeHandler(name: SSLResponseReader.name).get()
        guard byte == UInt8(ascii: "S") else {
            if upstream.tls == .prefer { return }
            throw Failure(code: "08006", message: "the upstream database does not offer TLS and the connection requires it (tls: \(upstream.tls.rawValue))")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if upstream.tls == .verifyFull {
            if let ca = upstream.caFile {
                configuration.trustRoots = .file(ca)
            }
        } else {
            configuration.certificateVerification = .none
        }
        let context = try NIOSSLContext(configuration: configuration)
        let hostname = upstream.tls == .verifyFull ? upstream.host : nil
        let handshake = channel.eventLoop.makePromise(of: Void.self)
        try await channel.eventLoop.submit {
            // SNI cannot carry an IP address: name checks then apply to DNS names only.
            let handler = try NIOSSLClientHandler(context: context, serverHostname: hostname.flatMap { $0.first?.isNumber == true ? nil : $0 })
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeWaiter(done: handshake), name: TLSHandshakeWaiter.name)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
        }.get()
        do {
            try await handshake.futureResult.get()
        } catch {
            throw Failure(code: "08006", message: "TLS with the upstream database failed: \(error)")
        }
        try await channel.pipeline.removeHandler(name: TLSHandshakeWaiter.name).get()
    }

    /// Reads which table columns `masking.columns` names (see `MaskedColumnSources`), on the
    /// authenticated connection before the client may use it.
    static func maskedColumnSources(names: some Collection<String>, _ iterator: inout FrameReader, _ outbound: Writer) async throws(Failure) -> MaskedColumnSources {
        var sources = MaskedColumnSources()
        var failure: String?
        var ended = false
        do {
            try await outbound.write(FrontendMessages.query(MaskedColumnSources.query(names: names) + "; " + MaskedColumnSources.viewQuery(names: names)))
            while !ended, let frame = try await iterator.next() {
                switch frame.type {
                case PostgresMessageType.dataRow:
                    let row = try RowMessages.parseDataRow(frame)
                    let read = row.count == 2 ? sources.addView(row: row) : sources.add(row: row)
                    if !read { failure = "an unexpected catalog row" }
                case PostgresMessageType.errorResponse:
                    failure = BackendMessages.parseFields(frame)["M"] ?? "an error"
                case PostgresMessageType.readyForQuery:
                    ended = true
                default:
                    continue
                }
            }
        } catch {
            throw Failure(code: "08006", message: "the upstream database closed the connection while the gateway read its catalog: \(error)")
        }
        guard ended else { throw Failure(code: "08006", message: "the upstream database closed the connection while the gateway read its catalog") }
        if let failure {
            throw Failure(code: "08006", message: "cannot read which table columns to mask from the upstream's catalog (pg_attribute): \(failure)")
        }
        sources.resolveViews(maskedNames: names)
        return sources
    }

    /// Runs the start-up and authentication as a client of the upstream, up to its first ReadyForQuery.
    static func authenticate(_ iterator: inout FrameReader, _ outbound: Writer, upstream: PostgresUpstream, clientParameters: [String: String]) async throws -> Startup {
        var parameters: [(String, String)] = [("user", upstream.user), ("database", upstream.database)]
        for (key, value) in clientParameters.sorted(by: { $0.key < $1.key }) where StartupSettings.forwardedParameters.contains(key) {
            parameters.append((key, value))
        }
        if clientParameters["application_name"] == nil { parameters.append(("application_name", "access-gateway")) }

        do {
            try await outbound.write(StartupRequest.startupFrame(parameters: parameters))
            var scram: SCRAMClient?
            var statusFrames: [PostgresFrame] = []
            var processID: Int32 = 0
            var secretKey: Int32 = 0
            let password = upstream.password?.value
            while let frame = try await iterator.next() {
                switch frame.type {
                case PostgresMessageType.authentication:
                    switch try BackendMessages.parseAuthentication(frame) {
                    case .ok:
                        continue
                    case .cleartextPassword:
                        guard let password else { throw Failure(code: "28P01", message: "the upstream asks for a password and the connection has none (password_env / password_file)") }
                        try await outbound.write(FrontendMessages.password(password))
                    case .md5Password(let salt):
                        guard let password else { throw Failure(code: "28P01", message: "the upstream asks for an md5 password and the connection has none") }
                        try await outbound.write(FrontendMessages.password(SCRAMClient.md5Response(user: upstream.user, password: password, salt: salt)))
                    case .sasl(let mechanisms):
                        guard let password else { throw Failure(code: "28P01", message: "the upstream asks for SCRAM and the connection has no password") }
                        guard mechanisms.contains("SCRAM-SHA-256") else {
                            throw Failure(code: "28P01", message: "the upstream offers only \(mechanisms.joined(separator: ", ")); SCRAM-SHA-256 is supported")
                        }
                        var client = SCRAMClient(password: password)
                        try await outbound.write(FrontendMessages.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: client.firstMessage()))
                        scram = client
                    case .saslContinue(let data):
                        guard var client = scram else { throw Failure(code: "08006", message: "unexpected SCRAM continuation from the upstream") }
                        try await outbound.write(FrontendMessages.saslResponse(try client.finalMessage(serverFirst: data)))
                        scram = client
                    case .saslFinal(let data):
                        guard let client = scram else { throw Failure(code: "08006", message: "unexpected SCRAM final message from the upstream") }
                        try client.verify(serverFinal: data)
                    case .unsupported(let code):
                        throw Failure(code: "08006", message: "the upstream asks for an unsupported authentication method (\(code))")
                    }
                case PostgresMessageType.errorResponse:
                    let fields = BackendMessages.parseFields(frame)
                    let code = fields["C"] ?? "08006"
                    let message = fields["M"] ?? "error"
                    throw Failure(code: code == "28P01" || code == "28000" ? "28P01" : "08006", message: "the upstream database refused the gateway's connection: \(message) (\(code))")
                case PostgresMessageType.backendKeyData:
                    var payload = frame.payload
                    processID = payload.readInteger(as: Int32.self) ?? 0
                    secretKey = payload.readInteger(as: Int32.self) ?? 0
                case PostgresMessageType.parameterStatus, PostgresMessageType.noticeResponse, PostgresMessageType.negotiateProtocolVersion:
                    if frame.type == PostgresMessageType.parameterStatus { statusFrames.append(frame) }
                case PostgresMessageType.readyForQuery:
                    return Startup(parameters: statusFrames, processID: processID, secretKey: secretKey)
                default:
                    throw Failure(code: "08006", message: "unexpected message from the upstream during start-up")
                }
            }
            throw Failure(code: "08006", message: "the upstream closed the connection during start-up")
        } catch let failure as Failure {
            throw failure
        } catch let tls as NIOSSLError {
            throw Failure(code: "08006", message: "TLS with the upstream database failed: \(tls)")
        } catch {
            throw Failure(code: "08006", message: "the upstream connection failed during start-up: \(error)")
        }
    }

    /// Sends a CancelRequest for the upstream backend on a new connection.
    static func cancel(host: String, port: Int, processID: Int32, secretKey: Int32) async {
        guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelInitializer({ channel in
                channel.eventLoop.makeCompletedFuture { _ = try PostgresChannel.configure(channel, side: .server) }
            })
            .connect(host: host, port: port).get() else { return }
        try? await channel.writeAndFlush(StartupRequest.cancelFrame(processID: processID, secretKey: secretKey)).get()
        try? await channel.close()
    }
}
