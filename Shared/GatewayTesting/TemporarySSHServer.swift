#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// A real OpenSSH server for tests: Debian's `sshd`, started as `sshd -D -e -f <config>` on a
/// free loopback port with a generated host key and one authorized key (the key the gateway
/// uses). It logs in the current user; `stop()` ends it.
public final class TemporarySSHServer: Sendable {
    public let port: Int
    public let directory: String
    /// The server's host key line, `ssh-ed25519 AAAA...`, for `upstream.host_key`.
    public let hostPublicKey: String
    /// The private key sshd accepts (the gateway's upstream key), OpenSSH format.
    public let clientKeyFile: String
    public let user: String
    let pid: pid_t
    private let stopped = Mutex(false)

    public static func start(keyType: String = "ed25519") throws -> TemporarySSHServer {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else { throw TemporarySSHServerError.notInstalled }
        let directory = NSTemporaryDirectory() + "gateway-sshd-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let keygen = ProcessRunner.find("ssh-keygen") ?? "/usr/bin/ssh-keygen"
        try ProcessRunner.run(keygen, ["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f", directory + "/host_key"])
        try ProcessRunner.run(keygen, ["-q", "-t", keyType, "-N", "", "-C", "gateway-upstream", "-f", directory + "/gateway_key"])
        try FileManager.default.copyItem(atPath: directory + "/gateway_key.pub", toPath: directory + "/authorized_keys")
        let hostPublicKey = try String(contentsOfFile: directory + "/host_key.pub", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = ProcessRunner.freePort()
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_key
            PidFile \(directory)/sshd.pid
            AuthorizedKeysFile \(directory)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            AllowTcpForwarding yes
            AcceptEnv LANG LC_* GATEWAY_TEST_*
            Subsystem sftp internal-sftp
            LogLevel VERBOSE
            MaxStartups 200
            MaxSessions 50

            """
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        // posix_spawn, not Foundation's Process: Process reaps children on one thread and
        // blocks it in wait4 for a long-running child, so other processes are never reaped.
        let pid = try ProcessRunner.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", directory + "/sshd_config"], output: directory + "/sshd.log")
        let server = TemporarySSHServer(
            port: port, directory: directory, hostPublicKey: hostPublicKey, clientKeyFile: directory + "/gateway_key",
            user: ProcessInfo.processInfo.environment["USER"] ?? (getuid() == 0 ? "root" : NSUserName()), pid: pid
        )
        for _ in 0..<100 {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { throw TemporarySSHServerError.exited(server.log) }
            if Self.accepts(port: port) { return server }
            usleep(50_000)
        }
        server.stop()
        throw TemporarySSHServerError.exited(server.log)
    }

    init(port: Int, directory: String, hostPublicKey: String, clientKeyFile: String, user: String, pid: pid_t) {
        self.port = port
        self.directory = directory
        self.hostPublicKey = hostPublicKey
        self.clientKeyFile = clientKeyFile
        self.user = user
        self.pid = pid
    }

    public var log: String { String(decoding: FileManager.default.contents(atPath: directory + "/sshd.log") ?? Data(), as: UTF8.self) }

    public func stop() {
        guard !stopped.withLock({ value in defer { value = true }; return value }) else { return }
        ProcessRunner.stop(pid)
    }

    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

public enum TemporarySSHServerError: Error, CustomStringConvertible {
    case notInstalled
    case exited(String)

    public var description: String {
        switch self {
        case .notInstalled: "OpenSSH's sshd is not installed (apt-get install openssh-server)"
        case .exited(let log): "sshd did not start: \(log)"
        }
    }
}
