#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import GatewayRecording
import GatewayTesting
import Testing

@Suite("Session recorder")
struct SessionRecorderTests {
    static func directory() -> String {
        let path = NSTemporaryDirectory() + "gateway-rec-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func meta(_ id: String = "s-test-\(UUID().uuidString.prefix(6))") -> RecordingMeta {
        RecordingMeta(sessionID: id, service: "ssh-gateway", connection: "web-1", identity: .init(sub: "agent-1", email: "agent@example.com", groups: ["agents"]), clientAddress: "127.0.0.1:40000", command: "bash")
    }

    func lines(_ path: String) -> [String] {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// What the recorder's fsync saw: whether recording would have waited, and the lines on disk.
    final class SyncProbe: @unchecked Sendable {
        let lock = NSLock()
        var recorder: SessionRecorder?
        var busy: [Bool] = []
        var synced: [Int32] = []

        func fileSync(_ descriptor: Int32) {
            lock.lock()
            let recorder = self.recorder
            lock.unlock()
            let isBusy = recorder?.isBusyForTesting ?? true
            // A line recorded while the fsync runs (as the relay's event loop would) must not wait.
            lock.lock()
            let first = synced.isEmpty
            lock.unlock()
            if !isBusy, first { recorder?.record(RecordingEvent(type: .note, detail: "during the fsync")) }
            _ = fsync(descriptor)
            lock.lock()
            busy.append(isBusy)
            synced.append(descriptor)
            lock.unlock()
        }
    }

    @Test("the once-a-second fsync runs outside the recorder's lock: recording goes on meanwhile, and nothing is lost")
    func fsyncOutsideTheLock() throws {
        let probe = SyncProbe()
        let recorder = try SessionRecorder(directory: Self.directory(), meta: Self.meta(), terminal: nil, signer: nil, fileSync: probe.fileSync)
        probe.lock.lock()
        probe.recorder = recorder
        probe.lock.unlock()
        recorder.record(RecordingEvent(type: .query, command: "SELECT 1", decision: "allow"))
        recorder.sync()
        recorder.sync()  // the line recorded during the first fsync
        recorder.sync()  // nothing written since: no fsync
        recorder.record(RecordingEvent(type: .query, command: "SELECT 2", decision: "allow"))
        _ = try recorder.finish()
        probe.lock.lock()
        defer { probe.lock.unlock() }
        #expect(probe.busy == [false, false], "two fsyncs, each with the recorder's lock free")
        let written = lines(recorder.folder + "/events.jsonl")
        #expect(written.count == 3)
        #expect(written[0].contains("SELECT 1") && written[1].contains("during the fsync") && written[2].contains("SELECT 2"))
    }

    @Test func writesAndSealsATerminalSession() throws {
        let dir = Self.directory()
        let recorder = try SessionRecorder(directory: dir, meta: Self.meta(), terminal: TerminalInfo(width: 120, height: 40, command: "bash", term: "xterm"))
        recorder.record(RecordingEvent(type: .command, command: "ls -la", decision: "allow"))
        recorder.input(Array("ls\r".utf8))
        // "é" (0xC3 0xA9) split across two writes must arrive whole.
        recorder.output([0x63, 0x61, 0x66, 0xC3])
        recorder.output([0xA9, 0x0D, 0x0A])
        recorder.resize(width: 100, height: 30)
        recorder.record(RecordingEvent(type: .exit, exitStatus: 0))
        let seal = try #require(try recorder.finish())
        #expect(try recorder.finish() == nil)
        #expect(Set(seal.files.keys) == ["meta.json", "events.jsonl", "terminal.cast"])

        let folder = recorder.folder
        let cast = lines(folder + "/terminal.cast")
        let header = try #require(try JSONSerialization.jsonObject(with: Data(cast[0].utf8)) as? [String: Any])
        #expect(header["version"] as? Int == 2)
        #expect(header["width"] as? Int == 120)
        #expect(header["height"] as? Int == 40)
        #expect(header["command"] as? String == "bash")
        let events = try cast.dropFirst().map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any]) }
        #expect(events.map { $0[1] as? String } == ["i", "o", "o", "r"])
        #expect(events[1][2] as? String == "caf")
        #expect(events[2][2] as? String == "é\r\n")
        #expect(events[3][2] as? String == "100x30")

        let recorded = try lines(folder + "/events.jsonl").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(recorded.map { $0["type"] as? String } == ["command", "exit"])
        #expect(recorded[0]["command"] as? String == "ls -la")

        let meta = try #require(try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: folder + "/meta.json")!) as? [String: Any])
        #expect(meta["status"] as? String == "ended")
        #expect(meta["end"] != nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/.recording.lock"))

        let report = try RecordingVerifier.verify(folder: folder)
        #expect(!report.signed)
    }

    @Test(arguments: ["events.jsonl", "terminal.cast", "meta.json"])
    func oneAlteredByteFailsVerification(_ file: String) throws {
        let dir = Self.directory()
        let recorder = try SessionRecorder(directory: dir, meta: Self.meta(), terminal: TerminalInfo())
        recorder.record(RecordingEvent(type: .query, command: "SELECT email FROM users", rows: 3))
        recorder.output(Array("hello\r\n".utf8))
        try recorder.finish()
        let path = recorder.folder + "/" + file
        var data = try #require(FileManager.default.contents(atPath: path))
        data[data.count / 2] ^= 0x01
        try data.write(to: URL(fileURLWithPath: path))
        #expect {
            try RecordingVerifier.verify(folder: recorder.folder)
        } throws: { error in
            (error as? RecordingVerifier.Problem)?.file == file
        }
    }

    @Test func addedOrRemovedFileFails() throws {
        let recorder = try SessionRecorder(directory: Self.directory(), meta: Self.meta())
        try recorder.finish()
        try Data("x".utf8).write(to: URL(fileURLWithPath: recorder.folder + "/extra.txt"))
        #expect(throws: RecordingVerifier.Problem.self) { try RecordingVerifier.verify(folder: recorder.folder) }
        try FileManager.default.removeItem(atPath: recorder.folder + "/extra.txt")
        _ = try RecordingVerifier.verify(folder: recorder.folder)
        try FileManager.default.removeItem(atPath: recorder.folder + "/events.jsonl")
        #expect(throws: RecordingVerifier.Problem.self) { try RecordingVerifier.verify(folder: recorder.folder) }
    }

    /// With a trusted key, an unsigned seal (which anyone can write to match altered files) fails.
    @Test func unsignedSealFailsWhenASignatureIsRequired() throws {
        let recorder = try SessionRecorder(directory: Self.directory(), meta: Self.meta())
        recorder.record(RecordingEvent(type: .query, command: "SELECT 1"))
        try recorder.finish()
        #expect(try !RecordingVerifier.verify(folder: recorder.folder).signed)
        #expect {
            try RecordingVerifier.verify(folder: recorder.folder, trusting: [RecordingSigner(key: .init()).publicKeyBase64])
        } throws: { error in
            (error as? RecordingVerifier.Problem)?.description == "seal.json: not signed, but a signature was required"
        }
    }

    @Test func signedSeal() throws {
        let signer = try RecordingSigner(pem: RecordingSigner(key: .init()).pemRepresentation)
        let recorder = try SessionRecorder(directory: Self.directory(), meta: Self.meta(), signer: signer)
        recorder.record(RecordingEvent(type: .query, command: "SELECT 1"))
        try recorder.finish()
        let report = try RecordingVerifier.verify(folder: recorder.folder, trusting: [signer.publicKeyBase64])
        #expect(report.signed)
        // Another key is not trusted.
        let stranger = RecordingSigner(key: .init())
        #expect(throws: RecordingVerifier.Problem.self) { try RecordingVerifier.verify(folder: recorder.folder, trusting: [stranger.publicKeyBase64]) }
        // After a rotation both keys are trusted: a seal by either verifies.
        #expect(try RecordingVerifier.verify(folder: recorder.folder, trusting: [stranger.publicKeyBase64, signer.publicKeyBase64]).signed)
        // Rewriting a digest in the seal breaks the signature.
        let sealPath = recorder.folder + "/seal.json"
        var seal = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: sealPath)!) as! [String: Any]
        seal["recovered"] = true
        try JSONSerialization.data(withJSONObject: seal).write(to: URL(fileURLWithPath: sealPath))
        #expect {
            try RecordingVerifier.verify(folder: recorder.folder)
        } throws: { error in
            (error as? RecordingVerifier.Problem)?.reason.contains("signature") == true
        }
    }

    @Test func opensslKeyIsAccepted() throws {
        guard let openssl = ProcessRunner.find("openssl") else {
            #expect(ProcessInfo.processInfo.environment["GATEWAY_REQUIRE_PEERS"] == nil, "openssl is required in CI")
            return
        }
        let path = Self.directory() + "/signing.pem"
        try ProcessRunner.run(openssl, ["genpkey", "-algorithm", "ed25519", "-out", path])
        _ = try RecordingSigner(pemFile: path)
    }

    @Test func recorderKilledMidWriteIsRecovered() async throws {
        let helper = try #require(HelperBinary.path("gateway-test-helper"), "gateway-test-helper not built")
        let dir = Self.directory()
        let session = "s-crash-\(UUID().uuidString.prefix(6))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: helper)
        process.arguments = ["record-until-killed", dir, session]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let folder = dir + "/" + session
        // Wait until it has written a good part.
        for _ in 0..<100 {
            if (try? FileManager.default.attributesOfItem(atPath: folder + "/events.jsonl")[.size] as? Int) ?? 0 > 8000 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: folder + "/seal.json"))

        // Simulate a torn write: a half line at the end.
        let events = FileHandle(forWritingAtPath: folder + "/events.jsonl")!
        _ = try events.seekToEnd()
        try events.write(contentsOf: Data("{\"type\":\"query\",\"comm".utf8))
        try events.close()

        let recovered = RecordingRecovery.recover(directory: dir, signer: nil)
        #expect(recovered == [session])
        let report = try RecordingVerifier.verify(folder: folder)
        #expect(report.seal.recovered)
        #expect(report.files.contains("events.jsonl.partial"))
        for line in lines(folder + "/events.jsonl") {
            #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        }
        let meta = try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: folder + "/meta.json")!) as! [String: Any]
        #expect(meta["status"] as? String == "recovered")
        #expect(meta["recovered"] as? Bool == true)
        // A second start has nothing more to do.
        #expect(RecordingRecovery.recover(directory: dir, signer: nil).isEmpty)
    }

    @Test func liveRecordingIsNotRecovered() throws {
        let dir = Self.directory()
        let recorder = try SessionRecorder(directory: dir, meta: Self.meta())
        recorder.record(RecordingEvent(type: .query, command: "SELECT 1"))
        #expect(RecordingRecovery.recover(directory: dir, signer: nil).isEmpty)
        try recorder.finish()
        _ = try RecordingVerifier.verify(folder: recorder.folder)
    }

    @Test func asciinemaReadsTheCast() throws {
        guard let asciinema = ProcessRunner.find("asciinema") else {
            #expect(ProcessInfo.processInfo.environment["GATEWAY_REQUIRE_PEERS"] == nil, "asciinema is required in CI")
            return
        }
        let recorder = try SessionRecorder(directory: Self.directory(), meta: Self.meta(), terminal: TerminalInfo(width: 80, height: 24, command: "bash"))
        recorder.output(Array("\u{1B}[1;32m$\u{1B}[0m echo \"quoted\" \\ back\r\nquoted\r\n".utf8))
        try recorder.finish()
        // asciinema wants a terminal: script(1) gives it a pseudo-terminal.
        let output = try ProcessRunner.run("/usr/bin/script", ["-qec", "\(asciinema) play -i 0.1 \(recorder.folder)/terminal.cast", "/dev/null"])
        #expect(output.contains("quoted"))
    }
}

