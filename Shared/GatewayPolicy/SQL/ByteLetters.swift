/// ASCII letters, for reading words out of bytes.
enum ByteLetters {
    @inline(__always) static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) &- 0x61 < 26 }
}
