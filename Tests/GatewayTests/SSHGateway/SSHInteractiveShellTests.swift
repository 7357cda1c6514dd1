import Foundation
import GatewayTesting
import Testing

/// What a person (or an agent driving a terminal) can do at an interactive prompt through
/// the gateway, typed key by key into OpenSSH's ssh in a real pty (tmux) against a real
/// sshd and bash: the edits a line model could get wrong are refused, and nothing they aim
/// at is deleted. After each refusal the shell answers the next command.
@Suite("Interactive shell through ssh in a terminal", .enabled(if: TmuxSession.isAvailable))
struct SSHInteractiveShellTests {
    @Test func editsThatWouldChangeTheLineAreRefused() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let target = NSTemporaryDirectory() + "gateway-tty-victim-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/inner/file"))
        let terminal = try TmuxSession.start(
            ["/usr/bin/sshpass", "-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions + ["-tt", "-p", "\(fixture.port)", "guarded@127.0.0.1"],
            environment: ["SSHPASS": try fixture.agentToken()]
        )
        defer { terminal.kill() }
        func answers(_ marker: Int) async throws -> Bool {
            // $((...)) so the typed line itself does not already show the answer.
            try terminal.type("echo alive-$((\(marker) + 1000))")
            try terminal.press("Enter")
            return await terminal.waitFor("alive-\(marker + 1000)", seconds: 15)
        }
        #expect(try await answers(1), "\(terminal.screen())")

        // A continued line: checked as one command with its continuation.
        try terminal.type("echo one \\")
        try terminal.press("Enter")
        try terminal.type("&& rm -rf \(target)")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("recursive force delete is blocked"), "\(terminal.screen())")
        #expect(try await answers(2), "\(terminal.screen())")
        #expect(FileManager.default.fileExists(atPath: target + "/inner/file"))

        // History expansion would run another text than the one checked.
        try terminal.type("ls \(target)/inner")
        try terminal.press("Enter")
        try terminal.type("rm -r !$")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("history expansion"), "\(terminal.screen())")
        #expect(try await answers(3), "\(terminal.screen())")

        // Ctrl-Left is backward-word in readline: a line model that took it for one
        // character would check another line than the one that runs (here `echo` became
        // `rm`, which the model would have placed elsewhere).
        let unseen = "the gateway cannot see the whole line"
        func refusals() -> Int { terminal.screen().components(separatedBy: unseen).count - 1 }
        try terminal.type("echo x -rf \(target)")
        try terminal.press("C-Left", "C-Left", "C-Left")
        try terminal.press("BSpace", "BSpace", "BSpace", "BSpace", "BSpace")
        try terminal.type("rm")
        try terminal.press("Enter")
        #expect(await terminal.waitFor(unseen), "\(terminal.screen())")
        #expect(try await answers(4), "\(terminal.screen())")
        #expect(refusals() == 1)
        #expect(FileManager.default.fileExists(atPath: target + "/inner/file"))

        // A paste holding a newline is one buffer for readline, run at the real Enter.
        try terminal.paste("echo pasted\nrm -rf \(target)")
        try terminal.press("Enter")
        #expect(try await answers(5), "\(terminal.screen())")
        #expect(refusals() >= 2 || terminal.screen().contains("recursive force delete is blocked"), "\(terminal.screen())")
        #expect(FileManager.default.fileExists(atPath: target + "/inner/file"), "\(terminal.screen())")

        // Plain typing still runs.
        try terminal.type("ls \(target)/inner && echo listed-$((6 * 7))")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("listed-42"), "\(terminal.screen())")
        try terminal.type("exit")
        try terminal.press("Enter")
        try? FileManager.default.removeItem(atPath: target)
        _ = await fixture.stop()
    }

    /// In a masked pty shell, what is typed shows as it is typed (the masker's held-back
    /// text goes out when output pauses), while a value printed in two halves with a pause
    /// between stays masked.
    @Test func aMaskedShellEchoesAsYouType() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let terminal = try TmuxSession.start(
            ["/usr/bin/sshpass", "-e", "/usr/bin/ssh"] + SSHGatewayFixture.clientOptions + ["-tt", "-p", "\(fixture.port)", "web@127.0.0.1"],
            environment: ["SSHPASS": try fixture.agentToken()]
        )
        defer { terminal.kill() }
        try terminal.type("echo ready-$((40 + 2))")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("ready-42", seconds: 15), "\(terminal.screen())")
        // Typed, not yet entered: the echo must be on the screen.
        try terminal.type("echo typed-abc")
        #expect(await terminal.waitFor("echo typed-abc", seconds: 5), "\(terminal.screen())")
        try terminal.press("C-u")
        try terminal.type("printf 'jane@exa'; sleep 0.5; printf 'mple.com\\n'; echo printed-$((6 * 7))")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("printed-42"), "\(terminal.screen())")
        let screen = terminal.screen()
        let output = screen.components(separatedBy: "printed-$((6 * 7))").last ?? screen
        #expect(!output.contains("jane@exa") && !output.contains("mple.com"), "\(screen)")
        // A pause after text that is no value yet sends it (prompts must not wait); when the
        // rest of a value follows, what was sent stays as context and the rest is masked
        // (fuzz-masking found it coming through whole).
        // (The typed line spells neither part whole, so only the output can show them.)
        try terminal.type("printf 'mail alice.s''m'; sleep 0.5; printf 'ith@exa''mple.com\\n'; echo paused-$((6 * 7))")
        try terminal.press("Enter")
        #expect(await terminal.waitFor("paused-42"), "\(terminal.screen())")
        let paused = terminal.screen().components(separatedBy: "paused-$((6 * 7))").last ?? ""
        #expect(!paused.contains("ith@example.com") && !paused.contains("example.com"), "\(terminal.screen())")
        #expect(paused.contains("mail alice.sm"), "what went out at the pause is on the screen: \(terminal.screen())")
        try terminal.type("exit")
        try terminal.press("Enter")
        _ = await fixture.stop()
    }

    /// `ssh -tt` with an input that is not a terminal asks for a 0×0 pty: the recording says
    /// 80×24, which players can size.
    @Test func aZeroSizedPtyIsRecordedAs80x24() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let result = try fixture.ssh("web", "echo sized", options: ["-tt"])
        #expect(result.output.contains("sized"), "\(result.output)")
        _ = await fixture.stop()
        let recordings = fixture.directory + "/recordings"
        let folders = try FileManager.default.contentsOfDirectory(atPath: recordings).filter { $0.hasPrefix("s-") }
        let header = folders.compactMap { folder -> String? in
            guard let data = FileManager.default.contents(atPath: recordings + "/" + folder + "/terminal.cast") else { return nil }
            return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
        }.first ?? ""
        #expect(header.contains("\"width\":80") && header.contains("\"height\":24"), "\(header)")
    }
}
