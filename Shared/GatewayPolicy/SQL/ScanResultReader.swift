/// Reads the protobuf `ScanResult` that `pg_query_scan` returns (pg_query.proto:
/// `repeated ScanToken tokens = 2`, each `start = 1`, `end = 2`, `token = 4`): only what the
/// gateway needs, strictly, without a protobuf library.
enum ScanResultReader {
    struct Token: Equatable {
        var start: Int
        var end: Int
        var token: Int
    }

    /// `Token.SQL_COMMENT` and `Token.C_COMMENT` in pg_query.proto.
    static let sqlComment = 275
    static let cComment = 276
    /// `Token.ASCII_59`.
    static let semicolon = 59

    static func tokens(_ bytes: UnsafeBufferPointer<UInt8>) -> [Token]? {
        var tokens: [Token] = []
        var reader = Reader(bytes: bytes[...])
        while !reader.atEnd {
            guard let (field, wireType) = reader.key() else { return nil }
            if field == 2, wireType == 2 {
                guard let message = reader.lengthDelimited(), let token = token(message) else { return nil }
                tokens.append(token)
            } else if !reader.skip(wireType) {
                return nil
            }
        }
        return tokens
    }

    private static func token(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Token? {
        var reader = Reader(bytes: bytes)
        var token = Token(start: 0, end: 0, token: 0)
        while !reader.atEnd {
            guard let (field, wireType) = reader.key() else { return nil }
            if wireType == 0 {
                guard let value = reader.varint(), value < 1 << 31 else { return nil }
                switch field {
                case 1: token.start = Int(value)
                case 2: token.end = Int(value)
                case 4: token.token = Int(value)
                default: break
                }
            } else if !reader.skip(wireType) {
                return nil
            }
        }
        return token
    }

    private struct Reader {
        var bytes: Slice<UnsafeBufferPointer<UInt8>>

        var atEnd: Bool { bytes.isEmpty }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while let byte = bytes.first {
                bytes = bytes.dropFirst()
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }

        mutating func key() -> (Int, Int)? {
            guard let key = varint() else { return nil }
            return (Int(key >> 3), Int(key & 7))
        }

        mutating func lengthDelimited() -> Slice<UnsafeBufferPointer<UInt8>>? {
            guard let length = varint(), length <= UInt64(bytes.count) else { return nil }
            let body = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return body
        }

        mutating func skip(_ wireType: Int) -> Bool {
            switch wireType {
            case 0: return varint() != nil
            case 1: guard bytes.count >= 8 else { return false }; bytes = bytes.dropFirst(8); return true
            case 2: return lengthDelimited() != nil
            case 5: guard bytes.count >= 4 else { return false }; bytes = bytes.dropFirst(4); return true
            default: return false
            }
        }
    }
}
