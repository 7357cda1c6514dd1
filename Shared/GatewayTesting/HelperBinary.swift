import Foundation

/// Finds executables of this package (built beside the test bundle by `swift test`).
public enum HelperBinary {
    public static func path(_ name: String) -> String? {
        var candidates: [String] = []
        if let override = ProcessInfo.processInfo.environment["GATEWAY_BIN_DIR"] { candidates.append(override) }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(directory.path)
            directory = directory.deletingLastPathComponent()
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().path)
        for candidate in candidates {
            let path = (candidate as NSString).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}
