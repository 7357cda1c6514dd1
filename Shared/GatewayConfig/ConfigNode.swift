import Yams

/// A cursor into the YAML tree that knows its key path and reports problems into a shared
/// list instead of throwing, so one run reports every error in a file.
final class ConfigNode {
    let node: Node?
    let path: String
    let report: ErrorReport
    private var consumed: Set<String> = []

    final class ErrorReport {
        var errors: [ConfigurationError] = []
        /// What a value of exactly `${NAME}` or `${NAME:-default}` is read from.
        var environment: [String: String] = [:]
        func add(_ path: String, _ reason: String) { errors.append(ConfigurationError(path: path, reason: reason)) }
    }

    init(_ node: Node?, path: String, report: ErrorReport) {
        self.node = node
        self.path = path
        self.report = report
    }

    func error(_ reason: String, key: String? = nil) {
        report.add(key.map(childPath) ?? path, reason)
    }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var isMapping: Bool { node?.mapping != nil }

    /// The child at `key`, which may be absent. Marks the key as known.
    func child(_ key: String) -> ConfigNode {
        consumed.insert(key)
        let value = node?.mapping?[key]
        if let value, value.null != nil {
            return ConfigNode(nil, path: childPath(key), report: report)
        }
        return ConfigNode(value, path: childPath(key), report: report)
    }

    var isPresent: Bool { node != nil }

    var elements: [ConfigNode] {
        guard let node else { return [] }
        guard case .sequence(let sequence) = node else {
            error("expected a list")
            return []
        }
        return sequence.enumerated().map { ConfigNode($1, path: "\(path)[\($0)]", report: report) }
    }

    var scalarString: String? {
        guard let node else { return nil }
        guard case .scalar(let scalar) = node else {
            error("expected a single value")
            return nil
        }
        return substituted(scalar.string)
    }

    /// A value that is exactly `${NAME}` or `${NAME:-default}` comes from the environment (as
    /// containers are configured). Only a whole value: `${` inside a guardrail's pattern or a
    /// command stays as written.
    func substituted(_ value: String) -> String? {
        guard value.hasPrefix("${"), value.hasSuffix("}") else { return value }
        let inner = value.dropFirst(2).dropLast()
        let name: Substring
        var fallback: Substring?
        if let separator = inner.range(of: ":-") {
            name = inner[..<separator.lowerBound]
            fallback = inner[separator.upperBound...]
        } else {
            name = inner
        }
        guard let first = name.first, first == "_" || (first.isASCII && first.isLetter),
              name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else { return value }
        if let set = report.environment[String(name)], !set.isEmpty { return set }
        if let fallback { return String(fallback) }
        error("environment variable \(name) is not set (the value is ${\(name)})")
        return nil
    }

    func string(_ key: String, default value: String? = nil) -> String? {
        let child = child(key)
        guard child.isPresent else {
            if value == nil { error("is required", key: key) }
            return value
        }
        guard let string = child.scalarString else { return value }
        if string.isEmpty, value == nil { child.error("must not be empty") }
        return string
    }

    func optionalString(_ key: String) -> String? {
        let child = child(key)
        guard child.isPresent else { return nil }
        return child.scalarString
    }

    func int(_ key: String, default value: Int? = nil, range: ClosedRange<Int>? = nil) -> Int? {
        let child = child(key)
        guard child.isPresent else { return value }
        guard let text = child.scalarString, let number = Int(text) else {
            child.error("expected an integer")
            return value
        }
        if let range, !range.contains(number) {
            child.error("must be between \(range.lowerBound) and \(range.upperBound)")
            return value
        }
        return number
    }

    func bool(_ key: String, default value: Bool) -> Bool {
        let child = child(key)
        guard child.isPresent, let text = child.scalarString else { return value }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            child.error("expected true or false")
            return value
        }
    }

    func duration(_ key: String) -> Double? {
        let child = child(key)
        guard child.isPresent, let text = child.scalarString else { return nil }
        guard let seconds = ConfigDuration.seconds(from: text) else {
            child.error("expected a duration such as 30s, 10m or 1h")
            return nil
        }
        return seconds
    }

    func stringList(_ key: String, required: Bool = false) -> [String] {
        let child = child(key)
        guard child.isPresent else {
            if required { error("is required", key: key) }
            return []
        }
        return child.elements.compactMap { $0.scalarString }
    }

    /// Call after reading every known key: reports the unknown ones.
    func rejectUnknownKeys() {
        guard let node else { return }
        guard let mapping = node.mapping else {
            error("expected a mapping of keys to values")
            return
        }
        for key in mapping.keys {
            let name = key.string ?? "?"
            if !consumed.contains(name) {
                report.add(childPath(name), "unknown key")
            }
        }
    }
}
