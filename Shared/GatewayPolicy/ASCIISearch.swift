/// Case-insensitive search for an ASCII word in UTF-8 bytes, without Foundation: the cheap
/// first look the hot paths take before the real check (a pattern's required literal, the
/// COPY pre-check). Bytes of non-ASCII characters never match an ASCII letter.
public enum ASCIISearch {
    /// Whether `text` contains `word` (lowercase ASCII letters, digits, `_`), ignoring case.
    public static func contains(_ word: [UInt8], in text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard word.count <= text.count, let first = word.first else { return word.isEmpty }
        var index = 0
        let last = text.count - word.count
        while index <= last {
            if text[index] | 0x20 == first {
                var matched = 1
                while matched < word.count, text[index + matched] | 0x20 == word[matched] { matched += 1 }
                if matched == word.count { return true }
            }
            index += 1
        }
        return false
    }

    public static func contains(_ word: [UInt8], in text: String) -> Bool {
        var text = text
        return text.withUTF8 { contains(word, in: $0) }
    }
}
