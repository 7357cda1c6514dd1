import Foundation

/// Parses configuration durations: `90`, `500ms`, `30s`, `10m`, `1h`, `1h30m`, `2d`. Returns seconds.
public enum ConfigDuration {
    public static func seconds(from text: String) -> Double? {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let plain = Double(text), plain >= 0 { return plain }
        var total = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let c = text[index]
            if c.isNumber || c == "." {
                number.append(c)
                index = text.index(after: index)
                continue
            }
            var unit = String(c)
            index = text.index(after: index)
            if c == "m", index < text.endIndex, text[index] == "s" {
                unit = "ms"
                index = text.index(after: index)
            }
            guard let value = Double(number) else { return nil }
            switch unit {
            case "ms": total += value / 1000
            case "s": total += value
            case "m": total += value * 60
            case "h": total += value * 3600
            case "d": total += value * 86400
            default: return nil
            }
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        return total
    }
}

