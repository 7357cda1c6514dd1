import Foundation
import GatewayTesting
import Synchronization

/// The virtualenv the driver tests share (psycopg, paramiko, asyncssh from PyPI), created once
/// under .build. Suites run in parallel: one at a time creates the venv and installs into it
/// (two at once failed on a fresh clone with "File exists", and pip is not safe to run twice
/// on one environment).
enum PythonEnvironment {
    private static let setup = Mutex(())

    static func python(importing module: String, from package: String) throws -> String {
        let venv = FileManager.default.currentDirectoryPath + "/.build/py-venv"
        let python = venv + "/bin/python"
        try setup.withLock { _ in
            if !FileManager.default.fileExists(atPath: python) {
                try ProcessRunner.run("/usr/bin/python3", ["-m", "venv", venv])
            }
            do {
                try ProcessRunner.run(python, ["-c", "import \(module)"])
            } catch {
                try ProcessRunner.run(venv + "/bin/pip", ["install", "-q", package])
            }
        }
        return python
    }

    /// A script of Tests/Python (the tests run from the package's root).
    static func script(_ name: String) -> String {
        FileManager.default.currentDirectoryPath + "/Tests/Python/" + name
    }
}
