import ArgumentParser
import Foundation

struct ReviewsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reviews", abstract: "List, show, approve and reject held commands.",
        subcommands: [List.self, Show.self, Approve.self, Reject.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List reviews, pending first.")
        @OptionGroup var options: AdminOptions
        @Option(help: "pending, approved, rejected, expired, cancelled or all.") var status = "all"
        @Flag(help: "Keep listing new reviews as they arrive.") var watch = false

        func run() async throws {
            let client = try options.client()
            var seen = Set<String>()
            repeat {
                let data = try await client.get("/api/reviews?status=\(status)")
                let reviews = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
                if options.json {
                    if watch {
                        for review in reviews where !seen.contains(review["id"] as? String ?? "") {
                            seen.insert(review["id"] as? String ?? "")
                            let line = try JSONSerialization.data(withJSONObject: review, options: [.sortedKeys])
                            print(String(decoding: line, as: UTF8.self))
                        }
                    } else {
                        Table.printJSON(data)
                    }
                } else {
                    let fresh = reviews.filter { !seen.contains($0["id"] as? String ?? "") }
                    if !fresh.isEmpty || !watch {
                        Table.print(headers: ["ID", "STATUS", "AGE", "REQUESTER", "CONNECTION", "RULE", "COMMAND"], rows: fresh.map(row))
                    }
                    for review in fresh { seen.insert(review["id"] as? String ?? "") }
                }
                if watch { try await Task.sleep(for: .seconds(1)) }
            } while watch
        }

        func row(_ review: [String: Any]) -> [String] {
            let requester = review["requester"] as? [String: Any]
            return [
                review["id"] as? String ?? "", review["status"] as? String ?? "", Table.age(review["created_at"] as? String),
                (requester?["email"] as? String) ?? (requester?["sub"] as? String) ?? "", review["connection"] as? String ?? "",
                review["rule"] as? String ?? "", review["command"] as? String ?? "",
            ]
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one review in full.")
        @OptionGroup var options: AdminOptions
        @Argument var id: String

        func run() async throws {
            let data = try await options.client().get("/api/reviews/\(id)")
            if options.json { return Table.printJSON(data) }
            guard let review = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return Table.printJSON(data) }
            let requester = review["requester"] as? [String: Any]
            print("Review      \(review["id"] as? String ?? "")   \(review["status"] as? String ?? "")")
            print("Connection  \(review["connection"] as? String ?? "")  (\(review["service"] as? String ?? ""), session \(review["session_id"] as? String ?? ""))")
            print("Requester   \((requester?["email"] as? String) ?? (requester?["sub"] as? String) ?? "")  groups: \((requester?["groups"] as? [String] ?? []).joined(separator: ", "))")
            print("Client      \(review["client_address"] as? String ?? "-")")
            print("Rule        \(review["rule"] as? String ?? "")  needs \(review["min_approvals"] ?? 1) approval(s) from \((review["reviewer_groups"] as? [String] ?? []).joined(separator: ", "))\((review["require_all_groups"] as? Bool ?? false) ? " (one from each group)" : "")")
            print("Created     \(review["created_at"] as? String ?? "")   expires \(review["expires_at"] as? String ?? "")")
            print("Reason      \(review["justification"] as? String ?? "-")")
            print("Command:\n\(review["command"] as? String ?? "")")
            let votes = review["votes"] as? [[String: Any]] ?? []
            print("Votes       \(votes.isEmpty ? "none yet" : "")")
            for vote in votes {
                let reviewer = vote["reviewer"] as? [String: Any]
                print("  \((vote["approved"] as? Bool ?? false) ? "approved" : "rejected") by \((reviewer?["email"] as? String) ?? (reviewer?["sub"] as? String) ?? "") at \(vote["time"] as? String ?? "")\((vote["comment"] as? String).map { ": \($0)" } ?? "")")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a held command.")
        @OptionGroup var options: AdminOptions
        @Argument var id: String
        @Option var comment: String?

        func run() async throws {
            let data = try await options.client().post("/api/reviews/\(id)/approve", body: comment.map { ["comment": $0] })
            if options.json { return Table.printJSON(data) }
            let review = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            print("review \(id): \(review?["status"] as? String ?? "updated")")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a held command (a comment is required).")
        @OptionGroup var options: AdminOptions
        @Argument var id: String
        @Option var comment: String

        func run() async throws {
            let data = try await options.client().post("/api/reviews/\(id)/reject", body: ["comment": comment])
            if options.json { return Table.printJSON(data) }
            print("review \(id): rejected")
        }
    }
}
