import GatewayState
import Logging

/// Migrates the state store at start, and again on readiness checks until it succeeds, so a
/// gateway started before its PostgreSQL store comes up becomes ready by itself.
actor StoreMigration {
    let store: any StateStore
    let logger: Logger
    private(set) var isDone = false
    private(set) var lastError: String?

    init(store: any StateStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func attempt() async {
        guard !isDone else { return }
        do {
            try await store.migrate()
            isDone = true
            lastError = nil
        } catch {
            lastError = "\(error)"
            logger.warning("state store not ready", metadata: ["gateway.error": "\(error)"])
        }
    }
}
