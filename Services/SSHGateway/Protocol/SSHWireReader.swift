/// Reads the SSH wire encoding (RFC 4251 §5): `uint32`, `string` and `mpint` from a byte
/// array, with every length checked against what is left.
struct SSHWireReader {
    private let bytes: [UInt8]
    private(set) var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    mutating func readUInt32() throws(SSHKeyError) -> UInt32 {
        guard remaining >= 4 else { throw .malformed("truncated integer") }
        let value = bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        offset += 4
        return value
    }

    mutating func readString() throws(SSHKeyError) -> [UInt8] {
        let length = Int(try readUInt32())
        guard length <= remaining else { throw .malformed("a length field points past the end") }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    mutating func readText() throws(SSHKeyError) -> String {
        String(decoding: try readString(), as: UTF8.self)
    }

    mutating func readBytes(_ count: Int) throws(SSHKeyError) -> [UInt8] {
        guard count <= remaining else { throw .malformed("truncated") }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }
}

/// Writes the SSH wire encoding.
struct SSHWireWriter {
    private(set) var bytes: [UInt8] = []

    mutating func writeUInt32(_ value: UInt32) {
        bytes.append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)])
    }

    mutating func writeString(_ value: some Collection<UInt8>) {
        writeUInt32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func writeText(_ value: String) {
        writeString(Array(value.utf8))
    }

    mutating func writeBytes(_ value: some Collection<UInt8>) {
        bytes.append(contentsOf: value)
    }
}
