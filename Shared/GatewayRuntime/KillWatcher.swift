import GatewayState
import Logging
import ServiceLifecycle

/// Ends local sessions that another instance asked to kill through the shared store.
struct KillWatcher: Service {
    let store: any StateStore
    let registry: SessionRegistry
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await watch() }
    }

    private func watch() async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: interval)
            let local = Set(registry.ids)
            guard !local.isEmpty, let active = try? await store.sessions(status: .active) else { continue }
            for session in active where session.killRequested && local.contains(session.id) {
                logger.info("ending session killed through the admin API", metadata: ["gateway.session_id": "\(session.id)"])
                await registry.terminate(session.id, reason: "killed by an administrator")
            }
        }
    }
}
