/// Character-class tests on UTF-8 bytes, branch-light for the hot path.
enum ByteClass {
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) &- 0x61 < 26 }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isAlpha(b) }
    @inline(__always) static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20) &- 0x61 < 6 }
    @inline(__always) static func isUpperAlnum(_ b: UInt8) -> Bool { isDigit(b) || isUpper(b) }
    /// Characters of an email's local part.
    @inline(__always) static func isEmailLocal(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "%")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }
    @inline(__always) static func isDomain(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    }
    @inline(__always) static func isBase64URL(_ b: UInt8) -> Bool {
        isAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
    /// Printable non-whitespace, including UTF-8 continuation and lead bytes.
    @inline(__always) static func isRun(_ b: UInt8) -> Bool { b > 0x20 && b != 0x7F }
}
