import Foundation

/// Applies a reviewer's vote to a review. Pure: the caller stores the result.
public enum ReviewDecision {
    public enum Refusal: Error, Sendable, Hashable, CustomStringConvertible {
        case notPending(ReviewStatus)
        case selfReview
        case notAReviewer(groups: [String])
        case alreadyVoted

        /// The HTTP status an admin API answers with.
        public var httpStatus: Int {
            switch self {
            case .notPending, .alreadyVoted: 409
            case .selfReview, .notAReviewer: 403
            }
        }

        public var description: String {
            switch self {
            case .notPending(let status): "the review is \(status.rawValue), not pending"
            case .selfReview: "the requester cannot review their own request"
            case .notAReviewer(let groups): "only members of \(groups.joined(separator: ", ")) may review this request"
            case .alreadyVoted: "this reviewer has already approved this request"
            }
        }
    }

    /// Records a vote; returns the review with its new status (approved once enough
    /// distinct reviewers approved, rejected on the first rejection).
    public static func vote(on review: Review, by reviewer: Person, approve: Bool, comment: String?, now: Date = Date()) throws(Refusal) -> Review {
        var review = review
        guard review.status == .pending else { throw .notPending(review.status) }
        if now >= review.expiresAt {
            throw .notPending(.expired)
        }
        guard reviewer.subject != review.requester.subject else { throw .selfReview }
        guard reviewer.groups.contains(where: review.reviewerGroups.contains) else {
            throw .notAReviewer(groups: review.reviewerGroups)
        }
        if review.votes.contains(where: { $0.reviewer.subject == reviewer.subject && $0.approved }) { throw .alreadyVoted }
        review.votes.append(ReviewVote(reviewer: reviewer, approved: approve, comment: comment, time: now))
        if !approve {
            review.status = .rejected
            review.decidedAt = now
        } else if isSatisfied(review) {
            review.status = .approved
            review.decidedAt = now
        }
        review.version += 1
        return review
    }

    /// Enough distinct approvers, and with `require_all_groups` one from each group.
    public static func isSatisfied(_ review: Review) -> Bool {
        let approvers = review.votes.filter(\.approved).map(\.reviewer)
        let distinct = Set(approvers.map(\.subject))
        guard distinct.count >= review.minApprovals else { return false }
        if review.requireAllGroups {
            return review.reviewerGroups.allSatisfy { group in approvers.contains { $0.groups.contains(group) } }
        }
        return true
    }

    /// Ends a pending review without a decision (timeout or client gone).
    public static func close(_ review: Review, as status: ReviewStatus, now: Date = Date()) -> Review? {
        guard review.status == .pending, status == .expired || status == .cancelled else { return nil }
        var review = review
        review.status = status
        review.decidedAt = now
        review.version += 1
        return review
    }
}
