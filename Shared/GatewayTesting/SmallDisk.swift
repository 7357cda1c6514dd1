import Foundation

/// A small tmpfs mounted for one test, to run a gateway's recordings on a disk that fills up
/// for real (ENOSPC from the kernel, not a simulated error). Needs root (`mount`); `available`
/// says whether this machine can.
public final class SmallDisk: Sendable {
    public let path: String

    public static var available: Bool { getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/bin/mount") }

    /// Mounts a tmpfs of `size` (as mount's `size=`: "2m") at a new folder.
    public init(size: String) throws {
        path = NSTemporaryDirectory() + "gateway-small-disk-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try ProcessRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", path])
    }

    /// Writes a filler file until the disk refuses more: every later write there fails with
    /// ENOSPC, except into space allocated before.
    public func fill() {
        let filler = path + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: filler) else { return }
        defer { try? handle.close() }
        let block = Data(count: 4096)
        while (try? handle.write(contentsOf: block)) != nil {}
    }

    /// Bytes still free.
    public var freeBytes: Int {
        ((try? FileManager.default.attributesOfFileSystem(forPath: path))?[.systemFreeSize] as? Int) ?? 0
    }

    /// Removes the filler: the disk has room again.
    public func free() {
        try? FileManager.default.removeItem(atPath: path + "/filler")
    }

    public func unmount() {
        _ = try? ProcessRunner.run("/bin/umount", ["-l", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}
