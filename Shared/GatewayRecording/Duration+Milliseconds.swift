extension Duration {
    /// The duration in milliseconds, as recordings write `duration_ms`.
    public var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
