import Foundation
import GatewayTesting

/// The virtualenv the driver tests share (psycopg, paramiko from PyPI), created once under .build.
enum PythonEnvironment {
    static func python(importing module: String, from package: String) throws -> String {
        let venv = FileManager.default.currentDirectoryPath + "/.build/py-venv"
        let python = venv + "/bin/python"
        if !FileManager.default.fileExists(atPath: python) {
            try ProcessRunner.run("/usr/bin/python3", ["-m", "venv", venv])
        }
        do {
            try ProcessRunner.run(python, ["-c", "import \(module)"])
        } catch {
            try ProcessRunner.run(venv + "/bin/pip", ["install", "-q", package])
        }
        return python
    }
}
