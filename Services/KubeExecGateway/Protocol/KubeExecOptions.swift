/// What an exec or attach request asks for, from its query (`command=` repeated, `container`,
/// `stdin`, `stdout`, `stderr`, `tty`), as kubectl sends it.
public struct KubeExecOptions: Sendable, Equatable {
    public var command: [String]
    public var container: String?
    public var stdin: Bool
    public var stdout: Bool
    public var stderr: Bool
    public var tty: Bool
    /// An attach to the container's running process (no command of its own).
    public var attach = false

    public init(command: [String], container: String? = nil, stdin: Bool = false, stdout: Bool = true, stderr: Bool = true, tty: Bool = false) {
        self.command = command
        self.container = container
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.tty = tty
    }

    static let shells: Set<String> = ["sh", "bash", "zsh", "ash", "dash", "ksh"]

    /// A shell the client feeds (`kubectl exec -it pod -- sh`), or an attach with stdin (what
    /// the client types goes to whatever the container runs, a shell as likely as not): the
    /// gateway checks the lines typed into it, as it does an SSH shell's, rather than deciding
    /// the process as a command.
    public var isInteractiveShell: Bool {
        guard stdin else { return false }
        if attach { return true }
        guard command.count == 1, let program = command.first else { return false }
        return Self.shells.contains(String(program.split(separator: "/").last ?? ""))
    }

    /// The options of an exec or attach `request` (an attach has no command of its own).
    public init(request: KubeRequest, query: [(String, String)]) {
        self.init(query: query)
        attach = request.subresource == "attach"
    }

    public init(query: [(String, String)]) {
        func flag(_ name: String, default value: Bool) -> Bool {
            guard let text = query.last(where: { $0.0 == name })?.1 else { return value }
            return text == "true" || text == "1"
        }
        self.init(
            command: query.filter { $0.0 == "command" }.map(\.1), container: query.last { $0.0 == "container" }?.1,
            stdin: flag("stdin", default: false), stdout: flag("stdout", default: false), stderr: flag("stderr", default: false), tty: flag("tty", default: false)
        )
    }
}
