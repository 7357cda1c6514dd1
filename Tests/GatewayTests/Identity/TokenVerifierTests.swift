import Foundation
import GatewayConfig
import GatewayIdentity
import GatewayIssuerClient
import GatewayPolicy
import GatewayTesting
import Testing

@Suite("Token verifier against a real issuer on loopback")
struct TokenVerifierTests {
    func withIssuer(
        groupsClaim: String = "groups", refetchInterval: TimeInterval = 30, refreshInterval: TimeInterval = 300,
        unknownKeySpacing: TimeInterval = 2, maxTokenBytes: Int = 8192,
        _ body: (TestIdentityProvider, TokenVerifier) async throws -> Void
    ) async throws {
        let idp = try await TestIdentityProvider.start()
        let verifier = TokenVerifier(
            settings: IdentitySettings(issuer: idp.issuer, audience: idp.audience, groupsClaim: groupsClaim, maxTokenBytes: maxTokenBytes),
            fetcher: IssuerHTTPClient(), refetchInterval: refetchInterval, refreshInterval: refreshInterval, unknownKeySpacing: unknownKeySpacing
        )
        do {
            try await body(idp, verifier)
        } catch {
            await idp.stop()
            throw error
        }
        await idp.stop()
    }

    func rejection(_ verifier: TokenVerifier, _ token: String) async -> TokenRejection.Code? {
        do {
            _ = try await verifier.verify(token)
            return nil
        } catch {
            return error.code
        }
    }

    @Test(arguments: TestSigningKey.Algorithm.allCases)
    func acceptsEachAlgorithm(_ algorithm: TestSigningKey.Algorithm) async throws {
        try await withIssuer { idp, verifier in
            let token = try idp.token(subject: "agent-7", email: "agent7@example.com", groups: ["agents", "dba"], algorithm: algorithm)
            let identity = try await verifier.verify(token)
            #expect(identity.subject == "agent-7")
            #expect(identity.email == "agent7@example.com")
            #expect(identity.groups == ["agents", "dba"])
            #expect(identity.issuer == idp.issuer)
            #expect(identity.expiresAt > Date())
        }
    }

    @Test func refusesAlgNone() async throws {
        try await withIssuer { idp, verifier in
            do {
                let code = try await rejection(verifier, try idp.unsignedToken())
                #expect(code == .unsignedAlgorithm)
            }
        }
    }

    @Test func refusesHMACConfusion() async throws {
        try await withIssuer { idp, verifier in
            do {
                let code = try await rejection(verifier, try idp.hmacToken())
                #expect(code == .hmacAlgorithm)
            }
        }
    }

    @Test(arguments: TestSigningKey.Algorithm.allCases)
    func refusesForgedSignature(_ algorithm: TestSigningKey.Algorithm) async throws {
        try await withIssuer { idp, verifier in
            do {
                let code = try await rejection(verifier, try idp.forgedToken(algorithm: algorithm))
                #expect(code == .badSignature)
            }
        }
    }

