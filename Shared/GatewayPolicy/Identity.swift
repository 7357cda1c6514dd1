import Foundation

/// Who is asking: the verified subject of an OIDC token.
///
/// Produced by `TokenVerifier` in `GatewayIdentity`; every policy decision,
/// review and audit event carries one.
public struct Identity: Sendable, Hashable, Codable {
    public var subject: String
    public var email: String?
    public var groups: [String]
    public var issuer: String
    public var expiresAt: Date

    public init(subject: String, email: String? = nil, groups: [String], issuer: String, expiresAt: Date) {
        self.subject = subject
        self.email = email
        self.groups = groups
        self.issuer = issuer
        self.expiresAt = expiresAt
    }

    /// A short name for humans: the email when known, otherwise the subject.
    public var displayName: String { email ?? subject }

    public func isMember(ofAny groups: [String]) -> Bool {
        groups.contains { self.groups.contains($0) }
    }

    enum CodingKeys: String, CodingKey {
        case subject = "sub", email, groups, issuer = "iss", expiresAt = "exp"
    }
}
