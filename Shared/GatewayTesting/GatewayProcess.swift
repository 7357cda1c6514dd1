#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A gateway executable started as a real process with a generated configuration, for
/// end-to-end tests: waits for `/healthz`, stops with SIGTERM and reports the exit status.
public final class GatewayProcess: @unchecked Sendable {
    public let process: Process
    public let adminURL: String
    public let logPath: String
    let configPath: String
    let environment: [String: String]
    /// Exit status `stop()` reports when the gateway's log or recordings hold a credential.
    public static let leakedSecretStatus: Int32 = 97
    /// An admin's token, so `stop()` can sweep the admin API's answers too (set by fixtures).
    public var sweepToken: String?

    /// Starts `binary --config configPath` and waits until its admin endpoint answers.
    public static func start(binary: String, configPath: String, adminPort: Int, environment: [String: String] = [:]) async throws -> GatewayProcess {
        guard let path = HelperBinary.path(binary) else { throw GatewayProcessError.notBuilt(binary) }
        let logPath = NSTemporaryDirectory() + "gateway-\(binary)-\(UUID().uuidString.prefix(6)).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--config", configPath]
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        try process.run()
        let gateway = GatewayProcess(process: process, adminURL: "http://127.0.0.1:\(adminPort)", logPath: logPath, configPath: configPath, environment: environment)
        for _ in 0..<200 {
            if !process.isRunning { throw GatewayProcessError.exited(process.terminationStatus, gateway.log) }
            if (try? await HTTPProbe.get(host: "127.0.0.1", port: adminPort, path: "/healthz"))?.status == 200 { return gateway }
            try await Task.sleep(for: .milliseconds(100))
        }
        gateway.process.terminate()
        throw GatewayProcessError.notReady(gateway.log)
    }

    init(process: Process, adminURL: String, logPath: String, configPath: String, environment: [String: String]) {
        self.process = process
        self.adminURL = adminURL
        self.logPath = logPath
        self.configPath = configPath
        self.environment = environment
    }

    public var log: String { String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self) }

    /// SIGTERM, then the exit status (SIGKILL after `timeout`); `leakedSecretStatus` instead of
    /// 0 when the log or the recordings hold a credential (`SecretSweep`, printed), so every
    /// test that expects a clean stop checks that nothing leaked.
    public func stop(timeout: Duration = .seconds(10)) async -> Int32 {
        let outputs = await answers()
        let status = await terminate(timeout: timeout)
        let findings = SecretSweep.findings(configPath: configPath, environment: environment, logPath: logPath, outputs: outputs)
        guard findings.isEmpty else {
            FileHandle.standardError.write(Data(("secret sweep of \(configPath): " + findings.joined(separator: "; ") + "\n").utf8))
            return status == 0 ? Self.leakedSecretStatus : status
        }
        return status
    }

    /// What the running gateway answers on its admin address, for the sweep: `/metrics`, and
    /// with `sweepToken` every listing of the admin API.
    private func answers() async -> [String: String] {
        guard process.isRunning, let port = URL(string: adminURL)?.port else { return [:] }
        var paths = ["/metrics", "/readyz"]
        if sweepToken != nil {
            paths += ["/api/sessions?status=all", "/api/audit?limit=10000", "/api/reviews?status=all", "/api/recordings"]
        }
        var outputs: [String: String] = [:]
        for path in paths {
            if let response = try? await HTTPProbe.get(host: "127.0.0.1", port: port, path: path, token: path.hasPrefix("/api/") ? sweepToken : nil) {
                outputs["the admin answer to \(path)"] = response.text
            }
        }
        return outputs
    }

    private func terminate(timeout: Duration) async -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            // Where it hangs, for the failing test's reader: every thread's stack, beside the log.
            if let gdb = ProcessRunner.find("gdb") {
                let stacks = (try? ProcessRunner.run(gdb, ["-p", "\(process.processIdentifier)", "-batch", "-ex", "thread apply all bt 30"])) ?? ""
                FileManager.default.createFile(atPath: logPath + ".hang", contents: Data(stacks.utf8))
                FileHandle.standardError.write(Data("\(logPath): did not stop within \(timeout) of SIGTERM; stacks in \(logPath).hang\n".utf8))
            }
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// `runToExit` on a thread of its own, for async tests: a blocking wait on Swift's
    /// cooperative pool (one thread per core) stalls every other task of the test process.
    public static func run(binary: String, arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        try await onOwnThread { try runToExit(binary: binary, arguments: arguments, environment: environment) }.value
    }

    /// Runs a gateway (or gatewayctl) to completion; returns its status and combined output.
    public static func runToExit(binary: String, arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        guard let path = HelperBinary.path(binary) else { throw GatewayProcessError.notBuilt(binary) }
        do {
            let output = try ProcessRunner.run(path, arguments, environment: environment)
            return (0, output)
        } catch let failure as ProcessRunner.Failure {
            return (failure.status, failure.output)
        }
    }
}

public enum GatewayProcessError: Error, CustomStringConvertible {
    case notBuilt(String)
    case exited(Int32, String)
    case notReady(String)

    public var description: String {
        switch self {
        case .notBuilt(let name): "\(name) is not built (run swift build)"
        case .exited(let status, let log): "the gateway exited with \(status):\n\(log)"
        case .notReady(let log): "the gateway did not answer /healthz:\n\(log)"
        }
    }
}
