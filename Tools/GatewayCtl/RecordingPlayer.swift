import Foundation

/// Replays a recording: `terminal.cast` with its timing, else `events.jsonl` as a transcript.
struct RecordingPlayer {
    let speed: Double
    let maxIdle: Double

    func play(files: [String: Data]) async throws {
        if let meta = files["meta.json"], let object = try? JSONSerialization.jsonObject(with: meta) as? [String: Any] {
            let identity = object["identity"] as? [String: Any]
            let who = (identity?["email"] as? String) ?? (identity?["sub"] as? String) ?? "?"
            FileHandle.standardError.write(Data("# session \(object["session_id"] ?? "?") on \(object["connection"] ?? "?") by \(who), \(object["start"] ?? "?")\n".utf8))
        }
        if let cast = files["terminal.cast"] {
            try await playCast(cast)
        } else if let events = files["events.jsonl"] {
            try await playEvents(events)
        } else {
            throw PlayError("the recording has neither terminal.cast nor events.jsonl")
        }
    }

    struct PlayError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private func pause(_ seconds: Double) async throws {
        guard speed > 0, seconds > 0 else { return }
        try await Task.sleep(for: .milliseconds(Int(min(seconds, maxIdle) / speed * 1000)))
    }

    private func playCast(_ data: Data) async throws {
        var previous = 0.0
        for (index, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() {
            guard index > 0, let event = try? JSONSerialization.jsonObject(with: Data(line)) as? [Any], event.count == 3,
                  let time = (event[0] as? NSNumber)?.doubleValue, let code = event[1] as? String, let text = event[2] as? String else { continue }
            try await pause(time - previous)
            previous = time
            if code == "o" { FileHandle.standardOutput.write(Data(text.utf8)) }
        }
    }

    private func playEvents(_ data: Data) async throws {
        var previous: Date?
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in data.split(separator: UInt8(ascii: "\n")) {
            guard let event = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else { continue }
            let time = (event["time"] as? String).flatMap(formatter.date(from:))
            if let time, let previous { try await pause(time.timeIntervalSince(previous)) }
            previous = time ?? previous
            print(describe(event))
        }
    }

    func describe(_ event: [String: Any]) -> String {
        let type = event["type"] as? String ?? "event"
        var parts: [String] = ["[\((event["time"] as? String)?.suffix(13).description ?? "")]", type]
        if let decision = event["decision"] as? String { parts.append(decision) }
        if let rule = event["rule"] as? String { parts.append("rule=\(rule)") }
        if let review = event["review_id"] as? String { parts.append("review=\(review)") }
        var text = parts.joined(separator: " ")
        if let command = event["command"] as? String { text += "\n    \(command.replacingOccurrences(of: "\n", with: "\n    "))" }
        if let columns = event["columns"] as? [String] { text += "\n    " + columns.joined(separator: " | ") }
        if let values = event["values"] as? [[Any]] {
            for row in values { text += "\n    " + row.map { ($0 as? String) ?? "NULL" }.joined(separator: " | ") }
        }
        if let rows = event["rows"] as? Int { text += "\n    (\(rows) rows)" }
        if let error = event["error"] as? String { text += "\n    ERROR: \(error)" }
        if let status = event["exit_status"] as? Int { text += "\n    exit status \(status)" }
        if let detail = event["detail"] as? String { text += "\n    \(detail)" }
        return text
    }
}
