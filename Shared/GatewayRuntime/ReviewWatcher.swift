import Foundation
import GatewayState
import Logging

/// Waits for review decisions on behalf of every held session of this process with one loop:
/// each tick reads all watched reviews in one query, resumes the decided ones, and expires or
/// cancels the ones past their deadline or whose client went away. A held session costs a
/// dictionary entry and a suspended continuation, no task and no query of its own.
public actor ReviewWatcher {
    struct Waiter {
        var review: Review
        var isClientConnected: @Sendable () -> Bool
        var continuations: [CheckedContinuation<Review, Never>]
    }

    private let store: any StateStore
    private let interval: Duration
    private let logger: Logger
    private var waiters: [String: Waiter] = [:]
    private var loop: Task<Void, Never>?
    private var sleeper: Task<Void, Never>?

    public init(store: any StateStore, interval: Duration = .milliseconds(250), logger: Logger = Logger(label: "gateway.reviews")) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public var watchedCount: Int { waiters.count }

    /// Suspends until the review is approved, rejected, expired or cancelled.
    public func wait(for review: Review, isClientConnected: @escaping @Sendable () -> Bool) async -> Review {
        await withCheckedContinuation { continuation in
            if var existing = waiters[review.id] {
                existing.continuations.append(continuation)
                waiters[review.id] = existing
            } else {
                waiters[review.id] = Waiter(review: review, isClientConnected: isClientConnected, continuations: [continuation])
            }
            startLoopIfNeeded()
        }
    }

    /// A review changed somewhere (a push from the store): look now instead of at the next tick.
    public func nudge(_ reviewID: String) {
        guard waiters[reviewID] != nil else { return }
        sleeper?.cancel()
    }

    private func startLoopIfNeeded() {
        guard loop == nil else { return }
        loop = Task {
            while !Task.isCancelled {
                await self.pause()
                if await self.tick() { break }
            }
        }
    }

    private func pause() async {
        let sleeper = Task { [interval] in _ = try? await Task.sleep(for: interval) }
        self.sleeper = sleeper
        await sleeper.value
    }

    /// One pass; returns true (and ends the loop) when nothing is watched any more.
    private func tick() async -> Bool {
        guard !waiters.isEmpty else {
            loop = nil
            return true
        }
        let ids = Array(waiters.keys)
        let latest: [String: Review]
        do {
            latest = Dictionary(try await store.reviews(ids: ids).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        } catch {
            logger.warning("reviews could not be read", metadata: ["gateway.error": "\(error)"])
            return false
        }
        let now = Date()
        for id in ids {
            guard var waiter = waiters[id] else { continue }
            if let current = latest[id] { waiter.review = current }
            if waiter.review.status.isFinal {
                resume(id, with: waiter.review)
                continue
            }
            let closing: ReviewStatus? = now >= waiter.review.expiresAt ? .expired : waiter.isClientConnected() ? nil : .cancelled
            if let closing, let closed = ReviewDecision.close(waiter.review, as: closing, now: now) {
                if (try? await store.update(closed)) == true {
                    resume(id, with: closed)
                    continue
                }
            }
            waiters[id] = waiter
        }
        return false
    }

    private func resume(_ id: String, with review: Review) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        for continuation in waiter.continuations { continuation.resume(returning: review) }
    }
}
