/// What an exec stream carries, whatever its transport (a WebSocket subprotocol, SPDY/3.1): the
/// relay reads and writes these, each side's codec turns them into its protocol's messages.
public enum KubeStreamEvent: Sendable, Equatable {
    /// One channel's bytes (an error channel's `Status` arrives whole).
    case data(KubeStreamFrame)
    /// That channel is done in this direction (v5's close signal, a SPDY stream's FIN).
    case end(KubeStreamChannel)
    /// Every stream the exec needs is open: data can flow (SPDY: the client opened them all,
    /// or the server answered all the gateway opened; WebSocket: at the upgrade).
    case ready
    /// The peer ends the whole connection in order (a WebSocket close, a SPDY GOAWAY); written,
    /// the codec ends it on this side.
    case finish
}
