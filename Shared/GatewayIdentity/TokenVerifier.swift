import Foundation
import GatewayConfig
import GatewayPolicy
import JWTKit
import Logging

/// Verifies OIDC tokens against the configured issuer's keys.
///
/// Keys come from discovery (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) or
/// from `jwks_file`. The whole set is refreshed every `refreshInterval`, so a key the
/// issuer rotated out stops being accepted without a restart.
///
/// An unknown `kid` refetches the set, so a key the issuer just rotated in is found. A burst
/// of tokens with made-up kids must not spend that allowance for everyone: refetches for
/// unknown kids are spaced `unknownKeySpacing` apart (not `refetchInterval`), a token that
/// arrives within the spacing waits for the next fetch instead of being refused, and a kid
/// still unknown after a fetch is not fetched for again within `refetchInterval`. An
/// attacker can cause at most one fetch per spacing; a legitimate new key is found within it.
public actor TokenVerifier {
    public static let leeway: TimeInterval = 60
    static let acceptedAlgorithms: Set<String> = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

    private let settings: IdentitySettings
    private let fetcher: any IssuerFetcher
    private let logger: Logger
    private let refetchInterval: TimeInterval
    private let refreshInterval: TimeInterval
    private let now: @Sendable () -> Date
    private var keySet: JSONWebKeySet?
    private var lastFetchAttempt: Date?
    private var lastUnknownKeyRefetch: Date?
    private var lastError: String?
    private var inFlight: Task<Void, Never>?
    private let unknownKeySpacing: TimeInterval
    /// Kids looked for after a fetch and still absent, with when; bounded.
    private var knownUnknown: [String: Date] = [:]
    static let knownUnknownLimit = 4096

    public init(
        settings: IdentitySettings, fetcher: any IssuerFetcher, logger: Logger = Logger(label: "gateway.identity"),
        refetchInterval: TimeInterval = 30, refreshInterval: TimeInterval = 300, unknownKeySpacing: TimeInterval = 2,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.unknownKeySpacing = unknownKeySpacing
        self.settings = settings
        self.fetcher = fetcher
        self.logger = logger
        self.refetchInterval = refetchInterval
        self.refreshInterval = refreshInterval
        self.now = now
    }

    /// True once a key set is loaded; `/readyz` reports it.
    public var isReady: Bool { keySet != nil }
    public var readinessProblem: String? {
        keySet == nil ? "identity keys not loaded" + (lastError.map { ": \($0)" } ?? "") : nil
    }

    /// Set while keys are loaded but the issuer failed the last fetch: cached keys verify,
    /// tokens signed by any other key are refused.
    public var readinessWarning: String? {
        guard let keySet, let lastError else { return nil }
        let age = Int(now().timeIntervalSince(keySet.fetchedAt))
        return "the issuer's keys could not be fetched (\(lastError)); the keys fetched \(age) s ago are in use and tokens signed by other keys are refused"
    }

    /// For `/readyz`: fetches the keys if the last attempt is older than `refetchInterval`
    /// (so an issuer that went away is noticed, at most one fetch per interval), then says
    /// whether keys are loaded and whether the issuer answered.
    public func readiness() async -> (problem: String?, warning: String?) {
        await rateLimitedRefetch()
        return (readinessProblem, readinessWarning)
    }
    public var keyIdentifiers: [String] { keySet.map { Array($0.keys.keys).sorted() } ?? [] }

    /// Loads (or reloads) the key set now, regardless of the rate limit.
    public func refresh() async throws {
        lastFetchAttempt = now()
        do {
            let data = try await fetchKeySetData()
            let parsed = try await JSONWebKeySet.parse(data, now: now())
            keySet = parsed
            lastError = nil
            logger.info("identity keys loaded", metadata: ["gateway.kids": "\(parsed.keys.keys.sorted().joined(separator: ","))"])
        } catch {
            lastError = "\(error)"
            logger.warning("identity keys could not be loaded", metadata: ["gateway.error": "\(error)"])
            throw error
        }
    }

    /// Refreshes when the key set is older than `refreshInterval` (called on each verification).
    private func refreshIfStale() async {
        if let keySet, now().timeIntervalSince(keySet.fetchedAt) < refreshInterval { return }
        await rateLimitedRefetch()
    }

    /// One fetch, unless one was attempted within `refetchInterval` (so an unreachable
    /// issuer is not hammered). Concurrent callers share it.
    private func rateLimitedRefetch() async {
        if inFlight == nil, let last = lastFetchAttempt, now().timeIntervalSince(last) < refetchInterval { return }
        await sharedRefresh()
    }

    /// Fetches now; callers arriving while a fetch is in flight wait for that one.
    private func sharedRefresh() async {
        if let task = inFlight {
            await task.value
            return
        }
        let task = Task { _ = try? await self.refresh() }
        inFlight = task
        await task.value
        inFlight = nil
    }

    public func verify(_ token: String) async throws(TokenRejection) -> Identity {
        // Before any parsing: a token of megabytes is not read.
        let size = token.utf8.count
        guard size <= settings.maxTokenBytes else {
            throw TokenRejection(.tooLarge, "the token is \(size) bytes; at most \(settings.maxTokenBytes) are accepted")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerData = Base64URL.decode(String(parts[0])),
              let header = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw TokenRejection(.malformed, "not a JWT")
        }
        guard let alg = header["alg"] as? String else { throw TokenRejection(.malformed, "the token header has no alg") }
        if alg.lowercased() == "none" { throw TokenRejection(.unsignedAlgorithm, "unsigned tokens (alg none) are refused") }
        if alg.uppercased().hasPrefix("HS") { throw TokenRejection(.hmacAlgorithm, "HMAC-signed tokens (\(alg)) are refused") }
        guard Self.acceptedAlgorithms.contains(alg) else { throw TokenRejection(.unsupportedAlgorithm, "algorithm \(alg) is not accepted") }
        guard !parts[2].isEmpty else { throw TokenRejection(.malformed, "the token has no signature") }

        await refreshIfStale()
        let kid = header["kid"] as? String
        var key = lookup(kid)
        if key == nil, keySet == nil {
            await rateLimitedRefetch()
            key = lookup(kid)
        } else if key == nil {
            // An unknown kid: the issuer may have rotated.
            await refetch(forUnknown: kid)
            key = lookup(kid)
        }
        guard let keySet else { throw TokenRejection(.keysUnavailable, "the issuer's keys are not available") }
        guard let key else {
            throw TokenRejection(.unknownKey, kid.map { "unknown signing key \"\($0)\"" } ?? "the token names no key (kid) and the issuer has several")
        }
        guard Self.algorithm(alg, fits: key) else {
            throw TokenRejection(.unsupportedAlgorithm, "algorithm \(alg) does not match key \"\(key.kid)\"")
        }

        let claims: ClaimSet
        do {
            claims = try await keySet.collection.verify(token, as: ClaimSet.self)
        } catch {
            throw TokenRejection(.badSignature, "the signature does not verify")
        }
        return try validate(claims)
    }

    /// One refetch for a kid not in the set, spaced from the last such refetch by
    /// `unknownKeySpacing` (waiting out the rest of the spacing rather than refusing), unless
    /// this kid was already looked for after a fetch within `refetchInterval`.
    private func refetch(forUnknown kid: String?) async {
        let identifier = kid ?? ""
        if let seen = knownUnknown[identifier], now().timeIntervalSince(seen) < refetchInterval { return }
        if let last = lastUnknownKeyRefetch {
            let wait = unknownKeySpacing - now().timeIntervalSince(last)
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 1)) }
        }
        // Another caller may have fetched while this one waited.
        if lookup(kid) != nil { return }
        if lastUnknownKeyRefetch.map({ now().timeIntervalSince($0) >= unknownKeySpacing }) ?? true {
            lastUnknownKeyRefetch = now()
            await sharedRefresh()
        } else if let task = inFlight {
            await task.value
        }
        if lookup(kid) == nil {
            if knownUnknown.count >= Self.knownUnknownLimit {
                let cutoff = now().addingTimeInterval(-refetchInterval)
                knownUnknown = knownUnknown.filter { $0.value > cutoff }
                if knownUnknown.count >= Self.knownUnknownLimit { knownUnknown.removeAll() }
            }
            knownUnknown[identifier] = now()
        }
    }

    private func lookup(_ kid: String?) -> JSONWebKeySet.Key? {
        guard let keySet else { return nil }
        if let kid { return keySet.keys[kid] }
        return keySet.keys.count == 1 ? keySet.keys.values.first : nil
    }

    static func algorithm(_ alg: String, fits key: JSONWebKeySet.Key) -> Bool {
        if let declared = key.algorithm, declared != alg { return false }
        switch key.keyType {
        case "RSA": return alg.hasPrefix("RS") || alg.hasPrefix("PS")
        case "EC":
            switch key.curve {
            case "P-256": return alg == "ES256"
            case "P-384": return alg == "ES384"
            case "P-521": return alg == "ES512"
            default: return alg.hasPrefix("ES")
            }
        case "OKP": return alg == "EdDSA"
        default: return false
        }
    }

    private func validate(_ claims: ClaimSet) throws(TokenRejection) -> Identity {
        let current = now().timeIntervalSince1970
        guard let issuer = claims.value(at: "iss")?.string else { throw TokenRejection(.missingClaim, "the token has no iss") }
        guard Self.sameIssuer(issuer, settings.issuer) else {
            throw TokenRejection(.wrongIssuer, "issued by \(issuer), expected \(settings.issuer)")
        }
        let audiences: [String]
        switch claims.value(at: "aud") {
        case .string(let single)?: audiences = [single]
        case .array(let many)?: audiences = many.compactMap(\.string)
        default: throw TokenRejection(.missingClaim, "the token has no aud")
        }
        guard audiences.contains(settings.audience) else {
            throw TokenRejection(.wrongAudience, "the token is not for audience \(settings.audience)")
        }
        guard let exp = claims.value(at: "exp")?.number else { throw TokenRejection(.missingClaim, "the token has no exp") }
        guard current < exp + Self.leeway else {
            throw TokenRejection(.expired, "the token expired at \(Self.format(exp))")
        }
        if let nbf = claims.value(at: "nbf")?.number, current + Self.leeway < nbf {
            throw TokenRejection(.notYetValid, "the token is not valid before \(Self.format(nbf))")
        }
        guard let subject = claims.value(at: "sub")?.string, !subject.isEmpty else {
            throw TokenRejection(.missingClaim, "the token has no sub")
        }
        let groups: [String]
        switch claims.value(at: settings.groupsClaim) {
        case .array(let values)?: groups = values.compactMap(\.string)
        case .string(let single)?: groups = [single]
        default: groups = []
        }
        return Identity(
            subject: subject, email: claims.value(at: "email")?.string, groups: groups,
            issuer: issuer, expiresAt: Date(timeIntervalSince1970: exp)
        )
    }

    static func sameIssuer(_ a: String, _ b: String) -> Bool {
        func trim(_ s: String) -> Substring { s.hasSuffix("/") ? s.dropLast() : Substring(s) }
        return trim(a) == trim(b)
    }

    private static func format(_ epoch: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: epoch))
    }

    private func fetchKeySetData() async throws -> Data {
        if let file = settings.jwksFile {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw TokenRejection(.keysUnavailable, "cannot read \(file)")
            }
            return data
        }
        let base = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let discovery = try await get(base + "/.well-known/openid-configuration")
        guard let document = try JSONSerialization.jsonObject(with: discovery) as? [String: Any],
              let jwksURI = document["jwks_uri"] as? String else {
            throw TokenRejection(.keysUnavailable, "the discovery document has no jwks_uri")
        }
        if let advertised = document["issuer"] as? String, !Self.sameIssuer(advertised, settings.issuer) {
            throw TokenRejection(.keysUnavailable, "the discovery document names issuer \(advertised), expected \(settings.issuer)")
        }
        return try await get(jwksURI)
    }

    private func get(_ url: String) async throws -> Data {
        try await fetcher.get(url)
    }
}