@Suite("Recording event lines")
struct RecordingEventLineTests {
    @Test func handWrittenLineDecodesLikeTheCodableForm() throws {
        let event = RecordingEvent(
            type: .result, time: Date(timeIntervalSince1970: 1_795_950_000.125), command: "SELECT \"x\"\n\t\\ é", decision: "allow",
            rule: "r", reviewID: "r-1", rows: 3, durationMS: 1.2345, error: "e", exitStatus: 0, signal: "TERM",
            masked: ["EMAIL": 2, "CREDIT_CARD": 1], columns: ["a", "b"], values: [["1", nil]], detail: "SELECT 3"
        )
        let line = Data(event.jsonLine())
        let object = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        #expect(object["command"] as? String == "SELECT \"x\"\n\t\\ é")
        #expect(object["time"] as? String == "2026-11-29T11:00:00.125Z")
        #expect(object["rows"] as? Int == 3)
        #expect((object["masked"] as? [String: Int])?["EMAIL"] == 2)
        #expect((object["values"] as? [[Any]])?.first?.count == 2)
        let decoded = try RecordingCoding.decoder().decode(RecordingEvent.self, from: line)
        #expect(decoded.command == event.command)
        #expect(decoded.durationMS == 1.235)
        #expect(decoded.signal == "TERM")
    }
}
