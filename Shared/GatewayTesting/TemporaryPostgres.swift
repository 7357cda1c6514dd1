import Foundation
import Synchronization

/// A real PostgreSQL server for tests: Debian's binaries, started without systemd in a
/// temporary folder on a free loopback port, with trust, md5 and scram-sha-256 users.
///
/// Set `GATEWAY_TEST_POSTGRES_URL` (a superuser URL) to use an existing server instead.
public final class TemporaryPostgres: Sendable {
    public let host = "127.0.0.1"
    public let port: Int
    public let superuser: String
    let directory: String?
    let binaries: String?
    /// The server's command-line options (its port included), for `restart`.
    let options: String?

    /// The server shared by every test in this process, started on first use and stopped at exit.
    public static func shared() throws -> TemporaryPostgres {
        try sharedInstance.withLock { instance in
            if let instance { return instance }
            let started = try TemporaryPostgres.start()
            instance = started
            if started.directory != nil {
                atexit { TemporaryPostgres.stopShared() }
            }
            return started
        }
    }

    private static let sharedInstance = Mutex<TemporaryPostgres?>(nil)

    private static func stopShared() {
        let instance = sharedInstance.withLock { $0 }
        instance?.stop()
    }

    init(port: Int, superuser: String, directory: String?, binaries: String?, options: String? = nil) {
        self.options = options
        self.port = port
        self.superuser = superuser
        self.directory = directory
        self.binaries = binaries
    }

    public static func start() throws -> TemporaryPostgres {
        if let url = ProcessInfo.processInfo.environment["GATEWAY_TEST_POSTGRES_URL"], let components = URLComponents(string: url) {
            return TemporaryPostgres(port: components.port ?? 5432, superuser: components.user ?? "postgres", directory: nil, binaries: nil)
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.sorted() ?? []
        guard let version = versions.last else { throw TemporaryPostgresError.notInstalled }
        let bin = "/usr/lib/postgresql/\(version)/bin"
        let directory = NSTemporaryDirectory() + "gateway-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let isRoot = getuid() == 0
        let user: String? = isRoot ? "postgres" : nil
        if isRoot {
            try ProcessRunner.run("/bin/chown", ["postgres:postgres", directory])
            try ProcessRunner.run("/bin/chmod", ["0755", directory])
        }
        let data = directory + "/data"
        try ProcessRunner.run(bin + "/initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], asUser: user)
        let hba = """
            local all all trust
            host all trusted_user 127.0.0.1/32 trust
            host all md5_user 127.0.0.1/32 md5
            host all all 127.0.0.1/32 scram-sha-256
            host all all ::1/128 scram-sha-256

            """
        try hba.write(toFile: data + "/pg_hba.conf", atomically: true, encoding: .utf8)
        if isRoot { try ProcessRunner.run("/bin/chown", ["postgres:postgres", data + "/pg_hba.conf"]) }
        // TLS on, with a self-signed certificate for 127.0.0.1 (tests of upstream tls modes).
        var tlsOptions = ""
        if let openssl = ProcessRunner.find("openssl") {
            try ProcessRunner.run(openssl, [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout", data + "/server.key", "-out", data + "/server.crt",
            ])
            try ProcessRunner.run("/bin/chmod", ["0600", data + "/server.key"])
            if isRoot { try ProcessRunner.run("/bin/chown", ["postgres:postgres", data + "/server.key", data + "/server.crt"]) }
            try FileManager.default.copyItem(atPath: data + "/server.crt", toPath: directory + "/server.crt")
            tlsOptions = " -c ssl=on -c ssl_cert_file=\(data)/server.crt -c ssl_key_file=\(data)/server.key"
        }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let port = ProcessRunner.freePort()
            let options = "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" + tlsOptions
            do {
                try ProcessRunner.run(bin + "/pg_ctl", ["-D", data, "-w", "-l", directory + "/server.log", "-o", options, "start"], asUser: user)
                let server = TemporaryPostgres(port: port, superuser: "postgres", directory: directory, binaries: bin, options: options)
                try server.sql("""
                    CREATE ROLE gateway LOGIN SUPERUSER PASSWORD 'gateway-pass';
                    CREATE ROLE scram_user LOGIN PASSWORD 'scram-pass';
                    SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN PASSWORD 'md5-pass';
                    CREATE ROLE trusted_user LOGIN;
                    """)
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TemporaryPostgresError.notInstalled
    }

    /// Runs SQL as the superuser over the Unix socket (or TCP for an external server).
    @discardableResult
    public func sql(_ statements: String, database: String = "postgres") throws -> String {
        let psql = ProcessRunner.find("psql", extra: binaries.map { [$0] } ?? []) ?? "/usr/bin/psql"
        var arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", statements]
        if let directory {
            arguments += ["-h", directory, "-p", "\(port)", "-U", superuser]
        } else {
            arguments += ["-h", host, "-p", "\(port)", "-U", superuser]
        }
        return try ProcessRunner.run(psql, arguments)
    }

    /// A fresh database; returns a URL for the `gateway` superuser (scram-sha-256).
    public func createDatabase(_ name: String = "t_\(UUID().uuidString.prefix(8).lowercased())") throws -> String {
        try sql("CREATE DATABASE \"\(name)\"")
        if directory == nil, let url = ProcessInfo.processInfo.environment["GATEWAY_TEST_POSTGRES_URL"],
           var components = URLComponents(string: url) {
            components.path = "/" + name
            return components.string ?? url
        }
        return "postgres://gateway:gateway-pass@\(host):\(port)/\(name)?sslmode=disable"
    }

    /// The server's certificate (its own CA), when TLS is on.
    public var certificateFile: String? {
        guard let directory else { return nil }
        let path = directory + "/server.crt"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Stops the server at once (as a crash would), keeping its data: its port stops
    /// answering until `restart`. For outage tests; not for the shared server.
    public func halt() throws {
        guard let directory, let binaries else { throw TemporaryPostgresError.notOwned }
        try ProcessRunner.run(binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"], asUser: getuid() == 0 ? "postgres" : nil)
    }

    /// Starts a halted server again, on the same port with the same data.
    public func restart() throws {
        guard let directory, let binaries, let options else { throw TemporaryPostgresError.notOwned }
        try ProcessRunner.run(
            binaries + "/pg_ctl", ["-D", directory + "/data", "-w", "-l", directory + "/server.log", "-o", options, "start"],
            asUser: getuid() == 0 ? "postgres" : nil
        )
    }

    public func stop() {
        guard let directory, let binaries else { return }
        _ = try? ProcessRunner.run(binaries + "/pg_ctl", ["-D", directory + "/data", "-m", "immediate", "stop"], asUser: getuid() == 0 ? "postgres" : nil)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

public enum TemporaryPostgresError: Error {
    case notInstalled
    /// An external server (`GATEWAY_TEST_POSTGRES_URL`) is not this process's to stop.
    case notOwned
}
