import Foundation

/// The part of an audit event its row's document holds.
struct StoredAuditDocument: Decodable {
    var groups: [String]?
    var command: String?
    var rule: String?
    var detail: String?
    var clientAddress: String?

    enum CodingKeys: String, CodingKey {
        case groups, command, rule, detail, clientAddress = "client_address"
    }
}
