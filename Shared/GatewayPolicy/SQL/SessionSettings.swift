/// The two settings that decide how the server splits text into tokens. The gateway's parser
/// reads text as the server does only with `standard_conforming_strings` on and a client
/// encoding whose multi-byte characters never contain a backslash byte (0x5C); with either
/// changed, a string could end for the server where it does not for the gateway, and a
/// statement hidden after it would run unseen. Guarded connections keep both.
public enum SessionSettings {
    /// Client encodings (after PostgreSQL's own name folding: lowercase, letters and digits
    /// only) in which a character's second byte can be 0x5C: PostgreSQL's client-only
    /// encodings and their aliases.
    static let unsafeEncodings: Set<String> = [
        "sjis", "shiftjis", "mskanji", "win932", "windows932", "cp932", "shiftjis2004",
        "big5", "win950", "windows950", "cp950",
        "gbk", "win936", "windows936", "cp936",
        "uhc", "win949", "windows949", "cp949",
        "gb18030", "johab",
    ]

    /// An encoding name folded as PostgreSQL's `clean_encoding_name` folds it.
    static func folded(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) }))
    }

    public static func isUnsafe(encoding: String) -> Bool { unsafeEncodings.contains(folded(encoding)) }

    /// PostgreSQL's `parse_bool` for "true" (unique prefixes of true, yes, on; 1).
    static func isTrue(_ value: String) -> Bool {
        let value = value.lowercased()
        if value.isEmpty { return false }
        if "true".hasPrefix(value) || "yes".hasPrefix(value) || value == "1" { return true }
        return value == "on"
    }

    /// Why setting `name` to `value` (nil: to a value not known before it runs) is refused,
    /// or nil when it may run.
    public static func refusal(setting name: String, value: String?) -> String? {
        switch name.lowercased() {
        case "standard_conforming_strings":
            guard let value, isTrue(value) else {
                return "standard_conforming_strings must stay on: with it off the server reads backslashes in strings differently from the gateway"
            }
            return nil
        case "client_encoding":
            guard let value else { return "client_encoding may only be set to a constant here" }
            if isUnsafe(encoding: value) {
                return "client encoding \(value) is refused: its characters can contain a backslash byte, which the gateway would read differently from the server"
            }
            return nil
        default:
            return nil
        }
    }

    /// A server's report (ParameterStatus) that the session has left what the gateway can
    /// parse: the reason, or nil.
    public static func refusal(reported name: String, value: String) -> String? {
        refusal(setting: name, value: value)
    }

    /// `SET name = value`, `SET NAMES`, `RESET`, and the same in ALTER ROLE/DATABASE/SYSTEM
    /// and in a function's SET clause.
    static func refusal(variableSet fields: ParseTree) -> String? {
        guard let name = fields["name"]?.stringValue else { return nil }
        guard fields["kind"]?.stringValue == "VAR_SET_VALUE" else { return nil }
        let arguments = fields["args"]?.elements ?? []
        guard arguments.count == 1 else { return refusal(setting: name, value: nil) }
        return refusal(setting: name, value: constantText(arguments[0]))
    }

    /// `set_config(name, value, is_local)`: a name that is not a constant is refused, as it
    /// could be either setting.
    static func refusal(setConfigArguments arguments: [ParseTree]) -> String? {
        guard let first = arguments.first else { return nil }
        guard let name = constantText(first) else {
            return "set_config with a name that is not a constant is refused: it could turn off standard_conforming_strings"
        }
        guard name.lowercased() == "standard_conforming_strings" || name.lowercased() == "client_encoding" else { return nil }
        return refusal(setting: name, value: arguments.count > 1 ? constantText(arguments[1]) : nil)
    }

    /// The text of a constant (string, integer, boolean, numeric), possibly cast; nil for any
    /// other expression.
    static func constantText(_ expression: ParseTree) -> String? {
        guard let node = expression.node else { return nil }
        switch node.type {
        case "A_Const":
            if let text = node.fields["sval"]?["sval"]?.stringValue { return text }
            if node.fields["sval"] != nil { return "" }
            if let number = node.fields["ival"] { return String(number["ival"]?.intValue ?? 0) }
            if let boolean = node.fields["boolval"] { return boolean["boolval"]?.isTrue == true ? "true" : "false" }
            if let float = node.fields["fval"]?["fval"]?.stringValue { return float }
            return nil
        case "TypeCast":
            return node.fields["arg"].flatMap(constantText)
        default:
            return nil
        }
    }
}
