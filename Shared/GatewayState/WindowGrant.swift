import Foundation

/// `grant: window`: after an approval, the same requester may run commands matching the
/// same rule on the same connection until the window ends.
public enum WindowGrant {
    /// The approved review whose window covers this request now, if any.
    public static func active(in reviews: [Review], requester: String, connection: String, rule: String, now: Date = Date()) -> Review? {
        reviews
            .filter { review in
                guard review.status == .approved, let window = review.grantWindow, let decided = review.decidedAt else { return false }
                return review.requester.subject == requester && review.connection == connection && review.rule == rule
                    && now < decided.addingTimeInterval(window)
            }
            .max { ($0.decidedAt ?? .distantPast) < ($1.decidedAt ?? .distantPast) }
    }

    /// When the window of an approved review ends.
    public static func end(of review: Review) -> Date? {
        guard let window = review.grantWindow, let decided = review.decidedAt else { return nil }
        return decided.addingTimeInterval(window)
    }
}
