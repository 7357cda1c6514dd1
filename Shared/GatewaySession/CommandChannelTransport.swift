import NIOCore

/// What `CommandChannelDriver` needs from its protocol (an SSH session channel, a Kubernetes
/// exec stream): how the client's start is answered, how the target's channel is opened and
/// set up, how bytes travel each way, and how the exit is spoken. Called on the event loop.
public protocol CommandChannelTransport: AnyObject {
    /// Answers the client's start request (exec, shell, subsystem).
    func replyToStart(_ success: Bool)
    /// Opens the target's channel; the transport then reports `upstreamOpened()` or
    /// `upstreamFailed(_:)` to the driver.
    func openUpstream()
    /// Sets the opened channel up as the client asked and starts the command.
    func startUpstream()
    /// The client's input on its way to the target, before it is sent (for what the
    /// protocol observes in it: file operations, the recording of keystrokes).
    func inputArrived(_ input: ByteBuffer)
    /// Sends input to the target (queued until `flushUpstream`).
    func sendUpstream(_ input: ByteBuffer)
    /// The client's input ended: EOF to the target.
    func closeUpstreamOutput()
    func closeUpstream()
    /// Output to the client (queued until `flushClient`).
    func sendToClient(_ output: ByteBuffer, stream: OutputMasking.Stream)
    func flushClient()
    func flushUpstream()
    func pauseClientReads()
    func resumeClientReads()
    /// After everything written: the exit (status or signal), EOF, close.
    func sendExit(_ exit: CommandChannelStateMachine.Exit?)
    /// Whether the client is still there, asked from a review's task (a client that left
    /// cancels its review).
    var clientConnected: @Sendable () -> Bool { get }
}
