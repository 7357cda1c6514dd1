import AsyncHTTPClient
import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewayRecording
import GatewayRuntime
import GatewaySession
import GatewayState
import KubeExecGatewayCore
import Logging
import NIOCore
import NIOHTTP1

/// The Kubernetes API through the gateway: each request is admitted with its bearer token
/// against the connection its path names (`/connections/<name>/...`), decided as an API
/// request (verb, resource, namespace, name) under `api_passthrough`, the guardrails and the
/// approval rules, audited, and relayed to the API server with the gateway's own credential
/// (impersonating the identity where the connection says so; a client's own `Impersonate-*`
/// headers are dropped). Responses stream back (watches, `logs -f`), masked where the
/// connection masks.
struct KubeAPIProxy: Sendable {
    let environment: GatewayEnvironment
    let clients: KubeUpstreamClients
    /// How long a held request waits for its review before it is answered with 403.
    var holdWait: Duration = .seconds(25)

    /// The request headers the gateway never passes on: hop-by-hop headers, the client's
    /// credential and impersonation, and encodings it could not inspect.
    static let droppedRequestHeaders: Set<String> = [
        "authorization", "host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer",
        "accept-encoding", "content-length", "x-gateway-reason",
    ]
    static let droppedResponseHeaders: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "trailer", "upgrade"]

    /// What the API server answered a forwarded request: its status, and what masking hid.
    struct Answer {
        var status: Int
        var masked: [String: Int]?
    }

    func serve(_ request: KubeHTTPRequest, responder: KubeResponder, session recorded: KubeAPISession, logger: Logger) async {
        let clientAddress = recorded.clientAddress
        let (path, queryText) = request.pathAndQuery
        guard let (name, apiPath) = KubeHTTPRequest.route(path) else {
            return await responder.status(.failure(code: 404, reason: "NotFound", message: "access gateway: the gateway serves /connections/<connection>/... (set the kubeconfig's server to https://<gateway>/connections/<connection>)"))
        }
        let session: Admission.Admitted
        let upstream: KubeUpstream
        switch await KubeAdmission(environment: environment).admit(token: request.bearerToken, connection: name, clientAddress: clientAddress, logger: logger) {
        case .success(let admitted): (session, upstream) = admitted
        case .failure(let refusal): return await responder.status(refusal.status)
        }
        let query = KubeRequest.queryItems(queryText)
        let kube = KubeRequest.parse(method: request.head.method.rawValue, path: apiPath, query: query)
        let tracked: TrackedSession
        do {
            tracked = try await recorded.session(for: session.identity, on: session.connection)
        } catch {
            return await responder.status(.failure(code: 503, reason: "ServiceUnavailable", message: "access gateway: \(error.message)"))
        }
        var gate = KubeRequestGate(environment: environment, identity: session.identity, connection: session.connection, clientAddress: clientAddress)
        gate.sessionID = tracked.id
        gate.recorder = tracked.recorder
        if request.bodyTooLarge {
            return await responder.status(.failure(code: 413, reason: "RequestEntityTooLarge", message: "access gateway: the request body exceeds \(KubeRequestCollector.maximumBody >> 20) MiB"))
        }
        if kube.isExec {
            // An exec that reaches here asked for no stream upgrade (or not on its connection's
            // first request, where upgrades happen): refused.
            if let refusal = gate.execRefusal(KubeExecOptions(request: kube, query: query), request: kube) { return await responder.status(refusal) }
            return await responder.status(.failure(
                code: 400, reason: "BadRequest",
                message: "access gateway: exec and attach need a stream upgrade (WebSocket or SPDY/3.1) on a connection's first request"
            ))
        }
        switch await gate.decide(kube, query: queryText, body: request.body, justification: request.head.headers.first(name: "x-gateway-reason"), wait: holdWait) {
        case .refuse(let status):
            return await responder.status(status)
        case .forward:
            break
        }
        let started = ContinuousClock.now
        do {
            // A client that leaves (or a gateway that shuts down and closes it) ends the upstream
            // request too: a quiet watch must not hold the API server's connection, or the
            // gateway's shutdown, until the server ends it.
            let forwarding = self
            let channel = responder.channel
            let answered: Answer? = try await withThrowingTaskGroup(of: Answer?.self) { group in
                group.addTask {
                    try await forwarding.forward(request, apiPath: apiPath, query: queryText, kube: kube, session: session, sessionID: tracked.id, upstream: upstream, responder: responder)
                }
                group.addTask {
                    await ClientDeparture.wait(for: channel)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first
            }
            guard let answer = answered else {
                tracked.recorder?.record(RecordingEvent(type: .result, command: kube.summary, durationMS: (ContinuousClock.now - started).milliseconds, detail: "the client left"))
                return
            }
            tracked.recorder?.record(RecordingEvent(
                type: .result, command: kube.summary, durationMS: (ContinuousClock.now - started).milliseconds, masked: answer.masked, detail: "HTTP \(answer.status)"
            ))
        } catch {
            logger.warning("the API server could not be used", metadata: ["gateway.connection": "\(name)", "gateway.error": "\(error)"])
            tracked.recorder?.record(RecordingEvent(type: .error, command: kube.summary, error: "the API server could not be reached"))
            await environment.audit.record(.error, identity: session.identity, connection: name, session: tracked.id, command: kube.summary, detail: "\(error)", clientAddress: clientAddress)
            await responder.status(.failure(code: 502, reason: "ServiceUnavailable", message: "access gateway: the API server of connection \"\(name)\" could not be reached"))
        }
    }

    private func forward(
        _ request: KubeHTTPRequest, apiPath: String, query: Substring, kube: KubeRequest, session: Admission.Admitted, sessionID: String,
        upstream: KubeUpstream, responder: KubeResponder
    ) async throws -> Answer {
        let client = try clients.client(for: session.connection.name, upstream: upstream)
        let base = upstream.url.hasSuffix("/") ? String(upstream.url.dropLast()) : upstream.url
        var outbound = HTTPClientRequest(url: base + apiPath + (query.isEmpty ? "" : "?\(query)"))
        outbound.method = request.head.method
        for (name, value) in request.head.headers {
            let lower = name.lowercased()
            if Self.droppedRequestHeaders.contains(lower) || lower.hasPrefix("impersonate-") { continue }
            outbound.headers.add(name: name, value: value)
        }
        outbound.headers.replaceOrAdd(name: "authorization", value: "Bearer \(try KubeUpstreamClients.token(upstream))")
        if upstream.impersonate {
            outbound.headers.add(name: "Impersonate-User", value: session.identity.subject)
            for group in session.identity.groups { outbound.headers.add(name: "Impersonate-Group", value: group) }
        }
        let masking = MaskingEngine(policy: session.connection.masking)
        let masksSecrets = session.connection.maskSecrets && kube.resource == "secrets"
        if masking.scansValues || masksSecrets {
            // Protobuf cannot be inspected: a masked connection asks for JSON.
            outbound.headers.replaceOrAdd(name: "accept", value: "application/json")
        }
        if request.body.readableBytes > 0 { outbound.body = .bytes(request.body) }
        let response = try await client.execute(outbound, timeout: .hours(24))
        let answered = Answer(status: Int(response.status.code))
        var headers = HTTPHeaders()
        for (name, value) in response.headers where !Self.droppedResponseHeaders.contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        if masksSecrets && kube.verb == "watch" {
            // Watch events, one JSON object a line, each masked as it comes.
            await responder.head(response.status, headers: headers)
            var pending: [UInt8] = []
            for try await chunk in response.body {
                pending += chunk.readableBytesView
                while let end = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Array(pending[..<end])
                    pending.removeSubrange(...end)
                    guard let masked = SecretMasking.mask(line), await responder.write(ByteBuffer(bytes: masked + [UInt8(ascii: "\n")])) else {
                        await responder.end()
                        return answered
                    }
                }
            }
            await responder.end()
            return answered
        }
        if masksSecrets {
            // A Secret (or a list of them) is read whole and its values masked; what cannot be
            // read as JSON is not passed on.
            var body = try await response.body.collect(upTo: 64 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            guard let masked = bytes.isEmpty ? bytes : SecretMasking.mask(bytes) else {
                await responder.status(.failure(code: 502, reason: "InternalError", message: "access gateway: the Secret response could not be inspected for masking"))
                return Answer(status: 502)
            }
            headers.replaceOrAdd(name: "content-length", value: "\(masked.count)")
            await responder.head(response.status, headers: headers)
            await responder.write(ByteBuffer(bytes: masked))
            await responder.end()
            return answered
        }
        await responder.head(response.status, headers: headers)
        var stream = masking.scansValues ? masking.makeStream() : nil
        for try await chunk in response.body {
            let out: ByteBuffer
            if var masker = stream {
                out = ByteBuffer(bytes: chunk.withUnsafeReadableBytes { masker.process($0) })
                stream = masker
            } else {
                out = chunk
            }
            // A client that left ends the relay (and the upstream request with it).
            guard await responder.write(out) else { return answered }
        }
        if var masker = stream {
            await responder.write(ByteBuffer(bytes: masker.flush()))
            // What was hidden: counted, and audited as one `mask` decision on the request.
            var tally = MaskingTally(environment: environment, identity: session.identity, connection: session.connection.name, sessionID: sessionID)
            tally.count(masker.takeHits())
            let masked = tally.close(command: kube.summary)
            await responder.end()
            return Answer(status: answered.status, masked: masked)
        }
        await responder.end()
        return answered
    }
}
