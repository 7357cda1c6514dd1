import Foundation
import GatewayTesting
import Testing

/// What a gateway creates on disk is readable by its own user only: recordings hold query
/// results and terminal streams, the state store holds every audit event, the host key is the
/// gateway's identity. Folders 0700, files 0600 (the public half of a key aside).
@Suite("Owner-only files")
struct OwnerOnlyFilesTests {
    static func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
    }

    @Test func recordingsStateAndHostKeyAreOwnerOnly() async throws {
        let fixture = try await SSHGatewayFixture.start()
        let result = try fixture.ssh("web", "echo recorded")
        #expect(result.output.contains("recorded"), "\(result.output)")
        #expect(await fixture.stop() == 0)

        let recordings = fixture.directory + "/recordings"
        #expect(Self.mode(recordings) == 0o700)
        let sessions = try FileManager.default.contentsOfDirectory(atPath: recordings).filter { !$0.hasPrefix(".") }
        #expect(!sessions.isEmpty)
        for session in sessions {
            let folder = recordings + "/" + session
            #expect(Self.mode(folder) == 0o700, "\(session)")
            for file in try FileManager.default.contentsOfDirectory(atPath: folder) {
                #expect(Self.mode(folder + "/" + file) == 0o600, "\(session)/\(file): \(String(Self.mode(folder + "/" + file) ?? 0, radix: 8))")
            }
        }
        let state = try FileManager.default.contentsOfDirectory(atPath: fixture.directory).filter { $0.hasPrefix("state.sqlite") }
        #expect(state.contains("state.sqlite"))
        for file in state {
            #expect(Self.mode(fixture.directory + "/" + file) == 0o600, "\(file): \(String(Self.mode(fixture.directory + "/" + file) ?? 0, radix: 8))")
        }
        #expect(Self.mode(fixture.directory + "/gateway_host_key") == 0o600)
    }
}
