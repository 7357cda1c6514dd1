import Foundation

/// A terminal program driven through tmux, as a person would use it: keys are typed into a
/// real pty and the screen is read back as it is shown. Each session has its own tmux server.
public struct TmuxSession: Sendable {
    public let name: String
    let socket: String

    public static var isAvailable: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// Starts `command` (argv) in a detached 120×30 terminal with `environment` added.
    public static func start(_ command: [String], environment: [String: String] = [:]) throws -> TmuxSession {
        let session = TmuxSession(name: "s", socket: "gw-\(UUID().uuidString.prefix(8))")
        var arguments = ["-L", session.socket, "new-session", "-d", "-s", session.name, "-x", "120", "-y", "30"]
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["-e", "\(key)=\(value)"] }
        arguments.append(command.map(Self.quoted).joined(separator: " "))
        try ProcessRunner.run("/usr/bin/tmux", arguments)
        return session
    }

    static func quoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Types `text` literally (no key names).
    public func type(_ text: String) throws {
        try ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "send-keys", "-t", name, "-l", text])
    }

    /// Presses keys by tmux name: `Enter`, `C-Left`, `C-c`, ...
    public func press(_ keys: String...) throws {
        try ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "send-keys", "-t", name] + keys)
    }

    /// Pastes `text` as a terminal paste (bracketed when the program asked for it).
    public func paste(_ text: String) throws {
        try ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "set-buffer", "--", text])
        try ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "paste-buffer", "-p", "-t", name])
    }

    /// The screen and its scrollback, as shown.
    public func screen() -> String {
        (try? ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "capture-pane", "-p", "-J", "-S", "-200", "-t", name])) ?? ""
    }

    /// Waits until the screen shows `text` (true) or `seconds` pass (false).
    public func waitFor(_ text: String, seconds: Double = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if screen().contains(text) { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return screen().contains(text)
    }

    public func kill() {
        _ = try? ProcessRunner.run("/usr/bin/tmux", ["-L", socket, "kill-server"])
    }
}
