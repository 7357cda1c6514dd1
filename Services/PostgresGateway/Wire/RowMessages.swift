import NIOCore

/// A result column as RowDescription describes it.
public struct ResultColumn: Sendable, Equatable {
    public var name: String
    public var typeOID: UInt32
    /// 0 text, 1 binary.
    public var format: Int16
    /// The table column the values come from, when they are one's (even under an alias):
    /// the table's OID and the column's attribute number; 0 and 0 for any other expression.
    public var tableOID: UInt32
    public var attributeNumber: Int16

    public init(name: String, typeOID: UInt32, format: Int16, tableOID: UInt32 = 0, attributeNumber: Int16 = 0) {
        self.name = name
        self.typeOID = typeOID
        self.format = format
        self.tableOID = tableOID
        self.attributeNumber = attributeNumber
    }
}

public enum RowMessages {
    public static func parseRowDescription(_ frame: PostgresFrame) throws(PostgresProtocolError) -> [ResultColumn] {
        var payload = frame.payload
        guard let count = payload.readInteger(as: Int16.self), count >= 0 else { throw .malformed("row description") }
        var columns: [ResultColumn] = []
        columns.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let name = payload.readCString(),
                  let table = payload.readInteger(as: UInt32.self), let attribute = payload.readInteger(as: Int16.self),
                  let type = payload.readInteger(as: UInt32.self), payload.readSlice(length: 6) != nil,
                  let format = payload.readInteger(as: Int16.self) else {
                throw .malformed("row description")
            }
            columns.append(ResultColumn(name: name, typeOID: type, format: format, tableOID: table, attributeNumber: attribute))
        }
        return columns
    }

    /// The values of a DataRow as slices of its payload (nil for SQL NULL).
    public static func parseDataRow(_ frame: PostgresFrame) throws(PostgresProtocolError) -> [ByteBuffer?] {
        var values: [ByteBuffer?] = []
        try parseDataRow(frame, into: &values)
        return values
    }

    /// A DataRow's values (slices of the frame) into `values`, replacing what it held: a relay
    /// passes the same array for every row, so a row costs no allocation. Left empty when the
    /// row is malformed.
    public static func parseDataRow(_ frame: PostgresFrame, into values: inout [ByteBuffer?]) throws(PostgresProtocolError) {
        values.removeAll(keepingCapacity: true)
        do {
            try appendDataRow(frame, to: &values)
        } catch {
            values.removeAll(keepingCapacity: true)
            throw error
        }
    }

    private static func appendDataRow(_ frame: PostgresFrame, to values: inout [ByteBuffer?]) throws(PostgresProtocolError) {
        var payload = frame.payload
        guard let count = payload.readInteger(as: Int16.self), count >= 0 else { throw .malformed("data row") }
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = payload.readInteger(as: Int32.self) else { throw .malformed("data row") }
            if length < 0 {
                values.append(nil)
            } else {
                guard let value = payload.readSlice(length: Int(length)) else { throw .malformed("data row") }
                values.append(value)
            }
        }
        guard payload.readableBytes == 0 else { throw .malformed("data row (trailing bytes)") }
    }

    public static func dataRow(_ values: [ByteBuffer?]) -> PostgresFrame {
        var payload = ByteBuffer()
        payload.writeInteger(Int16(values.count))
        for value in values {
            if var value {
                payload.writeInteger(Int32(value.readableBytes))
                payload.writeBuffer(&value)
            } else {
                payload.writeInteger(Int32(-1))
            }
        }
        return PostgresFrame(type: PostgresMessageType.dataRow, payload: payload)
    }

    /// The command tag of a CommandComplete (`SELECT 3`, `UPDATE 1`).
    public static func commandTag(_ frame: PostgresFrame) -> String? {
        var payload = frame.payload
        return payload.readCString()
    }

    /// Rows affected or returned, from a command tag.
    public static func rowCount(fromTag tag: String) -> Int? {
        // The count is the tag's last word ("SELECT 5", "INSERT 0 1"); read from the end, no splitting.
        var value = 0
        var scale = 1
        var digits = 0
        for byte in tag.utf8.reversed() {
            guard byte != UInt8(ascii: " ") else { break }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 18 else { return nil }
            value += Int(byte - UInt8(ascii: "0")) * scale
            scale *= 10
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
