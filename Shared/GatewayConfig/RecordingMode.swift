/// A connection's `record:` setting: whether its sessions are recorded, and whether a session
/// may run when its recording cannot be written (a full or failing recordings disk).
public enum RecordingMode: String, Sendable, Hashable, CaseIterable {
    /// `record: true` (the default): no recording, no session. A session whose recording
    /// cannot be started is refused; one whose recording fails mid-way is ended, sealed.
    case required
    /// `record: best_effort`: recorded when the disk allows; a session whose recording cannot
    /// be written goes on unrecorded, audited as such.
    case bestEffort = "best_effort"
    /// `record: false`: not recorded (the audit trail still has every decision).
    case off

    /// What the YAML value means: true, false or best_effort.
    public init?(yaml text: String) {
        switch text.lowercased() {
        case "true", "yes", "on": self = .required
        case "false", "no", "off": self = .off
        case "best_effort": self = .bestEffort
        default: return nil
        }
    }
}
