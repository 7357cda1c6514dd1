/// Why the gateway could not reach or use the target; the message is what the client sees on
/// stderr and what the audit event says. It never includes key material.
struct SSHGatewayFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }

    init(_ message: String) {
        self.message = message
    }
}
