import Foundation

/// One fuzz input: the bytes libFuzzer made. Return 0; report a broken invariant with
/// `precondition`, which libFuzzer records as a crash with the input that caused it.
public typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzCallback
) -> CInt

/// The target's callback, set once by `runFuzzer` before libFuzzer starts.
nonisolated(unsafe) var registeredCallback: FuzzCallback?

/// libFuzzer's archive brings its own `main` (unused: SwiftPM links the executable's), which
/// names this symbol; it forwards to the target's callback.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    registeredCallback?(data, size) ?? 0
}

/// Enters libFuzzer's driver from the executable's own `main` (SwiftPM links an executable's
/// `main`, so libFuzzer's cannot be the entry point), with the process's arguments.
public func runFuzzer(_ callback: FuzzCallback) -> Never {
    registeredCallback = callback
    var arguments = CommandLine.argc
    var vector = CommandLine.unsafeArgv
    exit(runFuzzerDriver(&arguments, &vector, callback))
}

/// Writes `seeds` into the corpus folder named on the command line (the first argument that
/// is not a flag) when it is empty, so mutation starts from valid inputs (a signed token, a
/// configuration) the fuzzer would take long to find.
public func seedCorpus(_ seeds: [String: [UInt8]]) {
    guard let folder = CommandLine.arguments.dropFirst().first(where: { !$0.hasPrefix("-") }) else { return }
    let existing = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    guard existing.isEmpty else { return }
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    for (name, bytes) in seeds {
        FileManager.default.createFile(atPath: folder + "/seed-" + name, contents: Data(bytes))
    }
}

/// Splits `bytes` at points taken from the input itself, so chunking is fuzzed as well:
/// the first byte says how large the pieces are.
public func chunks(of bytes: ArraySlice<UInt8>, pattern: UInt8) -> [ArraySlice<UInt8>] {
    let size = Int(pattern % 17) + 1
    var pieces: [ArraySlice<UInt8>] = []
    var start = bytes.startIndex
    var step = 0
    while start < bytes.endIndex {
        // Sizes vary around `size` so boundaries fall everywhere, including single bytes.
        let length = max(1, (size + step * Int(pattern >> 4)) % (size * 3 + 1))
        let end = min(bytes.endIndex, start + length)
        pieces.append(bytes[start..<end])
        start = end
        step += 1
    }
    return pieces
}
