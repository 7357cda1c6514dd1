/// A program a command line runs, once wrappers (`sudo`, `env`, `nice`, `xargs`, `busybox`,
/// ...) are looked through: its name (without a path) and its arguments.
public struct ShellInvocation: Sendable, Hashable {
    public var name: String
    public var arguments: [ShellWord]
    /// More arguments are added when it runs (`xargs rm`, `find -exec rm {} +`): its options
    /// are not all known.
    public var runtimeArguments: Bool

    public init(name: String, arguments: [ShellWord], runtimeArguments: Bool = false) {
        self.name = name
        self.arguments = arguments
        self.runtimeArguments = runtimeArguments
    }

    /// `name arg ...` with quotes removed: what patterns are matched against.
    public var normalizedText: String { ([name] + arguments.map(\.text)).joined(separator: " ") }
}
