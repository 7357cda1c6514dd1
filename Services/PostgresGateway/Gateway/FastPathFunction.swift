import PostgresWire

/// The functions a client may call through the fast-path interface (FunctionCall messages),
/// which names a function by OID and carries no SQL: only the large-object functions libpq,
/// psql's `\lo_*` commands and drivers' large-object APIs use. Each call is checked,
/// recorded and audited as the SQL that would make it, `SELECT pg_catalog.lowrite($1, $2)`,
/// so guardrails and approval rules written for SQL apply. Any other function must be
/// called with SQL, where policy can see it.
///
/// The OIDs are PostgreSQL's built-in ones (`pg_proc.dat`), the same in every version since 9.3.
enum FastPathFunction {
    static let largeObjectFunctions: [UInt32: String] = [
        715: "lo_create", 952: "lo_open", 953: "lo_close", 954: "loread", 955: "lowrite", 956: "lo_lseek",
        957: "lo_creat", 958: "lo_tell", 964: "lo_unlink", 1004: "lo_truncate", 3170: "lo_lseek64",
        3171: "lo_tell64", 3172: "lo_truncate64",
    ]

    /// The SQL a call stands for, nil when the function may not be called this way.
    static func sql(for call: FrontendMessages.FunctionCall) -> String? {
        guard let name = largeObjectFunctions[call.function] else { return nil }
        let parameters = (0..<call.argumentCount).map { "$\($0 + 1)" }.joined(separator: ", ")
        return "SELECT pg_catalog.\(name)(\(parameters))"
    }

    static func refusal(for call: FrontendMessages.FunctionCall) -> String {
        "fast-path function calls are allowed only for large objects (function OID \(call.function)); call the function with SQL"
    }
}
