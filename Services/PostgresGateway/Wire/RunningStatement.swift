/// A statement the server runs, or will run once those before it are done, as the recording
/// names it: its SQL and when it began (for a simple query's later statements, when the one
/// before it ended).
public struct RunningStatement: Sendable, Equatable {
    public var command: String
    public var start: ContinuousClock.Instant

    public init(command: String, start: ContinuousClock.Instant) {
        self.command = command
        self.start = start
    }
}