    @Test func refusesTamperedPayload() async throws {
        try await withIssuer { idp, verifier in
            let token = try idp.token(groups: ["agents"])
            var parts = token.split(separator: ".").map(String.init)
            let claims = idp.claims(groups: ["security"])
            parts[1] = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims))
            do {
                let code = try await rejection(verifier, parts.joined(separator: "."))
                #expect(code == .badSignature)
            }
        }
    }

    @Test func refusesAlgorithmNotMatchingKey() async throws {
        try await withIssuer { idp, verifier in
            let rsa = try #require(idp.key(.rs256))
            let ec = try #require(idp.key(.es256))
            // Signed with the EC key but claiming the RSA key's kid.
            let token = try TestIdentityProvider.sign(idp.claims(), with: ec, header: ["kid": rsa.kid])
            do {
                let code = try await rejection(verifier, token)
                #expect(code == .unsupportedAlgorithm)
            }
        }
    }

    @Test func unknownKidRefetchesOnceThenRefuses() async throws {
        try await withIssuer { idp, verifier in
            _ = try await verifier.verify(try idp.token())
            let before = idp.jwksRequests
            let stranger = try TestSigningKey.generate(.rs256, kid: "not-published")
            let token = try TestIdentityProvider.sign(idp.claims(), with: stranger)
            do {
                let code = try await rejection(verifier, token)
                #expect(code == .unknownKey)
            }
            do {
                let code = try await rejection(verifier, token)
                #expect(code == .unknownKey)
            }
            do {
                let code = try await rejection(verifier, token)
                #expect(code == .unknownKey)
            }
            // Rate limited: at most one refetch per 30 s... the first verify above fetched just now.
            #expect(idp.jwksRequests - before <= 1)
        }
    }

    @Test func expiryAndNotBeforeWithLeeway() async throws {
        try await withIssuer { idp, verifier in
            // Each token's times are taken when it is made, not once for all: on a loaded
            // machine the cases ran a minute apart, and "30 s ago" had become 90 s ago.
            var now: Int { Int(Date().timeIntervalSince1970) }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["exp": now - 120]))
                #expect(code == .expired)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["exp": now - 30]))
                #expect(code == nil)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["nbf": now + 120]))
                #expect(code == .notYetValid)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["nbf": now + 30]))
                #expect(code == nil)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["exp": NSNull()]))
                #expect(code == .missingClaim)
            }
        }
    }

    @Test func issuerAndAudience() async throws {
        try await withIssuer { idp, verifier in
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["iss": "https://evil.example.com"]))
                #expect(code == .wrongIssuer)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["aud": "other-app"]))
                #expect(code == .wrongAudience)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["aud": ["other-app", idp.audience]]))
                #expect(code == nil)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["aud": ["other-app"]]))
                #expect(code == .wrongAudience)
            }
            do {
                let code = try await rejection(verifier, try idp.token(overrides: ["sub": NSNull()]))
                #expect(code == .missingClaim)
            }
        }
    }

    @Test func missingGroupsClaimMeansNoGroups() async throws {
        try await withIssuer { idp, verifier in
            let identity = try await verifier.verify(try idp.token(groups: nil))
            #expect(identity.groups.isEmpty)
        }
    }

    @Test func nestedGroupsClaim() async throws {
        try await withIssuer(groupsClaim: "realm_access.roles") { idp, verifier in
            let token = try idp.token(groups: nil, overrides: ["realm_access": ["roles": ["dba", "agents"]]])
            #expect(try await verifier.verify(token).groups == ["dba", "agents"])
        }
    }

    @Test func malformedTokens() async throws {
        try await withIssuer { _, verifier in
            do {
                let code = try await rejection(verifier, "")
                #expect(code == .malformed)
            }
            do {
                let code = try await rejection(verifier, "a.b")
                #expect(code == .malformed)
            }
            do {
                let code = try await rejection(verifier, "!!!.???.***")
                #expect(code == .malformed)
            }
        }
    }

    /// A token longer than `max_token_bytes` is refused before it is parsed or a key fetched;
    /// a valid token just under the cap is accepted.
    @Test func anOversizedTokenIsRefusedUnread() async throws {
        try await withIssuer(maxTokenBytes: 4096) { idp, verifier in
            _ = try await verifier.verify(try idp.token())
            let before = idp.jwksRequests
            let huge = try idp.token() + String(repeating: "A", count: 3 << 20)
            #expect(await rejection(verifier, huge) == .tooLarge)
            let justOver = String(repeating: "a", count: 4097)
            #expect(await rejection(verifier, justOver) == .tooLarge)
            #expect(idp.jwksRequests == before)
            #expect(try await verifier.verify(try idp.token()).subject == "agent-1")
        }
    }

    /// A burst of tokens with made-up kids does not spend the refetch allowance: the issuer
    /// rotates its key in the middle of the burst, and a token signed with the new key is
    /// accepted (after waiting for the next fetch at most), while the burst causes at most
    /// one fetch per spacing.
    @Test func unknownKidsCannotStarveARotatedKey() async throws {
        try await withIssuer(unknownKeySpacing: 0.3) { idp, verifier in
            _ = try await verifier.verify(try idp.token(algorithm: .rs256))
            let before = idp.jwksRequests
            let started = Date()
            let strangers = try (0..<40).map { index in
                try TestIdentityProvider.sign(idp.claims(), with: try TestSigningKey.generate(.es256, kid: "made-up-\(index)"))
            }
            let accepted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for (index, token) in strangers.enumerated() {
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(index * 10))
                        return (try? await verifier.verify(token)) != nil
                    }
                }
                // Half-way through the burst, the issuer rotates.
                try await Task.sleep(for: .milliseconds(150))
                try idp.rotate(.rs256)
                let rotated = try idp.token(algorithm: .rs256)
                // Accepted, not refused: the burst did not spend the refetch allowance (with
                // one refetch per 30 s for any unknown kid, it was refused here).
                #expect(try await verifier.verify(rotated).subject == "agent-1")
                var any = false
                for try await one in group { any = any || one }
                return any
            }
            #expect(!accepted)
            let elapsed = Date().timeIntervalSince(started)
            #expect(idp.jwksRequests - before <= Int(elapsed / 0.3) + 2, "\(idp.jwksRequests - before) fetches in \(elapsed) s")
        }
    }

    @Test func keyRotationWithoutRestart() async throws {
        try await withIssuer { idp, verifier in
            let oldToken = try idp.token(algorithm: .rs256)
            _ = try await verifier.verify(oldToken)
            try idp.rotate(.rs256)
            // A token signed with the new key: its unknown kid triggers a refetch.
            let newToken = try idp.token(algorithm: .rs256)
            #expect(try await verifier.verify(newToken).subject == "agent-1")
            // The rotated-out key is gone from the refetched set.
            do {
                let code = try await rejection(verifier, oldToken)
                #expect(code == .unknownKey)
            }
        }
    }

    @Test func periodicRefreshDropsRotatedOutKey() async throws {
        try await withIssuer(refetchInterval: 0.1, refreshInterval: 0.2) { idp, verifier in
            let oldToken = try idp.token(algorithm: .es256)
            _ = try await verifier.verify(oldToken)
            try idp.rotate(.es256)
            try await Task.sleep(for: .milliseconds(350))
            do {
                let code = try await rejection(verifier, oldToken)
                #expect(code == .unknownKey)
            }
        }
    }

    @Test func unreachableIssuer() async throws {
        let verifier = TokenVerifier(settings: IdentitySettings(issuer: "http://127.0.0.1:9", audience: "x"), fetcher: IssuerHTTPClient())
        #expect(await verifier.isReady == false)
        let idp = try await TestIdentityProvider.start()
        let token = try idp.token()
        await idp.stop()
        do {
            let code = try await rejection(verifier, token)
            #expect(code == .keysUnavailable)
        }
        #expect(await verifier.readinessProblem != nil)
    }
}
