import Foundation
import GatewayMasking

/// Secret objects as a masked connection passes them on: every value under `data` (base64)
/// and `stringData` is replaced, in a Secret, a list of them, or a watch event carrying one;
/// the keys stay, so a client sees which entries exist. Anything that is not JSON is refused
/// rather than passed unmasked.
enum SecretMasking {
    static let maskedValue = MaskingPolicy.columnPlaceholder
    static let maskedData = Data(maskedValue.utf8).base64EncodedString()

    /// The masked document, or nil when `bytes` is not a JSON object.
    static func mask(_ bytes: [UInt8]) -> [UInt8]? {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return nil }
        object = maskObject(object)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return nil }
        return Array(data)
    }

    static func maskObject(_ object: [String: Any]) -> [String: Any] {
        var object = object
        if object["kind"] as? String == "Secret" {
            if let data = object["data"] as? [String: Any] { object["data"] = data.mapValues { _ in maskedData } }
            if let data = object["stringData"] as? [String: Any] { object["stringData"] = data.mapValues { _ in maskedValue } }
        }
        if let items = object["items"] as? [[String: Any]] { object["items"] = items.map(maskObject) }
        // A watch event: { "type": ..., "object": { ... } }.
        if let inner = object["object"] as? [String: Any] { object["object"] = maskObject(inner) }
        return object
    }
}
