@testable import PostgresGatewayKit
import Testing

/// What a start-up packet would SET on the server, read as the server reads it, so policy
/// checks each as the SET statement it amounts to.
@Suite("Start-up settings")
struct StartupSettingsTests {
    typealias Setting = StartupSettings.Setting

    @Test func optionsAreReadAsTheServerReadsThem() throws {
        #expect(try StartupSettings.options("-c role=admin") == [Setting(name: "role", value: "admin")])
        #expect(try StartupSettings.options("  -cstatement_timeout=5s\t--search-path=a,b ") == [
            Setting(name: "statement_timeout", value: "5s"), Setting(name: "search_path", value: "a,b"),
        ])
        // A backslash keeps the next character: an escaped space is part of the value.
        #expect(try StartupSettings.options(#"-c application_name=two\ words -c x.y=a\\b"#) == [
            Setting(name: "application_name", value: "two words"), Setting(name: "x.y", value: #"a\b"#),
        ])
        // Only C's whitespace separates arguments, as in the server.
        #expect(try StartupSettings.options("-c\u{A0}role=admin") == [Setting(name: "\u{A0}role", value: "admin")])
        #expect(try StartupSettings.options("") == [])
    }

    @Test(arguments: ["-B 100", "-c", "-c role", "--=x", "-e", "role=admin", "-P -c a=b"])
    func anythingButSettingsIsRefused(_ options: String) {
        #expect(throws: StartupSettings.Refusal.self) { try StartupSettings.options(options) }
    }

    @Test func everyForwardedParameterIsASetting() throws {
        let settings = try StartupSettings.settings(of: [
            "user": "agent", "database": "orders", "application_name": "psql", "options": "-c role=admin", "search_path": "it's",
        ])
        #expect(settings.map(\.sql) == ["SET application_name TO 'psql'", "SET role TO 'admin'", "SET search_path TO 'it''s'"])
    }
}
