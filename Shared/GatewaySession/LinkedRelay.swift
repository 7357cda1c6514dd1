/// A relay endpoint whose two sides are one `RelayLink`: a read's output leaves when the read
/// ends, and each side's back-pressure stops the other side's reads.
public protocol LinkedRelay: RelayEndpoint {
    associatedtype ClientOutput: RelayOutput
    associatedtype UpstreamOutput: RelayOutput
    var link: RelayLink<ClientOutput, UpstreamOutput> { get }
}

extension LinkedRelay {
    @inlinable public func readComplete(from side: RelaySide) {
        switch side {
        case .client: link.flushUpstream()
        case .upstream: link.flushClient()
        }
    }

    @inlinable public func writabilityChanged(_ writable: Bool, on side: RelaySide) {
        switch side {
        case .client: link.clientWritabilityChanged(writable)
        case .upstream: link.upstreamWritabilityChanged(writable)
        }
    }
}
