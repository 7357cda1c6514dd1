import GatewayMasking
import NIOCore

/// The masking of a command's output streams (stdout and stderr of an SSH channel or a
/// Kubernetes exec stream), on the session's event loop. Each stream is masked as one text
/// however it is chunked; what could still grow into a value is held back. In a terminal the
/// held-back text is released after a short pause in output (an echoed keystroke, a
/// `Password:` prompt must not wait for the next output), the start of a value masked then
/// (`MaskingStream.flushAfterPause`). What was hidden is counted in the tally.
///
/// `@unchecked Sendable` only so the loop's scheduled flush can hold it weakly: used on
/// `eventLoop` only.
public final class OutputMasking: @unchecked Sendable {
    public enum Stream: Int, Sendable, CaseIterable {
        case stdout, stderr
    }

    /// How long output must pause before held-back text is released in a terminal.
    public static let pause = TimeAmount.milliseconds(40)

    private var streams: [MaskingStream]
    private let eventLoop: any EventLoop
    /// Whether a person watches the output as it comes (a pty): then pauses release text.
    private let interactive: Bool
    /// Where masked bytes go; `flushed` ends a batch of deliveries.
    private let deliver: (Stream, [UInt8]) -> Void
    private let flushed: () -> Void
    private var pauseFlush: Scheduled<Void>?
    public private(set) var tally: MaskingTally

    public init(
        engine: MaskingEngine, eventLoop: any EventLoop, interactive: Bool, tally: MaskingTally,
        deliver: @escaping (Stream, [UInt8]) -> Void, flushed: @escaping () -> Void
    ) {
        self.streams = Stream.allCases.map { _ in engine.makeStream() }
        self.eventLoop = eventLoop
        self.interactive = interactive
        self.tally = tally
        self.deliver = deliver
        self.flushed = flushed
    }

    /// Masks a chunk of `stream` and delivers what is safe to send.
    public func process(_ chunk: UnsafeRawBufferPointer, on stream: Stream) {
        let out = streams[stream.rawValue].process(chunk)
        if !out.isEmpty { deliver(stream, out) }
        schedulePauseFlush()
    }

    /// The end of output: everything held back is masked and delivered, its hits counted.
    public func flush() {
        pauseFlush?.cancel()
        pauseFlush = nil
        for stream in Stream.allCases {
            let out = streams[stream.rawValue].flush()
            if !out.isEmpty { deliver(stream, out) }
            tally.count(streams[stream.rawValue].takeHits())
        }
    }

    /// Audits what was masked since the last call as one `mask` decision on `command`;
    /// returns the counts for the recording.
    public func close(command: String?) -> [String: Int]? {
        tally.close(command: command)
    }

    private func schedulePauseFlush() {
        pauseFlush?.cancel()
        pauseFlush = nil
        guard interactive, streams.contains(where: { $0.heldCount > 0 }) else { return }
        pauseFlush = eventLoop.scheduleTask(in: Self.pause) { [weak self] in
            guard let self else { return }
            self.pauseFlush = nil
            for stream in Stream.allCases {
                let out = self.streams[stream.rawValue].flushAfterPause()
                if !out.isEmpty { self.deliver(stream, out) }
            }
            self.flushed()
        }
    }
}
