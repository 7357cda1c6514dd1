import GatewayConfig
import GatewayMasking
import GatewayPolicy
import GatewaySession
import PostgresWire

/// What the gateway does with each SQL statement a client sends (a simple query, a Parse, a
/// fast-path call as the SQL it stands for): the policy decides it as the statement it runs
/// (an EXECUTE as what was PREPAREd), a masked connection refuses what masking could not
/// cover, and the checkpoint turns the decision into evidence. The verdict comes back as the
/// frame a refusal is spoken with.
struct StatementGate {
    enum Verdict {
        case forward
        case refuse(PostgresFrame)
        case hold(ApprovalRule)
    }

    let checkpoint: Checkpoint
    let policy: PolicyEngine
    let identity: Identity
    let rules: ConnectionPolicy
    /// Column masking is on (COPY TO STDOUT carries no column names to mask by).
    let masksColumns: Bool
    /// Value masking is on (large objects are bytes no detector scans).
    let scansValues: Bool
    /// What the session has PREPAREd, so an EXECUTE is decided as what it runs.
    private var session = SQLSession()

    init(checkpoint: Checkpoint, policy: PolicyEngine, identity: Identity, connection: ConnectionConfiguration, masking: MaskingEngine) {
        self.checkpoint = checkpoint
        self.policy = policy
        self.identity = identity
        self.rules = connection.policy
        self.masksColumns = !connection.masking.columns.isEmpty
        self.scansValues = masking.scansValues
    }

    mutating func decide(_ query: String) -> Verdict {
        var decision = policy.decide(.sql(query), by: identity, on: rules, session: &session)
        if case .allow = decision, let refusal = maskingRefusal(query) {
            decision = .block(rule: "masking", message: refusal, statement: query)
        }
        switch checkpoint.pass(decision, command: query) {
        case .forward:
            return .forward
        case .refuse(_, let message, denied: true):
            return .refuse(BackendMessages.error("42501", "access gateway: \(message)"))
        case .refuse(_, let message, denied: false):
            return .refuse(BackendMessages.error("42501", "access gateway: \(message)", hint: "the statement was not sent to the database; the session is still usable"))
        case .hold(let rule):
            return .hold(rule)
        }
    }

    enum CallVerdict {
        case forward(sql: String)
        case refuse(PostgresFrame)
    }

    /// A fast-path call, decided as the SQL it stands for; a call with no SQL form, or one
    /// that needs review (a review holds SQL statements), is refused.
    mutating func decide(call: FrontendMessages.FunctionCall) -> CallVerdict {
        guard let sql = FastPathFunction.sql(for: call) else {
            return .refuse(refuseCall("fast-path function call (OID \(call.function))", rule: "fast-path", message: FastPathFunction.refusal(for: call)))
        }
        switch decide(sql) {
        case .forward: return .forward(sql: sql)
        case .refuse(let refusal): return .refuse(refusal)
        case .hold(let rule): return .refuse(refuseCall(sql, rule: rule.name, message: "\(sql) needs review (rule \"\(rule.name)\"); run it as SQL to request one"))
        }
    }

    /// A setting the server reports changed that leaves a guarded session unparseable for the
    /// gateway (`standard_conforming_strings` off, an encoding whose characters hold a
    /// backslash byte: set by a function, a pg_settings UPDATE, a role default): blocked under
    /// rule session-integrity; the reason, to end the session with.
    func integrityRefusal(reported name: String, value: String) -> String? {
        guard rules.isGuarded, let reason = SessionSettings.refusal(reported: name, value: value) else { return nil }
        _ = checkpoint.pass(.block(rule: "session-integrity", message: reason, statement: "\(name) = \(value)"), command: "\(name) = \(value)")
        return reason
    }

    /// A fast-path call refused (recorded and audited as a blocked statement): the frame to answer it with.
    private func refuseCall(_ command: String, rule: String, message: String) -> PostgresFrame {
        _ = checkpoint.pass(.block(rule: rule, message: message, statement: command), command: command)
        return BackendMessages.error("42501", "access gateway: \(message)", hint: "the call was not sent to the database; the session is still usable")
    }

    static let copyWord = Array("copy".utf8)
    static let loreadWord = Array("loread".utf8)
    static let uescapeWord = Array("uescape".utf8)

    /// What a masked connection refuses that masking could not cover: COPY ... TO STDOUT
    /// with column masking (no column names in COPY data), and reading large objects (bytes
    /// no detector scans). Parsed once, and only when a cheap look finds either possible.
    func maskingRefusal(_ query: String) -> String? {
        let copies = masksColumns && ASCIISearch.contains(Self.copyWord, in: query)
        let reads = scansValues && Self.mayReadLargeObjects(query)
        guard copies || reads else { return nil }
        let findings = SQLAnalyzer.analyze(query).reduce(into: SQLFindings()) { $0.formUnion($1.findings) }
        if copies, findings.copiesToClient { return "COPY ... TO STDOUT is refused on a connection with column masking; use SELECT" }
        if reads, findings.readsLargeObjects {
            return "reading large objects (lo_get, loread, psql's \\lo_export) is refused on a connection with masking: their contents are not scanned"
        }
        return nil
    }

    /// Whether `query` may call lo_get or loread (or spells a name with escapes); a scan of
    /// the bytes, no copy.
    static func mayReadLargeObjects(_ query: String) -> Bool {
        var text = query
        return text.withUTF8 { bytes in
            if bytes.contains(UInt8(ascii: "\\")) || ASCIISearch.contains(loreadWord, in: bytes) || ASCIISearch.contains(uescapeWord, in: bytes) { return true }
            // lo_get: ASCIISearch compares letters and digits only.
            var index = 0
            while index + 6 <= bytes.count {
                if bytes[index] | 0x20 == UInt8(ascii: "l"), bytes[index + 1] | 0x20 == UInt8(ascii: "o"), bytes[index + 2] == UInt8(ascii: "_"),
                   bytes[index + 3] | 0x20 == UInt8(ascii: "g"), bytes[index + 4] | 0x20 == UInt8(ascii: "e"), bytes[index + 5] | 0x20 == UInt8(ascii: "t") {
                    return true
                }
                index += 1
            }
            return false
        }
    }

    /// The statements of a simple query string that holds more than one, so each result is
    /// recorded with its own; nil for one statement. Only a string with something after a `;`
    /// is split (a lone statement, with or without its `;`, is not lexed).
    static func statements(of query: String) -> [String]? {
        var afterSemicolon = false
        for byte in query.utf8 {
            if byte == UInt8(ascii: ";") {
                afterSemicolon = true
            } else if afterSemicolon, byte != 0x20, byte != 0x09, byte != 0x0A, byte != 0x0D {
                let texts = SQLSplitter.split(query).map(\.text)
                return texts.count > 1 ? texts : nil
            }
        }
        return nil
    }
}
