import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP client for hostile-input tests: connect, send what a well-behaved
/// client never would (or nothing), and read what the gateway answers, each read bounded by a
/// timeout so a test never hangs on a gateway that keeps silent.
public final class RawTCPClient {
    let fd: Int32

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(port: Int, host: String = "127.0.0.1") throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard connected else {
            close(fd)
            throw Failure(description: "could not connect to \(host):\(port)")
        }
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send failed (errno \(errno))") }
            sent += written
        }
    }

    /// Half-closes: the peer reads end-of-file, and can still answer.
    public func shutdownWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// The first bytes that arrive within `seconds` (empty when none did); `closed` when the
    /// peer closed instead.
    public func readSome(seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(max(1, seconds * 1000))) > 0 else { return ([], false) }
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count <= 0 { return ([], true) }
        return (Array(buffer[0..<count]), false)
    }

    /// What arrives until the peer closes or `seconds` pass without more; `closed` says which.
    public func read(seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let wait = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, wait) > 0 else { break }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { return (out, true) }
            out += buffer[0..<count]
        }
        return (out, false)
    }

    /// A PostgreSQL StartupMessage (protocol 3.0) with these parameters.
    public static func postgresStartup(_ parameters: [(String, String)]) -> [UInt8] {
        var body: [UInt8] = [0, 3, 0, 0]
        for (name, value) in parameters { body += Array(name.utf8) + [0] + Array(value.utf8) + [0] }
        body.append(0)
        let length = UInt32(body.count + 4)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + body
    }
}
