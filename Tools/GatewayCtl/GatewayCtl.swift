import ArgumentParser
import Foundation

@main
struct GatewayCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatewayctl",
        abstract: "Operate the access gateways: reviews, sessions, audit, recordings, configuration.",
        subcommands: [ReviewsCommand.self, SessionsCommand.self, AuditCommand.self, RecordingsCommand.self, ConfigCommand.self, PolicyCommand.self]
    )

    /// `gatewayctl [--admin URL] [--token JWT] [--json] <command> ...`: the global options may
    /// come before the command (as the contract writes them) or after it.
    static func main() async {
        let arguments = Self.movingGlobalOptions(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

    /// Moves leading `--admin`, `--token` and `--json` behind the command words.
    static func movingGlobalOptions(_ arguments: [String]) -> [String] {
        var global: [String] = []
        var rest = arguments[...]
        while let first = rest.first {
            if first == "--admin" || first == "--token", rest.count >= 2 {
                global += rest.prefix(2)
                rest = rest.dropFirst(2)
            } else if first.hasPrefix("--admin=") || first.hasPrefix("--token=") || first == "--json" {
                global.append(first)
                rest = rest.dropFirst()
            } else {
                break
            }
        }
        return Array(rest) + global
    }
}

/// Options every command that talks to a gateway's admin API takes.
struct AdminOptions: ParsableArguments {
    @Option(name: .long, help: "Admin URL of any gateway (default: $GATEWAY_ADMIN or http://127.0.0.1:8431).")
    var admin: String?

    @Option(name: .long, help: "Your OIDC token (default: $GATEWAY_TOKEN).")
    var token: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func client() throws -> AdminClient {
        let environment = ProcessInfo.processInfo.environment
        let url = admin ?? environment["GATEWAY_ADMIN"] ?? "http://127.0.0.1:8431"
        guard let token = token ?? environment["GATEWAY_TOKEN"], !token.isEmpty else {
            throw ValidationError("a token is required: --token JWT or GATEWAY_TOKEN")
        }
        return AdminClient(baseURL: url, token: token)
    }
}
