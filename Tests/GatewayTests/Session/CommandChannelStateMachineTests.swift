import GatewayPolicy
import GatewaySession
import Testing

/// The command channel's life, event in, action out, without sockets: every transition, and
/// every event where it is illegal or stale.
@Suite("Command channel state machine")
struct CommandChannelStateMachineTests {
    typealias Machine = CommandChannelStateMachine
    static let rule = ApprovalRule(name: "review-writes", reviewerGroups: ["dba"])

    /// A machine brought to `state` the way a relay would.
    static func machine(in state: Machine.State, wantReply: Bool = true) -> Machine {
        var machine = Machine()
        if state == .setup { return machine }
        _ = machine.startRequested(wantReply: wantReply)
        switch state {
        case .setup, .deciding: break
        case .held: _ = machine.decided(.hold(rule))
        case .opening: _ = machine.decided(.forward)
        case .running: _ = machine.decided(.forward); _ = machine.upstreamOpened()
        case .halfClosed: _ = machine.decided(.forward); _ = machine.upstreamOpened(); _ = machine.clientEOF(queueEmpty: true)
        case .exiting: _ = machine.decided(.refuse(rule: "r", message: "no", denied: false))
        case .closed: _ = machine.clientClosed()
        }
        #expect(machine.state == state)
        return machine
    }

    @Test func anAllowedExecRunsToItsExitStatus() {
        var machine = Machine()
        #expect(machine.settingRequested() == .acceptSetting)
        #expect(machine.startRequested(wantReply: true) == .decide)
        #expect(machine.state == .deciding)
        #expect(machine.decided(.forward) == .openUpstream)
        #expect(machine.state == .opening)
        #expect(machine.clientInput() == .queueInput)
        #expect(machine.upstreamOpened() == .startUpstream)
        #expect(machine.state == .running)
        #expect(machine.upstreamAnsweredStart(success: true) == .replyToStart(true))
        // Answered once: a second answer is not the start's.
        #expect(machine.upstreamAnsweredStart(success: true) == .none)
        #expect(machine.clientInput() == .forwardInput)
        #expect(machine.clientEOF(queueEmpty: true) == .sendEOFUpstream)
        #expect(machine.state == .halfClosed)
        #expect(machine.clientInput() == .none)
        machine.upstreamExited(.status(3))
        #expect(machine.upstreamClosed() == .end(exit: .status(3), ran: true))
        #expect(machine.state == .exiting)
        #expect(machine.clientClosed() == .closeBoth)
        #expect(machine.state == .closed)
    }

    @Test func aRefusedCommandEndsWith126AndAnswersItsStart() {
        var machine = Self.machine(in: .deciding)
        #expect(machine.decided(.refuse(rule: "no-rm", message: "blocked", denied: false)) == .refuse(replyToStart: true, exit: .status(126)))
        #expect(machine.state == .exiting)
        // Nothing reaches a target that was never opened.
        #expect(machine.clientInput() == .none)
        #expect(machine.upstreamOpened() == .closeUpstream)
        #expect(machine.upstreamClosed() == .none)
        #expect(machine.endedByGateway() == .none)
    }

    @Test func aStartWithoutWantReplyIsNotAnswered() {
        var machine = Self.machine(in: .deciding, wantReply: false)
        #expect(machine.decided(.refuse(rule: nil, message: "denied", denied: true)) == .refuse(replyToStart: false, exit: .status(126)))
    }

    @Test func aHeldCommandAnswersItsStartAndWaits() {
        var machine = Self.machine(in: .deciding)
        #expect(machine.decided(.hold(Self.rule)) == .announceHold(replyToStart: true))
        #expect(machine.state == .held)
        #expect(machine.isHeld)
        #expect(!machine.startReplyPending)
        #expect(machine.clientInput() == .queueInput)
        #expect(machine.clientEOF(queueEmpty: false) == .none)
        #expect(machine.clientEOFPending)
        #expect(machine.reviewEnded(approved: true) == .openUpstream)
        #expect(machine.upstreamOpened() == .startUpstream)
        // The start was answered at the hold: the target's answer is not passed on.
        #expect(machine.upstreamAnsweredStart(success: true) == .none)
        // EOF that came while held follows the queued input.
        #expect(machine.queueDrained() == .sendEOFUpstream)
        #expect(machine.state == .halfClosed)
    }

    @Test func aRejectedReviewEndsWith126() {
        var machine = Self.machine(in: .held)
        #expect(machine.reviewEnded(approved: false) == .end(exit: .status(126), ran: false))
        #expect(machine.state == .exiting)
        #expect(machine.reviewEnded(approved: true) == .none)
    }

    @Test func aTargetThatCannotBeOpenedEndsWith255() {
        var machine = Self.machine(in: .opening)
        #expect(machine.upstreamFailed() == .refuse(replyToStart: true, exit: .status(255)))
        #expect(machine.upstreamFailed() == .none)
    }

