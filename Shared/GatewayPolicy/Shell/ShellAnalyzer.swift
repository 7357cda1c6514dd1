/// What a command line runs: the programs (looked through wrappers such as `sudo`, `env`,
/// `nice`, `xargs`, `busybox`, and into `sh -c '...'`, `eval '...'`, `find -exec`, literal
/// here-documents fed to a shell), and what cannot be known before it runs.
public struct ShellFindings: Sendable, Hashable {
    public var invocations: [ShellInvocation] = []
    /// Why part of the command is not known until run time; empty when all of it is.
    public var opaque: [String] = []

    public init(invocations: [ShellInvocation] = [], opaque: [String] = []) {
        self.invocations = invocations
        self.opaque = opaque
    }
}

public enum ShellAnalyzer {
    /// Where a command's own standard input comes from: an interactive shell's terminal (a
    /// shell started there reads the lines the gateway checks), or data the client sends
    /// (an exec request: a shell reading it runs commands no one checked).
    public enum Context: Sendable {
        case terminal
        case data
    }

    static let maximumDepth = 8

    public static func analyze(_ text: String, context: Context) -> ShellFindings {
        var findings = ShellFindings()
        analyze(ShellParser.parse(text), context: context, depth: 0, into: &findings)
        return findings
    }

    static func analyze(_ script: ShellScript, context: Context, depth: Int, into findings: inout ShellFindings) {
        for problem in script.problems where !findings.opaque.contains(problem) { findings.opaque.append(problem) }
        for command in script.commands {
            resolve(command.words[...], command: command, context: context, depth: depth, runtimeArguments: false, into: &findings)
        }
    }

    static func nested(_ text: String, context: Context, depth: Int, into findings: inout ShellFindings) {
        guard depth < maximumDepth else {
            findings.opaque.append("commands are nested deeper than the gateway opens")
            return
        }
        analyze(ShellParser.parse(text), context: context, depth: depth + 1, into: &findings)
    }

