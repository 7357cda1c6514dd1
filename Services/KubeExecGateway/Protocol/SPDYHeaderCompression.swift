import CZlib

/// The header blocks of one SPDY/3 connection, one direction each: a single zlib stream per
/// direction for the connection's life (state carries across frames), seeded with the SPDY/3
/// dictionary, each block flushed with Z_SYNC_FLUSH. Blocks are name/value pairs behind 32-bit
/// lengths; a value with several parts separates them with NUL.
///
/// Not `Sendable`: one per connection, used on its event loop.
public final class SPDYHeaderCompression {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Bound on a decompressed block: a peer cannot make the gateway inflate without limit.
    public static let maximumBlock = 256 << 10

    private var deflater = z_stream()
    private var inflater = z_stream()
    private var inflaterNeedsDictionary = true

    public init() throws(Failure) {
        guard deflateInit_(&deflater, Z_DEFAULT_COMPRESSION, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK,
              inflateInit_(&inflater, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Failure(description: "zlib could not be initialised")
        }
        let dictionary = SPDYDictionary.bytes
        let status = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&deflater, $0.baseAddress, UInt32($0.count)) }
        guard status == Z_OK else { throw Failure(description: "zlib refused the SPDY dictionary") }
    }

    deinit {
        deflateEnd(&deflater)
        inflateEnd(&inflater)
    }

    /// The compressed block for `headers` (names lowercased, as SPDY/3 wants them).
    public func compress(_ headers: [(String, String)]) throws(Failure) -> [UInt8] {
        var plain: [UInt8] = []
        Self.append(UInt32(headers.count), to: &plain)
        for (name, value) in headers {
            let name = Array(name.lowercased().utf8)
            let value = Array(value.utf8)
            Self.append(UInt32(name.count), to: &plain)
            plain += name
            Self.append(UInt32(value.count), to: &plain)
            plain += value
        }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var status: Int32 = Z_OK
        plain.withUnsafeMutableBufferPointer { input in
            deflater.next_in = input.baseAddress
            deflater.avail_in = UInt32(input.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { buffer in
                    deflater.next_out = buffer.baseAddress
                    deflater.avail_out = UInt32(buffer.count)
                    status = deflate(&deflater, Z_SYNC_FLUSH)
                    out += buffer[0..<(buffer.count - Int(deflater.avail_out))]
                }
            } while status == Z_OK && deflater.avail_out == 0
            deflater.next_in = nil
        }
        guard status == Z_OK || status == Z_BUF_ERROR else { throw Failure(description: "zlib could not compress a header block (\(status))") }
        return out
    }

    /// The name/value pairs of a compressed block (names as sent; several values of one name
    /// split at NUL).
    public func decompress(_ block: [UInt8]) throws(Failure) -> [(String, String)] {
        var plain: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var input = block
        var failure: Failure?
        input.withUnsafeMutableBufferPointer { input in
            inflater.next_in = input.baseAddress
            inflater.avail_in = UInt32(input.count)
            while inflater.avail_in > 0 || inflater.avail_out == 0 {
                var status: Int32 = Z_OK
                chunk.withUnsafeMutableBufferPointer { buffer in
                    inflater.next_out = buffer.baseAddress
                    inflater.avail_out = UInt32(buffer.count)
                    status = inflate(&inflater, Z_SYNC_FLUSH)
                    plain += buffer[0..<(buffer.count - Int(inflater.avail_out))]
                }
                if status == Z_NEED_DICT && inflaterNeedsDictionary {
                    inflaterNeedsDictionary = false
                    let dictionary = SPDYDictionary.bytes
                    guard dictionary.withUnsafeBufferPointer({ inflateSetDictionary(&inflater, $0.baseAddress, UInt32($0.count)) }) == Z_OK else {
                        failure = Failure(description: "the header block's dictionary is not SPDY/3's")
                        break
                    }
                    continue
                }
                if status == Z_BUF_ERROR { break }
                guard status == Z_OK || status == Z_STREAM_END else {
                    failure = Failure(description: "a header block that does not inflate (\(status))")
                    break
                }
                if plain.count > Self.maximumBlock {
                    failure = Failure(description: "a header block larger than \(Self.maximumBlock >> 10) KiB")
                    break
                }
                if inflater.avail_in == 0 && inflater.avail_out != 0 { break }
            }
            inflater.next_in = nil
        }
        if let failure { throw failure }
        return try Self.pairs(of: plain)
    }

    static func pairs(of plain: [UInt8]) throws(Failure) -> [(String, String)] {
        var index = 0
        func number() throws(Failure) -> Int {
            guard index + 4 <= plain.count else { throw Failure(description: "a truncated header block") }
            defer { index += 4 }
            return Int(plain[index]) << 24 | Int(plain[index + 1]) << 16 | Int(plain[index + 2]) << 8 | Int(plain[index + 3])
        }
        func text() throws(Failure) -> String {
            let count = try number()
            guard count <= plain.count - index else { throw Failure(description: "a truncated header block") }
            defer { index += count }
            return String(decoding: plain[index..<index + count], as: UTF8.self)
        }
        let count = try number()
        guard count <= plain.count / 8 + 1 else { throw Failure(description: "a header block that claims \(count) headers") }
        var pairs: [(String, String)] = []
        for _ in 0..<count {
            let name = try text()
            for value in try text().split(separator: "\0", omittingEmptySubsequences: false) { pairs.append((name, String(value))) }
        }
        return pairs
    }

    static func append(_ value: UInt32, to out: inout [UInt8]) {
        out += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
