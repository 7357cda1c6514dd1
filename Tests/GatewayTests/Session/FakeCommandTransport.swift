import GatewaySession
import NIOCore

/// A command channel's protocol side for in-process tests: it writes down every call the
/// driver makes, in order, with the bytes each way (client output per stream as text).
final class FakeCommandTransport: CommandChannelTransport {
    enum Call: Equatable {
        case replyToStart(Bool)
        case openUpstream, startUpstream
        case sendUpstream(String)
        case closeUpstreamOutput, closeUpstream
        case toClient(String, OutputMasking.Stream)
        case pauseReads, resumeReads
        case exit(CommandChannelStateMachine.Exit?)
    }

    private(set) var calls: [Call] = []
    var clientIsConnected = true

    func replyToStart(_ success: Bool) { calls.append(.replyToStart(success)) }
    func openUpstream() { calls.append(.openUpstream) }
    func startUpstream() { calls.append(.startUpstream) }
    func inputArrived(_ input: ByteBuffer) {}
    func sendUpstream(_ input: ByteBuffer) { calls.append(.sendUpstream(String(buffer: input))) }
    func closeUpstreamOutput() { calls.append(.closeUpstreamOutput) }
    func closeUpstream() { calls.append(.closeUpstream) }
    func sendToClient(_ output: ByteBuffer, stream: OutputMasking.Stream) { calls.append(.toClient(String(buffer: output), stream)) }
    func flushClient() {}
    func flushUpstream() {}
    func pauseClientReads() { calls.append(.pauseReads) }
    func resumeClientReads() { calls.append(.resumeReads) }
    func sendExit(_ exit: CommandChannelStateMachine.Exit?) { calls.append(.exit(exit)) }
    var clientConnected: @Sendable () -> Bool { { true } }

    /// Everything the client saw on `stream`, joined.
    func client(_ stream: OutputMasking.Stream) -> String {
        calls.compactMap { if case .toClient(let text, stream) = $0 { text } else { nil } }.joined()
    }

    /// Everything sent to the target, joined.
    var upstream: String {
        calls.compactMap { if case .sendUpstream(let text) = $0 { text } else { nil } }.joined()
    }

    func index(of call: Call) -> Int? { calls.firstIndex(of: call) }
}
