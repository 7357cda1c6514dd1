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
        // Read byte by byte, as the server does: CR LF (one Character in Swift) separates, and
        // a backslash before a combining mark escapes the mark's first byte only.
        #expect(try StartupSettings.options("-c a=x\r\n-c\r\nrole=admin") == [Setting(name: "a", value: "x"), Setting(name: "role", value: "admin")])
        #expect(try StartupSettings.options("-c role=\\\u{301}x") == [Setting(name: "role", value: "\u{301}x")])
        #expect(try StartupSettings.options("-c role=\u{301}x=y") == [Setting(name: "role", value: "\u{301}x=y")])
        #expect(try StartupSettings.options("") == [])
    }

    @Test(arguments: ["-B 100", "-c", "-c role", "--=x", "-e", "role=admin", "-P -c a=b"])
    func anythingButSettingsIsRefused(_ options: String) {
        #expect(throws: StartupSettings.Refusal.self) { try StartupSettings.options(options) }
    }

    @Test func searchPathAndEveryOptionAreSettingsToCheck() throws {
        let settings = try StartupSettings.settings(of: [
            "user": "agent", "database": "orders", "application_name": "psql", "client_encoding": "UTF8", "DateStyle": "ISO",
            "options": "-c role=admin -c DateStyle=ISO", "search_path": "it's",
        ])
        // Format parameters drivers always send pass unchecked; in options everything is checked.
        #expect(settings.map(\.sql) == ["SET role TO 'admin'", "SET DateStyle TO 'ISO'", "SET search_path TO 'it''s'"])
    }
}
