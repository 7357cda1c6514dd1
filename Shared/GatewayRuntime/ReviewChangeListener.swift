import GatewayState
import ServiceLifecycle

/// Forwards the store's review-change pushes (LISTEN/NOTIFY on PostgreSQL) to the watcher,
/// so a held client hears of a decision made on any instance without waiting for a poll.
struct ReviewChangeListener: Service {
    let store: any StateStore
    let watcher: ReviewWatcher

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await store.watchReviewChanges { id in await watcher.nudge(id) }
        }
    }
}
