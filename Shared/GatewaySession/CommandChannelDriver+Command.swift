import GatewayRecording

extension CommandChannelDriver {
    /// What is being started.
    public struct Command: Sendable {
        /// The command as recorded and audited: `ls -l`, `shell`, `subsystem sftp`.
        public var label: String
        /// The recording event type of the decision: exec, shell, subsystem.
        public var eventType: RecordingEventType
        /// A person at a terminal (a pty): notices use `\r\n`, held-back output is released
        /// after a pause, refused lines are erased on the target.
        public var interactive: Bool
        /// Output is a binary protocol (SFTP): neither masked (it would corrupt it) nor recorded.
        public var binary: Bool
        /// Typed lines are checked (a shell on a connection with rules).
        public var checksLines: Bool
        /// A refusal fails the start request instead of running to exit 126 (an SSH subsystem).
        public var refusalFailsStart: Bool
        /// The client's reason for the command (`GATEWAY_REASON`), for a review.
        public var justification: String?

        public init(
            label: String, eventType: RecordingEventType, interactive: Bool = false, binary: Bool = false, checksLines: Bool = false,
            refusalFailsStart: Bool = false, justification: String? = nil
        ) {
            self.label = label
            self.eventType = eventType
            self.interactive = interactive
            self.binary = binary
            self.checksLines = checksLines
            self.refusalFailsStart = refusalFailsStart
            self.justification = justification
        }

        var newline: String { interactive ? "\r\n" : "\n" }
    }
}
