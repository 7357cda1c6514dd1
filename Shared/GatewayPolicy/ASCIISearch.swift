/// Case-insensitive search for an ASCII word in UTF-8 bytes, without Foundation: the cheap
/// first look the hot paths take before the real check (a pattern's required literal, a
/// statement kind's keyword, the COPY pre-check). Bytes of non-ASCII characters never match
/// an ASCII letter.
public enum ASCIISearch {
    /// Whether `text` contains `word` (lowercase ASCII letters and digits), ignoring case.
    /// Letters compare by their lowercase form (`byte | 0x20`); that can only call a few
    /// control bytes equal to digits, which errs towards "contains": the callers then take
    /// their full path.
    public static func contains(_ word: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard word.count <= text.count, let first = word.first, let base = text.baseAddress else { return word.isEmpty }
        return word.withUnsafeBufferPointer { word in
            let last = text.count - word.count
            // Eight bytes at a time, skip words where no byte can be the first letter.
            let ones: UInt64 = 0x0101_0101_0101_0101
            let firsts = ones &* UInt64(first)
            var index = 0
            while index <= last {
                if index + 8 <= text.count {
                    let folded = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) | (ones &* 0x20)
                    let diff = folded ^ firsts
                    if (diff &- ones) & ~diff & (ones &* 0x80) == 0 {
                        index += 8
                        continue
                    }
                }
                if base[index] | 0x20 == first {
                    var matched = 1
                    while matched < word.count, base[index + matched] | 0x20 == word[matched] { matched += 1 }
                    if matched == word.count { return true }
                }
                index += 1
            }
            return false
        }
    }

    public static func contains(_ word: [UInt8], in text: String) -> Bool {
        var text = text
        return text.withUTF8 { contains(word, in: $0) }
    }
}
