import Crypto
import Foundation
import GatewayMasking
import GatewayPolicy
import NIOCore

/// What a review of a Kubernetes API request names, and so what its approval is bound to: not
/// only the verb and the object (`patch deployments/scale/api -n prod`) but the query, which
/// changes what the request does (`dryRun`, `gracePeriodSeconds`, `propagationPolicy`), and the
/// body (a patch's content), as a SHA-256 digest and a preview for the reviewer. An approval of
/// `replicas: 5` therefore does not let `replicas: 500` through on the retry, and the reviewer
/// sees which one they approve.
///
/// The preview hides what a review must not carry into the state store and webhooks: the
/// values of a Secret's `data` and `stringData`, and whatever the connection's masking finds.
enum ReviewedAPIRequest {
    static let previewLimit = 512

    static func command(_ request: APIRequest, query: Substring, body: ByteBuffer, masking: MaskingEngine) -> String {
        var text = request.summary
        let items = query.split(separator: "&").map(String.init).sorted()
        if !items.isEmpty { text += " ?" + items.joined(separator: "&") }
        let bytes = Array(body.readableBytesView)
        guard !bytes.isEmpty else { return text }
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        text += " body sha256:\(digest) (\(bytes.count) bytes): " + preview(bytes, masking: masking)
        return text
    }

    static func preview(_ bytes: [UInt8], masking: MaskingEngine) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let canonical = try? JSONSerialization.data(withJSONObject: SecretMasking.maskObject(object), options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return "not JSON, not shown"
        }
        var shown = Array(canonical)
        if masking.scansValues {
            var hits = MaskingHits()
            shown = masking.mask(shown, hits: &hits) ?? shown
        }
        guard shown.count > previewLimit else { return String(decoding: shown, as: UTF8.self) }
        // Cut on a character boundary.
        var end = previewLimit
        while end > 0, shown[end] & 0xC0 == 0x80 { end -= 1 }
        return String(decoding: shown[..<end], as: UTF8.self) + "…"
    }
}
