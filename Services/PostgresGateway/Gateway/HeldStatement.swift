import PostgresWire

/// A statement held for review, with the frame that carries it.
enum HeldStatement {
    case simpleQuery(PostgresFrame, String)
    case parse(PostgresFrame, FrontendMessages.Parse)

    var query: String {
        switch self {
        case .simpleQuery(_, let text): text
        case .parse(_, let parse): parse.query
        }
    }
}
