import GatewayMasking
import Testing

/// Masked column names as keys inside JSON values: what `json_agg(t)`, `row_to_json(c)` and
/// `to_jsonb(c)` hand out. The document stays valid JSON.
@Suite("JSON field masking")
struct JSONFieldMaskerTests {
    let masker = JSONFieldMasker(keys: ["name", "salary", "Address"])

    func mask(_ text: String) -> (String?, [String: Int]) {
        var hits = MaskingHits()
        let bytes = Array(text.utf8)
        let masked = bytes.withUnsafeBufferPointer { masker.mask($0, hits: &hits) }
        return (masked.map { String(decoding: $0, as: UTF8.self) }, hits.counts)
    }

    @Test(arguments: [
        // json_agg / row_to_json (no spaces) and jsonb (spaces after : and ,)
        (#"[{"id":1,"name":"Jane Roe","email":"x"}, {"id":2,"name":"Bob","email":"y"}]"#,
         #"[{"id":1,"name":"[MASKED]","email":"x"}, {"id":2,"name":"[MASKED]","email":"y"}]"#),
        (#"{"id": 1, "name": "Jane"}"#, #"{"id": 1, "name": "[MASKED]"}"#),
        // any kind of value; null stays null
        (#"{"salary": 123.5e2, "address": {"city": "Oslo", "lines": ["a", "b"]}, "name": null}"#,
         #"{"salary": "[MASKED]", "address": "[MASKED]", "name": null}"#),
        // a key inside a string is not a key; escapes are followed
        (#"{"note":"say \"name\": no","NAME":"J \"x\" K"}"#, #"{"note":"say \"name\": no","NAME":"[MASKED]"}"#),
        // text around the document, and a document cut short
        (#"x[{"name":"J"}]y"#, #"x[{"name":"[MASKED]"}]y"#),
        (#"{"name": "Ja"#, #"{"name": "[MASKED]""#),
    ])
    func maskedMembers(_ input: String, _ expected: String) {
        #expect(mask(input).0 == expected)
    }

    @Test func nothingToMaskIsNil() {
        #expect(mask(#"{"id": 1, "names": "x", "other": "name"}"#).0 == nil)
        #expect(mask("plain text, no quotes").0 == nil)
        #expect(mask(#"[{"id":1,"name":"a"},{"name":"b"}]"#).1 == ["COLUMN": 2])
        #expect(JSONFieldMasker(keys: []).isEmpty)
    }
}
