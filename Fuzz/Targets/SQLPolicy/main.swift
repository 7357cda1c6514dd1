import FuzzDriver
import GatewayPolicy

/// The SQL classification path on arbitrary text: the splitter (the server's scanner rules
/// for quotes, dollar quotes, comments) and the analyzer (libpg_query's parse tree, PL/pgSQL
/// bodies, constant EXECUTE strings). Invariants: every statement the analyzer reports is
/// classified, or named opaque, or text PostgreSQL's own grammar rejects (which the server
/// rejects too: it runs nothing) — a statement the grammar accepts with no finding would be
/// one no check looks at; and the analysis does not depend on anything but the text.
runFuzzer { data, size in
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = SQLSplitter.split(text)
    let analyzed = SQLAnalyzer.analyze(text)
    for statement in analyzed where statement.findings.kinds.isEmpty && statement.findings.opaque.isEmpty {
        guard case .failure = PgQuery.parse(statement.text) else {
            preconditionFailure("a statement the parser accepts, neither classified nor opaque: \(statement.text.debugDescription)")
        }
    }
    precondition(SQLAnalyzer.analyze(text) == analyzed, "the analysis of the same text differs")
    return 0
}
