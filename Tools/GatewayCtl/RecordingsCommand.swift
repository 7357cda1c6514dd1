import ArgumentParser
import Foundation
import GatewayRecording

struct RecordingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recordings", abstract: "List, replay and verify session recordings.",
        subcommands: [List.self, Play.self, Verify.self]
    )

    /// A recording named by folder path (works offline) or by session id (through the admin API).
    static func isFolder(_ argument: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recordings, newest first.")
        @OptionGroup var options: AdminOptions
        @Option(help: "Read a recordings directory directly instead of asking a gateway.") var dir: String?

        func run() async throws {
            var entries: [[String: Any]] = []
            if let dir {
                let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted().reversed()
                for name in names {
                    let folder = (dir as NSString).appendingPathComponent(name)
                    guard let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent("meta.json")),
                          var meta = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
                    meta["sealed"] = FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(RecordingSeal.fileName))
                    entries.append(meta)
                }
                if options.json {
                    return Table.printJSON(try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys]))
                }
            } else {
                let data = try await options.client().get("/api/recordings")
                if options.json { return Table.printJSON(data) }
                entries = (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
            }
            Table.print(headers: ["SESSION", "SERVICE", "CONNECTION", "USER", "START", "STATUS", "SEALED", "HELD"], rows: entries.map { meta in
                let identity = meta["identity"] as? [String: Any]
                return [
                    meta["session_id"] as? String ?? "", meta["service"] as? String ?? "", meta["connection"] as? String ?? "",
                    (identity?["email"] as? String) ?? (identity?["sub"] as? String) ?? "", meta["start"] as? String ?? "",
                    meta["status"] as? String ?? "", (meta["sealed"] as? Bool ?? false) ? "yes" : "no",
                    RecordingsCommand.held(meta),
                ]
            })
        }
    }

    /// Where the recording is: this gateway's folder, the shared store, or both.
    static func held(_ meta: [String: Any]) -> String {
        switch (meta["location"] as? String, meta["stored"] as? Bool) {
        case ("store", _): "store"
        case ("local", true?): "local+store"
        case ("local", false?): "local (not yet in store)"
        default: "local"
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a recording against its seal; exits 1 naming the altered file.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "A recording folder (offline) or a session id (asks a gateway).") var recording: String
        @Option(name: .customLong("public-key"), help: "Require a signature by this base64 Ed25519 public key (repeatable: any of them).") var publicKeys: [String] = []

        func run() async throws {
            if RecordingsCommand.isFolder(recording) {
                do {
                    let report = try RecordingVerifier.verify(folder: recording, trusting: Set(publicKeys))
                    print("ok: \(report.files.count) files intact\(report.signed ? ", signature valid" : ", unsigned")\(report.seal.recovered ? " (recovered after a crash)" : "")")
                } catch {
                    FileHandle.standardError.write(Data("verification failed: \(error.description)\n".utf8))
                    throw ExitCode(1)
                }
                return
            }
            let data = try await options.client().get("/api/recordings/\(recording)")
            if options.json { Table.printJSON(data) }
            let body = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            let copies = body?["copies"] as? [[String: Any]] ?? []
            // The gateway pins its own trusted keys; --public-key pins the caller's too, on each
            // copy the gateway verified (one it did not is reported below, with its reason).
            for copy in copies where copy["verified"] as? Bool == true {
                if let problem = RecordingVerifier.signerProblem(copy["public_key"] as? String, trusting: Set(publicKeys)) {
                    FileHandle.standardError.write(Data("verification failed: \(copy["location"] as? String ?? "?") copy: \(problem)\n".utf8))
                    throw ExitCode(1)
                }
            }
            if body?["verified"] as? Bool == true {
                guard !options.json else { return }
                // One line per copy the gateway checked: its own folder, the shared store's.
                for copy in copies {
                    let location = copy["location"] as? String ?? "?"
                    if copy["checked"] as? Bool == false {
                        print("not checked: \(location) copy: \(copy["problem"] as? String ?? "")")
                    } else {
                        let files = (copy["files"] as? [String])?.count ?? 0
                        print("ok: \(location) copy, \(files) files intact\((copy["signed"] as? Bool ?? false) ? ", signature valid" : ", unsigned")")
                    }
                }
                if copies.isEmpty { print("ok: verified by the gateway\((body?["signed"] as? Bool ?? false) ? ", signature valid" : ", unsigned")") }
            } else {
                FileHandle.standardError.write(Data("verification failed: \(body?["problem"] as? String ?? "unknown")\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Play: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replay a recording in the terminal.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "A recording folder (offline) or a session id (asks a gateway).") var recording: String
        @Option(help: "Playback speed factor.") var speed: Double = 1
        @Option(name: .customLong("max-idle"), help: "Longest pause, in seconds.") var maxIdle: Double = 2
        @Flag(name: .customLong("no-wait"), help: "Print without pauses.") var noWait = false

        func run() async throws {
            var files: [String: Data] = [:]
            if RecordingsCommand.isFolder(recording) {
                for name in ["meta.json", "events.jsonl", "terminal.cast"] {
                    files[name] = FileManager.default.contents(atPath: (recording as NSString).appendingPathComponent(name))
                }
            } else {
                let client = try options.client()
                let body = try await client.getJSON("/api/recordings/\(recording)") as? [String: Any]
                for name in (body?["files"] as? [String] ?? []) where ["meta.json", "events.jsonl", "terminal.cast"].contains(name) {
                    files[name] = try await client.get("/api/recordings/\(recording)/files/\(name)")
                }
            }
            let player = RecordingPlayer(speed: noWait ? 0 : speed, maxIdle: maxIdle)
            try await player.play(files: files)
        }
    }
}
