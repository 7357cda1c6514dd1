import ArgumentParser
import Foundation
import GatewayConfig
import GatewayMasking
import GatewayPolicy

/// Dry runs against a configuration file: what would the gateway decide, what would it mask.
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Dry-run a connection's policy and masking offline.",
        subcommands: [Check.self, Mask.self]
    )

    static func connection(_ file: String, _ name: String) throws -> ConnectionConfiguration {
        let configuration: GatewayConfiguration
        do {
            configuration = try ConfigurationLoader(resolveSecrets: false).load(file: file)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        guard let connection = configuration.connection(named: name) else {
            throw ValidationError("no connection \(name) in \(file)")
        }
        return connection
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decide on one command as the gateway would; exit 0 allow, 3 block, 4 hold, 5 deny.")
        @Option(help: "Configuration file.") var config: String
        @Option(help: "Connection name.") var connection: String
        @Option(help: "The requester's groups, comma-separated.") var groups = "agents"
        @Argument(help: "The SQL, shell command or exec argv.") var command: [String]

        func run() async throws {
            let connection = try PolicyCommand.connection(config, self.connection)
            let identity = Identity(subject: "dry-run", groups: groups.split(separator: ",").map(String.init), issuer: "dry-run", expiresAt: .distantFuture)
            let text = command.joined(separator: " ")
            let kind: CommandKind = connection.kind == .postgres ? .sql : connection.kind == .ssh ? .shell : .exec
            let decision = PolicyEngine().decide(Command(kind: kind, text: text), by: identity, on: connection.policy)
            switch decision {
            case .allow:
                print("allow")
            case .deny(let reason):
                print("deny: \(reason)")
                throw ExitCode(5)
            case .block(let rule, let message, let statement):
                print("block (\(rule)): \(message)\n  statement: \(statement)")
                throw ExitCode(3)
            case .hold(let rule, let statement):
                print("hold for review (\(rule.name)): needs \(rule.minApprovals) approval(s) from \(rule.reviewerGroups.joined(separator: ", "))\n  statement: \(statement)")
                throw ExitCode(4)
            }
        }
    }

    struct Mask: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mask standard input with a connection's masking rules.")
        @Option(help: "Configuration file.") var config: String
        @Option(help: "Connection name.") var connection: String

        func run() async throws {
            let connection = try PolicyCommand.connection(config, self.connection)
            var stream = MaskingEngine(policy: connection.masking).makeStream()
            while let chunk = try FileHandle.standardInput.read(upToCount: 65536), !chunk.isEmpty {
                FileHandle.standardOutput.write(Data(stream.process(Array(chunk))))
            }
            FileHandle.standardOutput.write(Data(stream.finish()))
            let hits = stream.takeHits()
            if !hits.isEmpty {
                FileHandle.standardError.write(Data("masked: \(hits.counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))\n".utf8))
            }
        }
    }
}