    /// Shells: `-c STRING` runs STRING; without it, they read commands from their input.
    static let shells: Set<String> = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "yash", "fish", "csh", "tcsh", "rbash"]
    /// Interpreters whose inline code (`-c`, `-e`, ...) the gateway cannot parse.
    static let interpreters: [String: Set<String>] = [
        "python": ["-c"], "python2": ["-c"], "python3": ["-c"], "perl": ["-e", "-E"], "ruby": ["-e"], "node": ["-e", "--eval", "-p", "--print"],
        "nodejs": ["-e", "--eval", "-p"], "php": ["-r"], "lua": ["-e"], "luajit": ["-e"], "pwsh": ["-c", "-command", "-Command"],
        "tclsh": [], "osascript": ["-e"], "Rscript": ["-e"], "julia": ["-e"], "deno": ["eval"], "bun": ["-e", "--eval"],
    ]
    /// Wrappers that run the command after their own options; the options that take a value.
    static let wrappers: [String: Set<String>] = [
        "sudo": ["-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user", "--group", "--chdir", "--host", "--prompt", "--role", "--type", "--other-user", "--command-timeout", "--close-from"],
        "doas": ["-u", "-C"], "nice": ["-n", "--adjustment"], "nohup": [], "time": ["-f", "-o", "--format", "--output"], "command": [],
        "exec": ["-a"], "builtin": [], "stdbuf": ["-i", "-o", "-e"], "ionice": ["-c", "-n", "-p", "-P", "-u"], "setsid": [], "chrt": [],
        "taskset": [], "busybox": [], "unbuffer": [], "strace": ["-e", "-o", "-p", "-s", "-u"], "ltrace": ["-e", "-o"], "nsenter": ["-t"],
        "chroot": [], "runuser": ["-u", "-g", "-G", "--user", "--group"], "flock": ["-w", "-E", "--timeout"], "caffeinate": [],
        "systemd-run": ["-u", "-p", "--unit", "--property"], "torsocks": [], "proxychains": [], "firejail": [], "catchsegv": [],
    ]

    static func basename(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    static func resolve(
        _ words: ArraySlice<ShellWord>, command: ShellSimpleCommand, context: Context, depth: Int, runtimeArguments: Bool,
        into findings: inout ShellFindings
    ) {
        guard let first = words.first else { return }
        guard first.isLiteral else {
            findings.opaque.append("the program \(first.text) is not known until the command runs")
            return
        }
        let name = basename(first.text)
        var rest = words.dropFirst()
        guard depth < maximumDepth else {
            findings.opaque.append("commands are nested deeper than the gateway opens")
            return
        }
        if name == "su" || name == "runuser", let dashC = rest.firstIndex(where: { $0.text == "-c" || $0.text == "--command" }) {
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            return commandString(dashC + 1 < rest.endIndex ? rest[dashC + 1] : nil, of: "\(name) -c", context: context, depth: depth, into: &findings)
        }
        if name == "su" {
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            if context == .data || command.input != .inherited {
                findings.opaque.append("su starts a shell that reads commands the gateway does not check")
            }
            return
        }
        if let valued = wrappers[name] {
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            rest = skipOptions(rest, valued: valued, program: name)
            // `chroot DIR cmd`, `taskset MASK cmd`, `chrt PRIO cmd`: one operand before the command.
            if ["chroot", "taskset", "chrt", "flock"].contains(name), !rest.isEmpty { rest = rest.dropFirst() }
            return resolve(rest, command: command, context: context, depth: depth + 1, runtimeArguments: runtimeArguments, into: &findings)
        }
        switch name {
        case "env":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            while let word = rest.first {
                if word.text == "-S" || word.text.hasPrefix("--split-string") || (word.text.hasPrefix("-") && word.text.dropFirst().contains("S")) {
                    // env -S "cmd args": one string split into a command.
                    return commandString(rest.dropFirst().first, of: "env -S", context: context, depth: depth, into: &findings)
                }
                if word.text == "-u" || word.text == "--unset" || word.text == "-C" || word.text == "--chdir" { rest = rest.dropFirst(2); continue }
                if word.text == "--" { rest = rest.dropFirst(); break }
                if word.text.hasPrefix("-") || word.text.contains("=") { rest = rest.dropFirst(); continue }
                break
            }
            return resolve(rest, command: command, context: context, depth: depth + 1, runtimeArguments: runtimeArguments, into: &findings)
        case "timeout":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            rest = skipOptions(rest, valued: ["-s", "-k", "--signal", "--kill-after"], program: name)
            return resolve(rest.dropFirst(), command: command, context: context, depth: depth + 1, runtimeArguments: runtimeArguments, into: &findings)
        case "xargs":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            rest = skipOptions(rest, valued: ["-I", "-n", "-P", "-d", "-E", "-L", "-s", "-a", "--max-args", "--max-procs", "--delimiter", "--arg-file"], program: name)
            // xargs appends its input as arguments, options included.
            return resolve(rest, command: command, context: context, depth: depth + 1, runtimeArguments: true, into: &findings)
        case "watch":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            rest = skipOptions(rest, valued: ["-n", "-d", "--interval", "-q"], program: name)
            guard rest.allSatisfy(\.isLiteral) else {
                findings.opaque.append("watch runs a command that is not known until it runs")
                return
            }
            return nested(rest.map(\.text).joined(separator: " "), context: context, depth: depth, into: &findings)
        case "eval":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            guard rest.allSatisfy(\.isLiteral), !runtimeArguments else {
                findings.opaque.append("eval runs text that is not known until it runs")
                return
            }
            return nested(rest.map(\.text).joined(separator: " "), context: context, depth: depth, into: &findings)
        case "source", ".":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            if let file = rest.first, !file.isLiteral || ["/dev/stdin", "/proc/self/fd/0", "/dev/fd/0", "-"].contains(file.text) || command.input == .pipe && file.text.hasPrefix("/dev/") {
                findings.opaque.append("\(name) runs commands that are not known until it runs")
            }
            return
        case "alias":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            if rest.contains(where: { $0.text.contains("=") || !$0.isLiteral }) {
                findings.opaque.append("alias defines a command that runs later under another name")
            }
            return
        case "trap":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            if let action = rest.first, !action.text.hasPrefix("-") {
                commandString(action, of: "trap", context: context, depth: depth, into: &findings)
            }
            return
        case "find":
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            var index = rest.startIndex
            while index < rest.endIndex {
                let word = rest[index]
                if ["-exec", "-execdir", "-ok", "-okdir"].contains(word.text) {
                    var end = index + 1
                    while end < rest.endIndex, rest[end].text != ";", rest[end].text != "+" { end += 1 }
                    resolve(rest[(index + 1)..<end], command: command, context: context, depth: depth + 1, runtimeArguments: true, into: &findings)
                    index = end
                }
                index += 1
            }
            return
        default:
            break
        }
        if shells.contains(name) {
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            return shell(name, rest, command: command, context: context, depth: depth, into: &findings)
        }
        if let inline = interpreters[name] {
            findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
            let options = Set(rest.prefix { $0.text.hasPrefix("-") }.map(\.text))
            let readsInput = rest.isEmpty || rest.first?.text == "-"
            if !options.isDisjoint(with: inline) || options.contains(where: { option in inline.contains { option.hasPrefix($0) && $0.count == 2 } }) {
                findings.opaque.append("\(name) runs inline code, which the gateway cannot parse")
            } else if readsInput, command.input != .inherited || context == .data {
                findings.opaque.append("\(name) runs code from its input, which the gateway does not see")
            }
            return
        }
        findings.invocations.append(ShellInvocation(name: name, arguments: Array(rest), runtimeArguments: runtimeArguments))
    }

    /// `sh -c STRING`, `bash -lc STRING`, `sh -s`, `bash < file`, `... | sh`, `sh <<EOF`.
    static func shell(_ name: String, _ arguments: ArraySlice<ShellWord>, command: ShellSimpleCommand, context: Context, depth: Int, into findings: inout ShellFindings) {
        var index = arguments.startIndex
        var readsInput = false
        while index < arguments.endIndex {
            let word = arguments[index]
            guard word.isLiteral else {
                findings.opaque.append("\(name) is given options that are not known until it runs")
                return
            }
            if word.text == "--" { index += 1; break }
            guard word.text.hasPrefix("-") || word.text.hasPrefix("+"), word.text.count > 1 else { break }
            if word.text.hasPrefix("--") {
                if ["--rcfile", "--init-file"].contains(word.text) { index += 1 }
                index += 1
                continue
            }
            let letters = word.text.dropFirst()
            if letters.contains("c") {
                return commandString(index + 1 < arguments.endIndex ? arguments[index + 1] : nil, of: "\(name) -c", context: context, depth: depth, into: &findings)
            }
            if letters.contains("s") { readsInput = true }
            if letters.contains("o") || letters.contains("O") { index += 1 }
            index += 1
        }
        if index < arguments.endIndex, !readsInput {
            // A script file: what it holds is not seen (README: what a check cannot see).
            if !arguments[index].isLiteral { findings.opaque.append("\(name) runs a script that is not known until it runs") }
            return
        }
        switch command.input {
        case .text(let text, let literal):
            if literal { nested(text, context: .data, depth: depth, into: &findings) } else {
                findings.opaque.append("\(name) reads commands from a here-document with expansions")
            }
        case .pipe:
            findings.opaque.append("\(name) reads commands from a pipe: what it runs is not known until then")
        case .redirected:
            findings.opaque.append("\(name) reads commands from a file the gateway does not see")
        case .inherited:
            if context == .data {
                findings.opaque.append("\(name) reads commands from the connection's input, which the gateway does not check as commands")
            }
        }
    }

    /// A string a program runs as a command line: parsed when literal, opaque otherwise.
    static func commandString(_ word: ShellWord?, of program: String, context: Context, depth: Int, into findings: inout ShellFindings) {
        guard let word else { return }
        guard word.isLiteral else {
            findings.opaque.append("\(program) runs a command string that is not known until it runs")
            return
        }
        nested(word.text, context: context, depth: depth, into: &findings)
    }

    /// The words after a program's own options (and their values).
    static func skipOptions(_ words: ArraySlice<ShellWord>, valued: Set<String>, program: String) -> ArraySlice<ShellWord> {
        var rest = words
        while let word = rest.first {
            if word.text == "--" { return rest.dropFirst() }
            guard word.text.hasPrefix("-"), word.text.count > 1 else { break }
            if program == "nice", word.text.dropFirst().allSatisfy(\.isNumber) { rest = rest.dropFirst(); continue }
            if valued.contains(word.text) { rest = rest.dropFirst(2); continue }
            if let equals = word.text.firstIndex(of: "="), valued.contains(String(word.text[..<equals])) { rest = rest.dropFirst(); continue }
            rest = rest.dropFirst()
        }
        return rest
    }
}
