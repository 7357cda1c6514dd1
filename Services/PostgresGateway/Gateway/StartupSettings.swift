import GatewayPolicy

/// The settings a client's start-up packet asks the server to apply: the parameters the
/// gateway passes on (`search_path`, `TimeZone`, ...) and each `-c name=value` or
/// `--name=value` in `options` (libpq's `PGOPTIONS`). Each is a `SET` the client did not send
/// as SQL, so the session checks each, as that `SET`, against the connection's policy before
/// connecting: `options=-c role=admin` must not get past a guardrail on `SET role`.
struct StartupSettings {
    struct Setting: Equatable {
        var name: String
        var value: String

        /// The statement policy sees, with the value quoted as a string literal.
        var sql: String { "SET \(name) TO '\(value.replacingOccurrences(of: "'", with: "''"))'" }
    }

    struct Refusal: Error, Equatable {
        var message: String
    }

    /// Parameters drivers send on every connection that only shape how values are written
    /// (encoding, date, time zone and float formats, the application's name): passed on
    /// without a check, so a guardrail on `SET` does not refuse every JDBC or psql connection.
    static let formatParameters: Set<String> = [
        "application_name", "client_encoding", "DateStyle", "TimeZone", "extra_float_digits", "IntervalStyle", "datestyle",
        "timezone", "intervalstyle",
    ]

    /// Parameters passed on that policy checks as the settings they are.
    static let checkedParameters: Set<String> = ["search_path", "options"]

    /// Parameters a client may pass through to the server.
    static let forwardedParameters = formatParameters.union(checkedParameters)

    /// The settings to check, in name order: `search_path`, and each setting in `options`
    /// (whatever it sets).
    static func settings(of parameters: [String: String]) throws(Refusal) -> [Setting] {
        var settings: [Setting] = []
        for (name, value) in parameters.sorted(by: { $0.key < $1.key })
        where checkedParameters.contains(name) {
            if name == "options" {
                settings += try options(value)
            } else {
                settings.append(Setting(name: name, value: value))
            }
        }
        return settings
    }

    /// Why the start-up parameters or the server's first ParameterStatus reports leave a
    /// guarded session one the gateway's parser would read differently from the server (an
    /// encoding whose characters hold a backslash byte, `standard_conforming_strings` off),
    /// or nil. `client_encoding` is a format parameter and otherwise passes unchecked.
    static func integrityRefusal(parameters: [String: String]) -> String? {
        for (name, value) in parameters.sorted(by: { $0.key < $1.key }) {
            if let reason = SessionSettings.refusal(reported: name, value: value) { return reason }
        }
        return nil
    }

    /// What the server's `pg_split_opts` splits at (C's `isspace`).
    static let separators: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C]

    /// `options` as the server reads it, byte by byte (as `pg_split_opts` and getopt do; read
    /// as characters, "\r\n" would be one and not split): arguments split at unescaped
    /// whitespace (a backslash keeps the next byte), each setting given as `-c name=value`,
    /// `-cname=value` or `--name=value` (dashes in the name read as underscores). Any other
    /// switch is refused: the server would take it as a command-line option.
    static func options(_ text: String) throws(Refusal) -> [Setting] {
        var arguments: [ArraySlice<UInt8>] = []
        var current: [UInt8] = []
        var inArgument = false
        var escaped = false
        for byte in text.utf8 {
            if escaped {
                current.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
                inArgument = true
            } else if Self.separators.contains(byte) {
                if inArgument { arguments.append(current[...]) }
                current = []
                inArgument = false
            } else {
                current.append(byte)
                inArgument = true
            }
        }
        if inArgument { arguments.append(current[...]) }

        let dash = UInt8(ascii: "-")
        var settings: [Setting] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            index += 1
            let assignment: ArraySlice<UInt8>
            if argument.elementsEqual([dash, UInt8(ascii: "c")]) {
                guard index < arguments.endIndex else { throw Refusal(message: "options: -c without a setting") }
                assignment = arguments[index]
                index += 1
            } else if argument.starts(with: [dash, dash]) || argument.starts(with: [dash, UInt8(ascii: "c")]) {
                assignment = argument.dropFirst(2)
            } else {
                throw Refusal(message: "options: only -c name=value settings are accepted, not \"\(String(decoding: argument, as: UTF8.self))\"")
            }
            guard let equals = assignment.firstIndex(of: UInt8(ascii: "=")), equals != assignment.startIndex else {
                throw Refusal(message: "options: \"\(String(decoding: assignment, as: UTF8.self))\" is not name=value")
            }
            let name = assignment[..<equals].map { $0 == dash ? UInt8(ascii: "_") : $0 }
            settings.append(Setting(name: String(decoding: name, as: UTF8.self), value: String(decoding: assignment[(equals + 1)...], as: UTF8.self)))
        }
        return settings
    }
}
