/// Numbers written as JSON digits without going through `description` (which allocates a
/// String per number on paths that write one per statement).
public enum JSONNumber {
    public static func append(_ value: Int, to output: inout [UInt8]) {
        if value < 0 {
            output.append(UInt8(ascii: "-"))
            if value == .min {
                output.append(contentsOf: String(value).utf8.dropFirst())
                return
            }
            append(UInt64(-value), to: &output)
        } else {
            append(UInt64(value), to: &output)
        }
    }

    static func append(_ value: UInt64, to output: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)   // 32 bytes: room for 20 digits
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[31 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            output.append(contentsOf: raw[(32 - count)...])
        }
    }

    /// `value` rounded to three decimals, trailing zeros dropped; values that are negative,
    /// not finite or too large for that fall back to `description`.
    public static func appendThousandths(_ value: Double, to output: inout [UInt8]) {
        guard value.isFinite, value >= 0, value < 1e15 else {
            output.append(contentsOf: value.description.utf8)
            return
        }
        let scaled = UInt64((value * 1000).rounded())
        append(scaled / 1000, to: &output)
        var fraction = scaled % 1000
        guard fraction > 0 else { return }
        output.append(UInt8(ascii: "."))
        var width = 3
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        var divisor: UInt64 = width == 3 ? 100 : width == 2 ? 10 : 1
        while divisor > 0 {
            output.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
            divisor /= 10
        }
    }
}
