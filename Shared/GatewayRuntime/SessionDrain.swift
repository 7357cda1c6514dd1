import Logging
import ServiceLifecycle

/// On graceful shutdown, ends every session in flight and waits until each has sealed its
/// recording and audited its end (sessions already ending on their own included) before the
/// process exits. Shut down after the listeners, so no session starts meanwhile.
struct SessionDrain: Service {
    let sessions: SessionRegistry
    let logger: Logger
    var timeout: Duration = .seconds(10)

    func run() async throws {
        try? await gracefulShutdown()
        await drain()
    }

    func drain() async {
        let count = sessions.count
        guard count > 0 else { return }
        logger.info("draining sessions", metadata: ["gateway.sessions": "\(count)"])
        await sessions.terminateAll(reason: "the gateway is shutting down")
        let left = await sessions.waitUntilEmpty(timeout: timeout)
        if left > 0 {
            logger.error("sessions still ending when the drain gave up; their recordings are sealed by recovery at the next start", metadata: ["gateway.sessions": "\(left)"])
        }
    }
}
