import Foundation
import GatewayTesting
import Testing

/// Spellings of `rm -rf` and of commands not known until run time, each sent as an exec
/// through a real ssh-gateway to a real sshd: every one is refused (exit 126) and the
/// directory it aims at is still there. The same commands through a connection without
/// rules do delete (the control).
@Suite("SSH bypass corpus against a real sshd")
struct SSHBypassCorpusTests {
    static let attempts: [String] = [
        "rm -rf TARGET",
        "rm -r -f TARGET",
        "rm -fr TARGET",
        "rm --recursive --force TARGET",
        "/bin/rm -Rf TARGET",
        "busybox rm -rf TARGET",
        "r''m -rf TARGET",
        "\\rm -rf TARGET",
        "rm $'-rf' TARGET",
        "sudo -n rm -rf TARGET",
        "env rm -rf TARGET",
        "true && rm -rf TARGET",
        "echo $(rm -rf TARGET)",
        "sh -c 'rm -rf TARGET'",
        "bash -c \"cd / && rm -rf TARGET\"",
        "eval 'rm -rf TARGET'",
        "find TARGET -delete",
        "find TARGET -exec rm -rf {} +",
        "echo TARGET | xargs rm -rf",
        "$(echo rm) -rf TARGET",
        "`echo rm` -rf TARGET",
        "R=rm; $R -rf TARGET",
        "rm${IFS}-rf${IFS}TARGET",
        "X=-rf; rm $X TARGET",
        "echo cm0gLXJmIFRBUkdFVA== | base64 -d | sh",
        "printf 'rm -rf TARGET' | bash",
        "python3 -c 'import shutil; shutil.rmtree(\"TARGET\")'",
        "sh <<'EOF'\nrm -rf TARGET\nEOF",
        "rm -rf \\\nTARGET",
        "bash",
    ]

    @Test func noAttemptDeletes() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let base = NSTemporaryDirectory() + "gateway-victims-\(UUID().uuidString.prefix(8))"
        for (index, attempt) in Self.attempts.enumerated() {
            let target = base + "/v\(index)"
            try FileManager.default.createDirectory(atPath: target + "/inner", withIntermediateDirectories: true)
            try Data("keep".utf8).write(to: URL(fileURLWithPath: target + "/inner/file"))
            // The base64 attempt names its target inside the encoding: give it one of its own.
            var command = attempt.replacingOccurrences(of: "TARGET", with: target)
            if attempt.contains("base64") {
                command = "echo \(Data("rm -rf \(target)".utf8).base64EncodedString()) | base64 -d | sh"
            }
            let stdin = base + "/stdin-\(index)"
            try Data("rm -rf \(target)\n".utf8).write(to: URL(fileURLWithPath: stdin))
            let result = try fixture.ssh("guarded", command, stdin: stdin)
            #expect(result.status == 126, "\(attempt): \(result.status) \(result.output)")
            #expect(result.output.contains("access gateway"), "\(attempt): \(result.output)")
            #expect(FileManager.default.fileExists(atPath: target + "/inner/file"), "\(attempt) deleted \(target)")
        }
        // Allowed commands still run, with their exit status.
        let allowed = try fixture.ssh("guarded", "ls \(base) >/dev/null && rm -r -- \(base)/stdin-0 && echo allowed-ran")
        #expect(allowed.output.contains("allowed-ran"), "\(allowed.output)")
        // The control: through a connection without rules, the same commands delete.
        let control = base + "/control"
        try FileManager.default.createDirectory(atPath: control + "/inner", withIntermediateDirectories: true)
        _ = try fixture.ssh("locked", "r''m -r -f \(control)")
        #expect(!FileManager.default.fileExists(atPath: control))
        try? FileManager.default.removeItem(atPath: base)
        #expect(await fixture.stop() == 0)
    }

    /// Output masking is not defeated by encoding, reversing or decorating the value: base64,
    /// xxd's hex, rev, sed 's/@/(at)/' and an escape sequence in the middle of it.
    @Test func outputMaskingSeesDecodedForms() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let command = #"echo jane@example.com | base64; echo jane@example.com | xxd -p; echo jane@example.com | rev; echo jane@example.com | sed 's/@/(at)/'; printf 'jane\033[0m@example.com\n'; echo plain-output-ok"#
        let result = try fixture.ssh("web", command)
        for forbidden in ["amFuZUBleGFtcGxlLmNvbQ", "6a616e65406578616d706c652e636f6d", "moc.elpmaxe@enaj", "jane(at)example", "example.com"] {
            #expect(!result.output.contains(forbidden), "\(forbidden): \(result.output)")
        }
        #expect(result.output.contains("plain-output-ok"), "\(result.output)")
        #expect(result.output.contains("[EMAIL]"), "\(result.output)")
        #expect(await fixture.stop() == 0)
    }
}
