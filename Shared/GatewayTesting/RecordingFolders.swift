import Foundation

/// The session folders (`s-…`) of a recordings directory, and which of them are sealed, for
/// tests that wait for a gateway to seal what it recorded.
public enum RecordingFolders {
    /// Every session folder's path.
    public static func sessions(in root: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { $0.hasPrefix("s-") }.sorted().map { root + "/" + $0 }
    }

    /// The session folders whose seal is written.
    public static func sealed(in root: String) -> [String] {
        sessions(in: root).filter(isSealed)
    }

    /// True when there is a session folder and every one has its seal.
    public static func allSealed(in root: String) -> Bool {
        let folders = sessions(in: root)
        return !folders.isEmpty && folders.allSatisfy(isSealed)
    }

    public static func isSealed(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: folder + "/seal.json")
    }
}
