import NIOCore

/// `limits.idle_timeout` for one session, on its event loop: the session touches the clock
/// when something happens; a repeated check ends the session once it has been quiet that
/// long and says it may be ended (nothing in flight, nobody waiting on a review).
///
/// `@unchecked Sendable` only so the loop's repeated task can hold it weakly: it is created,
/// touched and checked on `eventLoop` only.
public final class IdleClock: @unchecked Sendable {
    /// The configured timeout; nil when the session has none (then touching costs nothing).
    public let timeout: Double?
    private let eventLoop: any EventLoop
    private var lastActivity = NIODeadline.now()
    private var check: RepeatedTask?

    public init(timeout: Double?, eventLoop: any EventLoop) {
        self.timeout = timeout.flatMap { $0 > 0 ? $0 : nil }
        self.eventLoop = eventLoop
    }

    /// Whether the clock runs at all.
    @inlinable public var isEnabled: Bool { timeout != nil }

    /// Something happened: the quiet period starts again.
    public func touch() {
        if timeout != nil { lastActivity = .now() }
    }

    /// Starts checking, at a quarter of the timeout (between 0.1 and 30 s). `mayEnd` says
    /// whether the session is waiting on its client (and not on the target or a reviewer);
    /// `expire` ends it, with the message to tell.
    public func start(mayEnd: @escaping () -> Bool, expire: @escaping (String) -> Void) {
        eventLoop.preconditionInEventLoop()
        guard let seconds = timeout, check == nil else { return }
        let limit = TimeAmount.milliseconds(Int64(seconds * 1000))
        let interval = TimeAmount.milliseconds(max(100, min(30_000, Int64(seconds * 250))))
        let callbacks = NIOLoopBound((mayEnd: mayEnd, expire: expire), eventLoop: eventLoop)
        check = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self else { return task.cancel() }
            guard callbacks.value.mayEnd(), NIODeadline.now() - self.lastActivity >= limit else { return }
            task.cancel()
            self.check = nil
            callbacks.value.expire(Self.describe(seconds))
        }
    }

    public func stop() {
        check?.cancel()
        check = nil
    }

    /// The timeout as the messages name it: `5m`, `90s`, `0.5s`.
    public static func describe(_ seconds: Double) -> String {
        seconds >= 60 && seconds.truncatingRemainder(dividingBy: 60) == 0 ? "\(Int(seconds / 60))m" : "\(seconds.formatted())s"
    }
}
