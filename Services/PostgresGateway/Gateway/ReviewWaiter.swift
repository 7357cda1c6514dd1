import Foundation
import GatewayState

/// Waits for a review's decision without spinning: a short sleep between reads of the
/// shared store (any instance may decide). Expires the review at its deadline and cancels
/// it when the client goes away.
struct ReviewWaiter: Sendable {
    let store: any StateStore
    let isClientConnected: @Sendable () -> Bool
    var interval: Duration = .milliseconds(250)

    func wait(for review: Review) async -> Review {
        var current = review
        while true {
            if let latest = try? await store.review(id: review.id) { current = latest }
            if current.status.isFinal { return current }
            let now = Date()
            let closing: ReviewStatus? = now >= current.expiresAt ? .expired : (!isClientConnected() || Task.isCancelled) ? .cancelled : nil
            if let closing, let closed = ReviewDecision.close(current, as: closing, now: now) {
                if (try? await store.update(closed)) == true { return closed }
                continue
            }
            try? await Task.sleep(for: interval)
        }
    }
}
