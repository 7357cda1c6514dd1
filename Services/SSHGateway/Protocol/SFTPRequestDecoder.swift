/// Reads the client's side of an SFTP session (draft-ietf-secsh-filexfer-02, the version
/// OpenSSH speaks) from the raw channel bytes, in whatever pieces they arrive, and reports the
/// file operations worth an audit event. The bytes themselves are relayed untouched; the
/// decoder only watches.
public struct SFTPRequestDecoder: Sendable {
    public struct Operation: Sendable, Equatable {
        /// open, remove, rename, mkdir, rmdir, setstat, symlink
        public var action: String
        public var path: String
        /// For open: the access mode (read, write, read+write, plus create/truncate/append);
        /// for rename and symlink: the second path.
        public var detail: String?
    }

    /// Requests larger than this are not decoded (writes of file data are skipped without
    /// being buffered); OpenSSH caps its packets at 256 KiB.
    static let maximumPacket = 256 * 1024 + 1024

    private var buffer: [UInt8] = []
    /// Bytes of a large packet (a WRITE) still to skip.
    private var skipping = 0
    /// After a framing error the stream is relayed but no longer decoded.
    public private(set) var gaveUp = false

    public init() {}

    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Operation] {
        guard !gaveUp else { return [] }
        var input = bytes[...]
        if skipping > 0 {
            let skipped = min(skipping, input.count)
            skipping -= skipped
            input = input.dropFirst(skipped)
        }
        buffer.append(contentsOf: input)
        var operations: [Operation] = []
        var start = 0
        while buffer.count - start >= 5 {
            let length = Int(buffer[start..<start + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let type = buffer[start + 4]
            guard length >= 1 else { gaveUp = true; buffer = []; return operations }
            if type == 6 /* WRITE */ || length > Self.maximumPacket {
                guard length <= 64 * 1024 * 1024 else { gaveUp = true; buffer = []; return operations }
                let available = buffer.count - start - 4
                if available >= length {
                    start += 4 + length
                    continue
                }
                skipping = length - available
                start = buffer.count
                break
            }
            guard buffer.count - start - 4 >= length else { break }
            let body = Array(buffer[(start + 5)..<(start + 4 + length)])
            start += 4 + length
            if let operation = Self.operation(type: type, body: body) { operations.append(operation) }
        }
        buffer.removeFirst(start)
        return operations
    }

    static func operation(type: UInt8, body: [UInt8]) -> Operation? {
        var reader = SSHWireReader(body)
        do {
            switch type {
            case 3:  // OPEN id filename pflags attrs
                _ = try reader.readUInt32()
                let path = try reader.readText()
                let flags = try reader.readUInt32()
                return Operation(action: "open", path: path, detail: openMode(flags))
            case 13, 14, 15, 9:  // REMOVE, MKDIR, RMDIR, SETSTAT
                _ = try reader.readUInt32()
                let path = try reader.readText()
                let action = [13: "remove", 14: "mkdir", 15: "rmdir", 9: "setstat"][type] ?? "?"
                return Operation(action: action, path: path, detail: nil)
            case 18, 20:  // RENAME old new, SYMLINK linkpath targetpath
                _ = try reader.readUInt32()
                let first = try reader.readText()
                let second = try reader.readText()
                return Operation(action: type == 18 ? "rename" : "symlink", path: first, detail: second)
            default:
                return nil
            }
        } catch {
            return nil
        }
    }

    static func openMode(_ flags: UInt32) -> String {
        var parts: [String] = []
        switch (flags & 0x1 != 0, flags & 0x2 != 0) {
        case (true, true): parts.append("read+write")
        case (false, true): parts.append("write")
        default: parts.append("read")
        }
        if flags & 0x4 != 0 { parts.append("append") }
        if flags & 0x8 != 0 { parts.append("create") }
        if flags & 0x10 != 0 { parts.append("truncate") }
        return parts.joined(separator: ",")
    }
}
