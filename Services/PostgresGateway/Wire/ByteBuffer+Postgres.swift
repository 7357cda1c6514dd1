import NIOCore

extension ByteBuffer {
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
