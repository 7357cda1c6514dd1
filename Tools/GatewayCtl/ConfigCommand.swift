import ArgumentParser
import Foundation
import GatewayConfig

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Check configuration files.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate FILE: exit 2 with every problem, or 0 with one line per connection.")
        @Argument var file: String

        func run() async throws {
            do {
                let configuration = try ConfigurationLoader().load(file: file)
                print("ok: \(file): \(configuration.connections.count) connection(s), state \(configuration.state.url.hasPrefix("postgres") ? "postgres" : "sqlite")")
                for connection in configuration.connections {
                    print("  \(connection.name) (\(connection.kind.rawValue)) → \(connection.upstream.summary); allow \(connection.allowGroups.joined(separator: ",")); \(connection.guardrails.count) guardrail(s), \(connection.approvals.count) approval rule(s), masking \(connection.masking.isEmpty ? "off" : "on"), record \(connection.record ? "on" : "off")")
                }
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                throw ExitCode(2)
            }
        }
    }
}
