import CPgQuery
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The PostgreSQL parser (libpg_query: PostgreSQL 15's own grammar and scanner), called
/// from Swift. Every result is copied out and the C result freed before returning.
///
/// Its scanner reads text as the server does with `standard_conforming_strings = on` and a
/// client encoding in which no multi-byte character contains a backslash byte; the SQL
/// session keeps both true on guarded connections (`SQLSession`).
public enum PgQuery {
    /// The parser's refusal: its message and the 1-based byte offset it points at.
    public struct SyntaxError: Error, Sendable, Equatable {
        public var message: String
        public var position: Int
    }

    /// The parse tree of a query string (`{"version": ..., "stmts": [...]}`).
    public static func parse(_ sql: String) -> Result<ParseTree, SyntaxError> {
        guard !sql.utf8.contains(0) else { return .failure(SyntaxError(message: "the text holds a NUL byte", position: 0)) }
        let result = pg_query_parse(sql)
        defer { pg_query_free_parse_result(result) }
        if let error = result.error { return .failure(syntaxError(error)) }
        return tree(result.parse_tree)
    }

    /// The PL/pgSQL functions of a `CREATE FUNCTION` statement, as a list of
    /// `{"PLpgSQL_function": ...}` trees.
    public static func parsePLpgSQL(_ createFunction: String) -> Result<ParseTree, SyntaxError> {
        guard !createFunction.utf8.contains(0) else { return .failure(SyntaxError(message: "the text holds a NUL byte", position: 0)) }
        let result = pg_query_parse_plpgsql(createFunction)
        defer { pg_query_free_plpgsql_parse_result(result) }
        if let error = result.error { return .failure(syntaxError(error)) }
        return tree(result.plpgsql_funcs)
    }

    /// The tokens of `sql` by the server's scanner: each one's byte range and its
    /// pg_query.proto `Token` number (an ASCII symbol is its own code: 59 is `;`).
    public static func scan(_ sql: String) -> Result<[(range: Range<Int>, token: Int)], SyntaxError> {
        guard !sql.utf8.contains(0) else { return .failure(SyntaxError(message: "the text holds a NUL byte", position: 0)) }
        let result = pg_query_scan(sql)
        defer { pg_query_free_scan_result(result) }
        if let error = result.error { return .failure(syntaxError(error)) }
        guard let data = result.pbuf.data else { return .success([]) }
        let bytes = UnsafeRawBufferPointer(start: data, count: Int(result.pbuf.len))
        guard let tokens = ScanResultReader.tokens(bytes.bindMemory(to: UInt8.self)) else {
            return .failure(SyntaxError(message: "the scanner's answer could not be read", position: 0))
        }
        return .success(tokens.map { ($0.start..<max($0.start, $0.end), $0.token) })
    }

    /// The byte ranges of the comments (`-- ...` and `/* ... */`) in `sql`, by the server's
    /// scanner: text inside strings, quoted identifiers and dollar quotes is never a comment.
    public static func commentRanges(_ sql: String) -> Result<[Range<Int>], SyntaxError> {
        scan(sql).map { tokens in
            tokens.filter { $0.token == ScanResultReader.sqlComment || $0.token == ScanResultReader.cComment }.map(\.range)
        }
    }

    private static func syntaxError(_ error: UnsafeMutablePointer<PgQueryError>) -> SyntaxError {
        let message = error.pointee.message.map { String(cString: $0) } ?? "syntax error"
        return SyntaxError(message: message, position: Int(error.pointee.cursorpos))
    }

    private static func tree(_ json: UnsafeMutablePointer<CChar>?) -> Result<ParseTree, SyntaxError> {
        guard let json else { return .failure(SyntaxError(message: "the parser returned nothing", position: 0)) }
        let count = strlen(json)
        return json.withMemoryRebound(to: UInt8.self, capacity: count) { pointer in
            do {
                return .success(try ParseTreeReader.read(UnsafeBufferPointer(start: pointer, count: count)))
            } catch {
                return .failure(SyntaxError(message: "the parse tree could not be read", position: 0))
            }
        }
    }
}
