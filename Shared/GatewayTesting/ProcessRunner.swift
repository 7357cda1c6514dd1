import Synchronization
import Foundation

/// Runs a command to completion for test fixtures; throws with its output when it fails.
public enum ProcessRunner {
    public struct Failure: Error, CustomStringConvertible {
        public let command: String
        public let status: Int32
        public let output: String
        public var description: String { "\(command) exited \(status): \(output)" }
    }

    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, asUser user: String? = nil, stdin: String = "/dev/null") throws -> String {
        var launch = [executable] + arguments
        if let user, getuid() == 0 {
            launch = ["/usr/sbin/runuser", "-u", user, "--"] + launch
        }
        // Output goes to a file, not a pipe: a daemon started by the command (pg_ctl start)
        // would otherwise hold the pipe open. posix_spawn and waitpid directly, because
        // Foundation's Process may never reap the child inside the test runner.
        let outputPath = NSTemporaryDirectory() + "gateway-run-\(UUID().uuidString)"
        defer { unlink(outputPath) }
        let pid = try spawn(launch, environment: environment ?? [:], stdin: stdin, output: outputPath)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let text = String(decoding: FileManager.default.contents(atPath: outputPath) ?? Data(), as: UTF8.self)
        let exited = (status & 0x7F) == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard code == 0 else {
            throw Failure(command: launch.joined(separator: " "), status: code, output: text)
        }
        return text
    }

    /// Starts a process in the background with stdin from `stdin` and stdout and stderr
    /// appended to `output`; the caller waits for it with `waitpid` (see `stop`).
    public static func spawn(_ launch: [String], environment: [String: String] = [:], stdin: String = "/dev/null", output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = launch.map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with no blocked signals and default handlers: the test runner's
        // threads may block SIGINT, and a child inheriting that never sees Ctrl-C.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGQUIT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, launch[0], &actions, &attributes, argv, envp)
        guard spawned == 0 else {
            throw Failure(command: launch.joined(separator: " "), status: -1, output: String(cString: strerror(spawned)))
        }
        return pid
    }

    /// SIGTERM, then waits for the process (SIGKILL after `seconds`).
    public static func stop(_ pid: pid_t, seconds: Double = 10) {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                waitpid(pid, &status, 0)
                return
            }
            usleep(20_000)
        }
    }

    /// Finds an executable in PATH or in the given extra directories.
    public static func find(_ name: String, extra: [String] = []) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for directory in path + extra {
            let candidate = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A TCP port that was free a moment ago on 127.0.0.1.
    /// A port on 127.0.0.1 that nothing listens on, below the kernel's ephemeral range
    /// (32768 and up), where the source ports of the tests' own client connections are
    /// taken: a port from `bind(0)` can be handed to an outgoing connection before the
    /// gateway that was given it binds it. Each call in a process returns a new port.
    public static func freePort() -> Int {
        while true {
            let candidate = nextPort.withLock { next -> Int in
                defer { next = next >= 32000 ? 20000 : next + 1 }
                return next
            }
            if isFree(candidate) { return candidate }
        }
    }

    private static let nextPort = Mutex(20000 + Int(getpid() % 600) * 20)

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } } == 0
    }
}
