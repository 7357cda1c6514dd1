import Foundation

/// Human-readable output: aligned columns cut to the terminal's width.
enum Table {
    static var terminalWidth: Int {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 20 { return columns }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 20 { return Int(size.ws_col) }
        return 120
    }

    /// Prints rows under headers; the last column takes what width is left.
    static func print(headers: [String], rows: [[String]]) {
        guard !headers.isEmpty else { return }
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count - 1 {
                widths[index] = min(max(widths[index], cell.count), 40)
            }
        }
        let fixed = widths.dropLast().reduce(0) { $0 + $1 + 2 }
        let last = max(10, terminalWidth - fixed)
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let single = cell.replacingOccurrences(of: "\n", with: " ")
                if index == cells.count - 1 { return cut(single, last) }
                return cut(single, widths[index]).padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        Swift.print(line(headers))
        for row in rows { Swift.print(line(row)) }
    }

    static func cut(_ text: String, _ width: Int) -> String {
        text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
    }

    static func age(_ iso: String?) -> String {
        guard let iso, let date = ISO8601DateFormatter().date(from: iso) else { return "-" }
        let seconds = Int(Date().timeIntervalSince(date))
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" }
        if seconds < 86400 { return "\(seconds / 3600)h" }
        return "\(seconds / 86400)d"
    }

    static func printJSON(_ data: Data) {
        if let object = try? JSONSerialization.jsonObject(with: data),
           let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) {
            Swift.print(String(decoding: pretty, as: UTF8.self))
        } else {
            Swift.print(String(decoding: data, as: UTF8.self))
        }
    }
}
