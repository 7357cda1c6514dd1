import Foundation

/// Looks for the credentials a gateway holds in everything it wrote or answered: its log, the
/// recordings under its configuration's `recordings.dir`, its SQLite state store (audit events,
/// reviews, sessions) and what the caller collected of its metrics and admin API responses. The credentials are read from the
/// configuration itself (the contents of every `token_file`, `password_file` and
/// `private_key_file`, the values of every `password_env` and `secret_env` variable), plus any
/// OIDC token (a JWT) anywhere. A finding names the credential's key and where it was seen,
/// never the value.
public enum SecretSweep {
    /// `outputs`: more of what the gateway answered (its metrics, admin API responses), by name.
    public static func findings(configPath: String, environment: [String: String], logPath: String, outputs: [String: String] = [:]) -> [String] {
        guard let yaml = try? String(contentsOfFile: configPath, encoding: .utf8) else { return [] }
        var secrets: [(name: String, value: String)] = []
        for (key, value) in Self.values(in: yaml, keys: ["token_file", "password_file", "private_key_file"]) {
            guard let contents = try? String(contentsOfFile: value, encoding: .utf8) else { continue }
            for line in contents.split(separator: "\n") {
                let text = line.trimmingCharacters(in: .whitespaces)
                // Key files: each base64 line of the key's body; token files: the token.
                if text.count >= 16, !text.hasPrefix("-----") { secrets.append(("\(key) \(value)", text)) }
            }
        }
        for (key, name) in Self.values(in: yaml, keys: ["password_env", "secret_env"]) {
            if let value = environment[name] ?? ProcessInfo.processInfo.environment[name], value.count >= 6 { secrets.append(("\(key) \(name)", value)) }
        }
        var findings: [String] = []
        func sweep(_ text: String, _ place: String) {
            for secret in secrets where text.contains(secret.value) { findings.append("\(place) holds the value of \(secret.name)") }
            if text.range(of: #"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"#, options: .regularExpression) != nil {
                findings.append("\(place) holds a JWT")
            }
        }
        sweep((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "", "the log")
        for (name, text) in outputs.sorted(by: { $0.key < $1.key }) { sweep(text, name) }
        if let recordings = Self.values(in: yaml, keys: ["dir"]).first?.1,
           let files = FileManager.default.enumerator(atPath: recordings)?.allObjects as? [String] {
            for file in files {
                guard let data = FileManager.default.contents(atPath: recordings + "/" + file) else { continue }
                sweep(String(decoding: data, as: UTF8.self), "recording \(file)")
            }
        }
        // The state store's file (audit events, reviews, sessions), with its write-ahead log.
        if let url = Self.values(in: yaml, keys: ["url"]).first(where: { $0.1.hasPrefix("sqlite://") })?.1 {
            let path = String(url.dropFirst("sqlite://".count))
            for file in [path, path + "-wal"] {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                sweep(String(decoding: data, as: UTF8.self), "the state store \((file as NSString).lastPathComponent)")
            }
        }
        return findings
    }

    /// `key: value` pairs of the YAML text for these keys (flow or block style), unquoted.
    static func values(in yaml: String, keys: [String]) -> [(String, String)] {
        var found: [(String, String)] = []
        for key in keys {
            let pattern = "(?:^|[\\s{,])" + key + ":\\s*\"?([^\\s,}\"]+)"
            guard let regex = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { continue }
            for match in regex.matches(in: yaml, range: NSRange(yaml.startIndex..., in: yaml)) {
                if let range = Range(match.range(at: 1), in: yaml) { found.append((key, String(yaml[range]))) }
            }
        }
        return found
    }
}
