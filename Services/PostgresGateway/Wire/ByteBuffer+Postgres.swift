import NIOCore

extension ByteBuffer {
    /// Skips `count` length-prefixed values (Bind parameters, FunctionCall arguments; length
    /// -1 is NULL); false when the buffer ends first.
    mutating func skipValues(_ count: Int16) -> Bool {
        for _ in 0..<max(0, count) {
            guard let length = readInteger(as: Int32.self) else { return false }
            if length > 0, readSlice(length: Int(length)) == nil { return false }
        }
        return true
    }

    /// Reads a NUL-terminated string; nil when there is no terminator.
    mutating func readCString() -> String? {
        guard let end = readableBytesView.firstIndex(of: 0) else { return nil }
        let length = end - readableBytesView.startIndex
        guard let string = readString(length: length) else { return nil }
        moveReaderIndex(forwardBy: 1)
        return string
    }

    mutating func writeCString(_ string: String) {
        writeString(string)
        writeInteger(UInt8(0))
    }
}
