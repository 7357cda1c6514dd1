#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file written only at its end, with a bounded in-memory buffer and explicit fsync.
/// Not thread-safe: `SessionRecorder` serialises access.
final class AppendingFile {
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit: Int
    private(set) var dirty = false

    init(path: String, bufferLimit: Int = 64 * 1024) throws {
        self.path = path
        self.bufferLimit = bufferLimit
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RecordingError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        descriptor = fd
    }

    func append(_ bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= bufferLimit { try writeBuffer() }
    }

    /// Lets `build` append straight into the buffer (no intermediate array).
    func append(building build: (inout [UInt8]) -> Void) throws {
        build(&buffer)
        if buffer.count >= bufferLimit { try writeBuffer() }
    }

    /// Writes the buffer to the kernel (no fsync). When the kernel refuses part of it (a full
    /// disk), what was written leaves the buffer and the rest stays: a later call writes
    /// only what is missing.
    func writeBuffer() throws {
        guard !buffer.isEmpty else { return }
        var failure: Int32 = 0
        let written = buffer.withUnsafeBytes { raw -> Int in
            var offset = 0
            while offset < raw.count {
                let count = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                offset += count
            }
            return offset
        }
        if written > 0 { dirty = true }
        if failure != 0 {
            buffer.removeFirst(written)
            throw RecordingError.io("cannot write \(path): \(String(cString: strerror(failure)))")
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Bytes appended and not yet handed to the kernel.
    var pendingCount: Int { buffer.count }

    /// Writes the buffer to the kernel and hands back the descriptor to fsync when anything was
    /// written since the last sync (counted as synced from here): for a caller that fsyncs it
    /// outside its lock. The descriptor stays open until `close`, which the caller keeps from
    /// running meanwhile.
    func prepareSync() throws -> Int32? {
        try writeBuffer()
        guard dirty else { return nil }
        dirty = false
        return descriptor
    }

    /// Writes and fsyncs.
    func sync() throws {
        if let descriptor = try prepareSync() { fsync(descriptor) }
    }

    func close() throws {
        try sync()
        _ = Glibc.close(descriptor)
    }
}
