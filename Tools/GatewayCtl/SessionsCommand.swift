import ArgumentParser
import Foundation

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "List and kill sessions.", subcommands: [List.self, Kill.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List sessions (active by default).")
        @OptionGroup var options: AdminOptions
        @Option(help: "active, ended, killed or all.") var status = "active"

        func run() async throws {
            let data = try await options.client().get("/api/sessions?status=\(status)")
            if options.json { return Table.printJSON(data) }
            let sessions = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
            Table.print(headers: ["ID", "STATUS", "AGE", "USER", "SERVICE", "CONNECTION", "CLIENT"], rows: sessions.map { session in
                let user = session["user"] as? [String: Any]
                return [
                    session["id"] as? String ?? "", session["status"] as? String ?? "", Table.age(session["started_at"] as? String),
                    (user?["email"] as? String) ?? (user?["sub"] as? String) ?? "", session["service"] as? String ?? "",
                    session["connection"] as? String ?? "", session["client_address"] as? String ?? "",
                ]
            })
        }
    }

    struct Kill: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a session on whichever instance holds it.")
        @OptionGroup var options: AdminOptions
        @Argument var id: String

        func run() async throws {
            let data = try await options.client().post("/api/sessions/\(id)/kill")
            if options.json { return Table.printJSON(data) }
            print("session \(id): kill requested")
        }
    }
}