    @Test func heldLinesQueueInputAndEOFWaitsForThem() {
        var machine = Self.machine(in: .running)
        machine.inputPaused()
        #expect(machine.clientInput() == .queueInput)
        #expect(machine.clientEOF(queueEmpty: true) == .none)
        #expect(machine.queueDrained() == .none)
        #expect(machine.inputResumed() == .none)
        #expect(!machine.inputHeld)
        #expect(machine.queueDrained() == .sendEOFUpstream)
        #expect(machine.queueDrained() == .none)
    }

    @Test func aHeldLastLineHoldsEOF() {
        var machine = Self.machine(in: .halfClosed)
        machine.inputPaused()
        #expect(machine.isHeld)
        #expect(machine.inputResumed() == .sendEOFUpstream)
        #expect(machine.inputResumed() == .none)
    }

    @Test func eofWithQueuedInputWaitsForTheQueue() {
        var machine = Self.machine(in: .running)
        #expect(machine.clientEOF(queueEmpty: false) == .none)
        #expect(machine.state == .running)
        #expect(machine.queueDrained() == .sendEOFUpstream)
    }

    @Test func theGatewayEndsAChannelInEveryLiveState() {
        for (state, ran) in [(Machine.State.setup, false), (.deciding, false), (.held, false), (.opening, true), (.running, true), (.halfClosed, true)] {
            var machine = Self.machine(in: state)
            #expect(machine.endedByGateway() == .end(exit: .status(255), ran: ran), "\(state)")
            #expect(machine.state == .exiting)
        }
        // The command's own exit status wins over the gateway's.
        var machine = Self.machine(in: .running)
        machine.upstreamExited(.signal("TERM"))
        #expect(machine.endedByGateway() == .end(exit: .signal("TERM"), ran: true))
    }

    @Test func theTargetClosingEndsTheCommandOnce() {
        for state in [Machine.State.opening, .running, .halfClosed] {
            var machine = Self.machine(in: state)
            #expect(machine.upstreamClosed() == .end(exit: nil, ran: true), "\(state)")
            #expect(machine.upstreamClosed() == .none)
        }
    }

    @Test func theClientLeavingClosesBothFromAnyState() {
        for state in [Machine.State.setup, .deciding, .held, .opening, .running, .halfClosed, .exiting] {
            var machine = Self.machine(in: state)
            #expect(machine.clientClosed() == .closeBoth, "\(state)")
            #expect(machine.clientClosed() == .none)
            // A target channel that opens now is closed at once.
            #expect(machine.upstreamOpened() == .closeUpstream)
        }
    }

    // MARK: - Illegal and stale events

    @Test func settingsAndStartsAfterTheStartAreRefused() {
        for state in [Machine.State.deciding, .held, .opening, .running, .halfClosed, .exiting, .closed] {
            var machine = Self.machine(in: state)
            #expect(machine.settingRequested() == .rejectRequest, "\(state)")
            #expect(machine.startRequested(wantReply: true) == .rejectRequest, "\(state)")
            #expect(machine.state == state)
        }
    }

    @Test func verdictsAndReviewsOutsideTheirStateChangeNothing() {
        for state in [Machine.State.setup, .held, .opening, .running, .halfClosed, .exiting, .closed] {
            var machine = Self.machine(in: state)
            #expect(machine.decided(.forward) == .none, "\(state)")
            #expect(machine.state == state)
        }
        for state in [Machine.State.setup, .deciding, .opening, .running, .halfClosed, .exiting, .closed] {
            var machine = Self.machine(in: state)
            #expect(machine.reviewEnded(approved: true) == .none, "\(state)")
            #expect(machine.state == state)
        }
    }

    @Test func targetEventsBeforeItOpensChangeNothing() {
        for state in [Machine.State.setup, .deciding, .held] {
            var machine = Self.machine(in: state)
            #expect(machine.upstreamOpened() == .closeUpstream, "\(state)")
            #expect(machine.upstreamFailed() == .none)
            #expect(machine.upstreamClosed() == .none)
            #expect(machine.upstreamAnsweredStart(success: true) == .none)
            #expect(machine.state == state)
        }
        for state in [Machine.State.running, .halfClosed, .exiting, .closed] {
            var machine = Self.machine(in: state)
            #expect(machine.upstreamOpened() == .closeUpstream, "\(state)")
            #expect(machine.upstreamFailed() == .none)
        }
    }

    @Test func inputAfterTheEndIsDropped() {
        for state in [Machine.State.halfClosed, .exiting, .closed] {
            var machine = Self.machine(in: state)
            #expect(machine.clientInput() == .none, "\(state)")
            #expect(machine.clientEOF(queueEmpty: true) == .none)
            machine.inputPaused()
            #expect(machine.queueDrained() == .none)
        }
    }

    @Test func anExitAfterTheEndIsNotTaken() {
        var machine = Self.machine(in: .exiting)
        machine.upstreamExited(.status(0))
        #expect(machine.exit == .status(126))
    }
}
