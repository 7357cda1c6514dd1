import Logging
import ServiceLifecycle

/// On graceful shutdown, ends every session in flight (each seals its recording) before
/// the process exits.
struct SessionDrain: Service {
    let sessions: SessionRegistry
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        let count = sessions.count
        if count > 0 {
            logger.info("draining sessions", metadata: ["gateway.sessions": "\(count)"])
            await sessions.terminateAll(reason: "the gateway is shutting down")
        }
    }
}
