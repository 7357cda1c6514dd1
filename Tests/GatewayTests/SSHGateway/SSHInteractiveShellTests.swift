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
}
