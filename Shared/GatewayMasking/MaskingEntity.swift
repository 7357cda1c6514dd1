/// The sensitive-value detectors built in to the masking engine.
public enum MaskingEntity: String, Sendable, Codable, Hashable, CaseIterable {
    case email = "EMAIL"
    case creditCard = "CREDIT_CARD"
    case usSSN = "US_SSN"
    case phone = "PHONE"
    case iban = "IBAN"
    case ipAddress = "IP_ADDRESS"
    case awsAccessKey = "AWS_ACCESS_KEY"
    case jwt = "JWT"

    /// The placeholder that replaces a match: `[EMAIL]`.
    public var placeholder: String { "[\(rawValue)]" }
}
