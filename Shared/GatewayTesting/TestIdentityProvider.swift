import Crypto
import Foundation
import GatewayIdentity
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An OIDC identity provider for tests and the demo — never for production.
///
/// Serves discovery and JWKS on a loopback port and mints tokens with chosen claims,
/// keys and algorithms, including the bad ones a verifier must refuse.
public final class TestIdentityProvider: Sendable {
    public let audience: String
    public let port: Int
    /// The issuer URL its tokens and discovery name: `http://127.0.0.1:<port>` unless given
    /// (the compose stack's `http://demo-idp:9100`).
    public let issuer: String
    private let channel: any Channel
    private let box: StateBox

    struct State {
        var keys: [TestSigningKey]
        var jwksRequests = 0
    }

    public var jwksRequests: Int { box.mutex.withLock { $0.jwksRequests } }
    public var keys: [TestSigningKey] { box.mutex.withLock { $0.keys } }

    private init(audience: String, port: Int, issuer: String, channel: any Channel, box: StateBox) {
        self.audience = audience
        self.port = port
        self.issuer = issuer
        self.channel = channel
        self.box = box
    }


    /// Starts on 127.0.0.1 (port 0 picks a free one) with one key per algorithm. `host`
    /// and `issuer` are for the demo container, reached by other containers by name.
    public static func start(
        port: Int = 0, host: String = "127.0.0.1", issuer publicIssuer: String? = nil, audience: String = "access-gateway",
        algorithms: [TestSigningKey.Algorithm] = TestSigningKey.Algorithm.allCases
    ) async throws -> TestIdentityProvider {
        let keys = try algorithms.map { try TestSigningKey.generate($0) }
        let box = StateBox(State(keys: keys))
        let issuerBox = IssuerBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(DiscoveryHandler(box: box, issuer: issuerBox))
                }
            }
            .bind(host: host, port: port)
            .get()
        let bound = channel.localAddress?.port ?? port
        let issuer = publicIssuer ?? "http://127.0.0.1:\(bound)"
        issuerBox.value.withLock { $0 = issuer }
        return TestIdentityProvider(audience: audience, port: bound, issuer: issuer, channel: channel, box: box)
    }

    public func stop() async {
        try? await channel.close()
    }

    /// The current key for an algorithm.
    public func key(_ algorithm: TestSigningKey.Algorithm) -> TestSigningKey? {
        box.mutex.withLock { $0.keys.last { $0.algorithm == algorithm } }
    }

    /// Replaces the key of `algorithm` with a new one; the old kid disappears from the JWKS.
    @discardableResult
    public func rotate(_ algorithm: TestSigningKey.Algorithm) throws -> (old: TestSigningKey?, new: TestSigningKey) {
        let fresh = try TestSigningKey.generate(algorithm)
        return box.mutex.withLock { state in
            let old = state.keys.last { $0.algorithm == algorithm }
            state.keys.removeAll { $0.algorithm == algorithm }
            state.keys.append(fresh)
            return (old, fresh)
        }
    }

    /// Adds a key without removing the others (an issuer publishing the next key early).
    public func add(_ key: TestSigningKey) {
        box.mutex.withLock { $0.keys.append(key) }
    }

    /// Standard claims for `subject`; `overrides` replace or add claims (use `NSNull()` to drop one).
    public func claims(
        subject: String = "agent-1", email: String? = nil, groups: [String]? = ["agents"],
        expiresIn: TimeInterval = 3600, overrides: [String: any Sendable] = [:]
    ) -> [String: any Sendable] {
        let now = Date().timeIntervalSince1970
        var claims: [String: any Sendable] = [
            "iss": issuer, "aud": audience, "sub": subject, "iat": Int(now), "nbf": Int(now), "exp": Int(now + expiresIn),
        ]
        if let email { claims["email"] = email }
        if let groups { claims["groups"] = groups }
        for (name, value) in overrides {
            if value is NSNull { claims.removeValue(forKey: name) } else { claims[name] = value }
        }
        return claims
    }

    /// A token signed by the provider's current key for `algorithm`.
    public func token(
        subject: String = "agent-1", email: String? = nil, groups: [String]? = ["agents"],
        algorithm: TestSigningKey.Algorithm = .rs256, expiresIn: TimeInterval = 3600,
        overrides: [String: any Sendable] = [:]
    ) throws -> String {
        guard let key = key(algorithm) else { throw TestIdentityProviderError.noKey(algorithm.rawValue) }
        return try Self.sign(claims(subject: subject, email: email, groups: groups, expiresIn: expiresIn, overrides: overrides), with: key)
    }

    /// Signs arbitrary claims with `key`; `header` entries override the header (`kid`, `alg`).
    public static func sign(_ claims: [String: any Sendable], with key: TestSigningKey, header: [String: String] = [:]) throws -> String {
        var fields = ["alg": key.algorithm.rawValue, "typ": "JWT", "kid": key.kid]
        for (name, value) in header { fields[name] = value }
        let input = try encodeSegment(fields) + "." + encodeSegment(claims)
        return input + "." + Base64URL.encode(try key.sign(Data(input.utf8)))
    }

    /// `alg: none` with an empty signature.
    public func unsignedToken(subject: String = "agent-1", groups: [String] = ["agents"]) throws -> String {
        let input = try Self.encodeSegment(["alg": "none", "typ": "JWT"]) + "." + Self.encodeSegment(claims(subject: subject, groups: groups))
        return input + "."
    }

    /// HS256 "signed" with the RSA public key as the secret: the algorithm-confusion attack.
    public func hmacToken(subject: String = "agent-1", groups: [String] = ["agents"]) throws -> String {
        guard let rsa = key(.rs256) else { throw TestIdentityProviderError.noKey("RS256") }
        let input = try Self.encodeSegment(["alg": "HS256", "typ": "JWT", "kid": rsa.kid]) + "." + Self.encodeSegment(claims(subject: subject, groups: groups))
        let secret = SymmetricKey(data: Data(rsa.publicKeyPEM().utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: secret)
        return input + "." + Base64URL.encode(Data(mac))
    }

    /// Signed by a key the provider does not publish, but claiming the published kid.
    public func forgedToken(subject: String = "agent-1", groups: [String] = ["agents"], algorithm: TestSigningKey.Algorithm = .rs256) throws -> String {
        guard let real = key(algorithm) else { throw TestIdentityProviderError.noKey(algorithm.rawValue) }
        let impostor = try TestSigningKey.generate(algorithm, kid: real.kid)
        return try Self.sign(claims(subject: subject, groups: groups), with: impostor)
    }

    static func encodeSegment(_ object: [String: any Sendable]) throws -> String {
        Base64URL.encode(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}

public enum TestIdentityProviderError: Error {
    case noKey(String)
}

final class StateBox: Sendable {
    let mutex: Mutex<TestIdentityProvider.State>
    init(_ state: TestIdentityProvider.State) { self.mutex = Mutex(state) }
}

final class IssuerBox: Sendable {
    let value = Mutex("")
}

/// Serves `/.well-known/openid-configuration` and `/jwks`.
final class DiscoveryHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let box: StateBox
    let issuer: IssuerBox

    init(box: StateBox, issuer: IssuerBox) {
        self.box = box
        self.issuer = issuer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        let issuer = self.issuer.value.withLock { $0 }
        var status = HTTPResponseStatus.ok
        var body = Data()
        switch head.uri {
        case "/.well-known/openid-configuration":
            body = (try? JSONSerialization.data(withJSONObject: [
                "issuer": issuer, "jwks_uri": issuer + "/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
            ])) ?? Data()
        case "/jwks":
            let keys = box.mutex.withLock { state -> [TestSigningKey] in
                state.jwksRequests += 1
                return state.keys
            }
            body = (try? JSONSerialization.data(withJSONObject: ["keys": keys.compactMap { try? $0.jwk() }])) ?? Data()
        default:
            status = .notFound
            body = Data("{\"error\":\"not found\"}".utf8)
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
