/// A rule's `command:` and `flags:`: a program by name and options it is given, in any
/// spelling. `{ command: rm, flags: [recursive, force] }` matches `rm -rf`, `rm -r -f`,
/// `rm -fr`, `rm --recursive --force`, `/bin/rm -Rf`, `sudo rm -rf`, `busybox rm -rf`,
/// `find . -exec rm -rf {} +` and `xargs rm -rf`.
public struct CommandMatcher: Sendable, Hashable {
    public enum Match: Sendable, Equatable {
        case no
        case yes
        /// The program is the rule's, but options are added when it runs (`xargs rm`, a word
        /// that is a variable): it may or may not have them.
        case unknown
    }

    public var command: String
    public var flags: [String]

    public init(command: String, flags: [String] = []) {
        self.command = command
        self.flags = flags
    }

    /// Well-known option names and their spellings; any other name `x` is `-x` when one
    /// character, `--x` and `-x` (find's style) otherwise, and a name written with dashes is
    /// that spelling.
    static let spellings: [String: [String]] = [
        "recursive": ["-r", "-R", "--recursive"],
        "force": ["-f", "--force"],
        "delete": ["-delete", "--delete"],
        "interactive": ["-i", "--interactive"],
        "verbose": ["-v", "--verbose"],
        "all": ["-a", "--all"],
        "exec": ["-exec", "-execdir", "-ok", "-okdir"],
        "hard": ["--hard"],
        "force-with-lease": ["--force-with-lease"],
        "no-preserve-root": ["--no-preserve-root"],
        "prune": ["--prune", "-p"],
        "kill": ["-9", "-KILL", "-SIGKILL", "--signal=KILL"],
    ]

    static func spellings(of flag: String) -> [String] {
        if let known = spellings[flag] { return known }
        if flag.hasPrefix("-") { return [flag] }
        return flag.count == 1 ? ["-" + flag] : ["--" + flag, "-" + flag]
    }

    public func match(_ invocation: ShellInvocation) -> Match {
        guard invocation.name == command else { return .no }
        var present = Set<String>()
        var unknown = invocation.runtimeArguments
        for argument in invocation.arguments {
            if argument.isLiteral, argument.text == "--" { break }
            if !argument.startsLiteral {
                unknown = true
                continue
            }
            let text = argument.text
            guard text.hasPrefix("-"), text.count > 1 else { continue }
            if !argument.isLiteral { unknown = true }
            if text.hasPrefix("--") {
                present.insert(String(text.prefix { $0 != "=" }))
                present.insert(text)
                continue
            }
            present.insert(text)
            for letter in text.dropFirst() { present.insert("-" + String(letter)) }
        }
        let missing = flags.filter { flag in !Self.spellings(of: flag).contains(where: present.contains) }
        if missing.isEmpty { return .yes }
        return unknown ? .unknown : .no
    }
}
