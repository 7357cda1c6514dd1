/// What one line of `events.jsonl` is about: the `type` field, as the gateways write it.
/// Readers take any string (a recording from a newer gateway may hold more kinds).
public enum RecordingEventType: String, Sendable, CaseIterable {
    /// A SQL statement and its decision.
    case query
    /// An exec command (SSH, Kubernetes) and its decision.
    case exec
    /// A line typed into an interactive shell and its decision.
    case line
    /// An interactive shell opened.
    case shell
    /// An SSH subsystem (sftp) requested.
    case subsystem
    /// A result set: statement, rows, duration, a sample of its (masked) values.
    case result
    /// An error the client saw: from the target, or the gateway's own.
    case error
    /// A command's exit status or signal, with what masking hid.
    case exit
    /// A signal the client sent.
    case signal
    /// An SFTP file operation.
    case sftp
    /// A review's outcome: approve, reject, expire, cancel.
    case review
    /// A port forwarding channel.
    case forward
    /// A Kubernetes API request (not an exec) and its decision.
    case api
    /// A command without a decision of its own.
    case command
    /// Anything else the gateway notes.
    case note
}
