import ArgumentParser
import Foundation

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Read the audit log (admin_groups only).")
    @OptionGroup var options: AdminOptions
    @Option(help: "ISO-8601 time, unix seconds, or a duration back from now (15m, 2h).") var since: String?
    @Option(help: "Subject or email.") var user: String?
    @Option var connection: String?
    @Option var session: String?
    @Option var limit: Int?

    func run() async throws {
        var query: [String] = []
        func add(_ name: String, _ value: String?) {
            if let value, let encoded = value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) {
                query.append("\(name)=\(encoded)")
            }
        }
        add("since", since)
        add("user", user)
        add("connection", connection)
        add("session", session)
        add("limit", limit.map(String.init))
        let data = try await options.client().get("/api/audit" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        if options.json { return Table.printJSON(data) }
        let events = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
        Table.print(headers: ["TIME", "ACTION", "USER", "CONNECTION", "SESSION", "RULE", "COMMAND / DETAIL"], rows: events.map { event in
            [
                event["time"] as? String ?? "", event["action"] as? String ?? "",
                (event["email"] as? String) ?? (event["sub"] as? String) ?? "", event["connection"] as? String ?? "",
                event["session_id"] as? String ?? "", event["rule"] as? String ?? "",
                (event["command"] as? String) ?? (event["detail"] as? String) ?? "",
            ]
        })
    }
}
