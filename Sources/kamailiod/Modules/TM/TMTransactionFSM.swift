/// The timers of RFC 3261 §17 (Table 4), as tm uses them.
public enum TMTimerKind: Sendable, Equatable {
    /// Timer A (INVITE) / E (non-INVITE): retransmit the request over UDP (§17.1.1.2, §17.1.2.2).
    case retransmit
    /// Timer B / F, Kamailio's `fr_timer` / `fr_inv_timer`: no final reply in time (§17.1.1.2).
    case final
    /// Timer D / K: absorb retransmitted finals, then the branch is done (§17.1.1.2, §17.1.2.2).
    case clientWait
    /// Timer G: retransmit a non-2xx final reply to an INVITE over UDP (§17.2.1).
    case replyRetransmit
    /// Timer H: give up waiting for the ACK (§17.2.1).
    case ackWait
    /// Timers I / J / L: keep a finished server transaction to absorb retransmissions.
    case serverWait
}

/// Timer values in milliseconds (RFC 3261 Table 4 defaults; `fr_timer`, `fr_inv_timer`
/// and `wait_timer` are Kamailio's names).
public struct TMTimerValues: Sendable, Equatable {
    /// RTT estimate.
    public var t1: UInt64 = 500
    /// Largest retransmit interval for non-INVITE requests and INVITE finals.
    public var t2: UInt64 = 4000
    /// Longest time a message stays in the network.
    public var t4: UInt64 = 5000
    /// Final-reply timeout before any provisional reply (Kamailio default 30 s).
    public var fr: UInt64 = 30000
    /// Final-reply timeout for INVITE once a provisional arrived (Kamailio default 120 s).
    public var frInv: UInt64 = 120_000
    /// How long a finished transaction stays to absorb retransmissions. Kamailio keeps
    /// every finished transaction for `wait_timer` (5 s) instead of Timer J's 64*T1; we
    /// follow Kamailio, which keeps the table small under load.
    public var wait: UInt64 = 5000
    /// Kamailio's `max_inv_lifetime`: an INVITE transaction gives up waiting for a final
    /// reply this long after it was created, whatever fr_inv_timer says (default 180 s).
    public var maxInvLifetime: UInt64 = 180_000
    /// Kamailio's `max_noninv_lifetime`: the same for other methods (default 32 s).
    public var maxNoninvLifetime: UInt64 = 32_000
    /// Kamailio's `restart_fr_on_each_reply`: every provisional of an INVITE branch
    /// restarts fr_inv_timer (true, the default); false: only the first one starts it.
    public var restartFrOnEachReply = true

    /// The defaults.
    public init() {}
}

/// A client transaction (one branch of a proxied request), RFC 3261 §17.1, as a value:
/// events in (start, reply, timer), actions out. No clock and no socket inside, so the
/// tests drive it with made-up times.
public struct TMClientFSM: Sendable, Equatable {
    /// §17.1.1 (INVITE) and §17.1.2 (non-INVITE) states; `accepted` is RFC 6026 §7.2.
    public enum State: Sendable, Equatable { case calling, proceeding, completed, accepted, terminated }

    /// What the transaction asks the transport and the proxy core to do.
    public enum Action: Sendable, Equatable {
        /// Send the request again (Timer A/E).
        case retransmitRequest
        /// Call back at `at` with this timer.
        case schedule(TMTimerKind, at: UInt64)
        /// Hand the reply to the proxy core (§16.7).
        case passUp(Int)
        /// Send an ACK for a non-2xx final reply, hop by hop (§17.1.1.3).
        case sendACK
        /// No final reply in time: the proxy treats the branch as a 408 (§16.8).
        case timedOut
    }

    /// True for INVITE.
    public let isInvite: Bool
    /// True over TCP/TLS: no retransmissions, zero wait times (§17.1.1.2).
    public let reliable: Bool
    /// Current state.
    public private(set) var state: State = .calling
    /// Last status code received (0: none).
    public private(set) var code = 0
    private var timers: TMTimerValues
    private var interval: UInt64
    /// When the final-reply timer expires.
    public private(set) var finalDeadline: UInt64 = 0
    /// End of the transaction's lifetime (max_inv_lifetime / max_noninv_lifetime after
    /// its creation): no final-reply deadline goes beyond it.
    public var lifetimeEnd: UInt64 = .max

    /// A new branch with the timer values of its transaction.
    public init(isInvite: Bool, reliable: Bool, timers: TMTimerValues) {
        self.isInvite = isInvite
        self.reliable = reliable
        self.timers = timers
        interval = timers.t1
    }

    /// True while no final reply arrived.
    public var isPending: Bool { state == .calling || state == .proceeding }

    /// The request was sent: start Timer A/E (UDP only) and the final-reply timer.
    public mutating func start(now: UInt64) -> [Action] {
        finalDeadline = min(now + timers.fr, lifetimeEnd)
        var out: [Action] = [.schedule(.final, at: finalDeadline)]
        if !reliable { out.append(.schedule(.retransmit, at: now + interval)) }
        return out
    }

    /// `t_set_fr`/`t_reset_fr` on a running transaction, as Kamailio changes its branches:
    /// the new timeouts (0 keeps one) serve later provisionals, and a pending final-reply
    /// timer restarts from now — with fr_inv once an INVITE branch had a provisional,
    /// else with fr; unchanged when that one is 0.
    public mutating func changeFinalTimeouts(fr: UInt64, frInv: UInt64, now: UInt64) -> [Action] {
        if fr > 0 { timers.fr = fr }
        if frInv > 0 { timers.frInv = frInv }
        let v = isInvite && state == .proceeding ? frInv : fr
        guard isPending, v > 0 else { return [] }
        finalDeadline = min(now + v, lifetimeEnd)
        // an earlier deadline needs its own entry; a later one is found by the pending entry
        return [.schedule(.final, at: finalDeadline)]
    }

    /// A timer fired.
    public mutating func timerFired(_ kind: TMTimerKind, now: UInt64) -> [Action] {
        switch kind {
        case .retransmit:
            // INVITE: only while calling, doubling without bound (§17.1.1.2);
            // non-INVITE: while trying or proceeding, capped at T2 (§17.1.2.2).
            guard !reliable else { return [] }
            if isInvite {
                guard state == .calling else { return [] }
                interval *= 2
            } else {
                guard isPending else { return [] }
                interval = state == .proceeding ? timers.t2 : min(interval * 2, timers.t2)
            }
            return [.retransmitRequest, .schedule(.retransmit, at: now + interval)]
        case .final:
            guard isPending else { return [] }
            // The deadline moves when a provisional arrives; an old entry reschedules.
            if now < finalDeadline { return [.schedule(.final, at: finalDeadline)] }
            state = .terminated
            code = 408
            return [.timedOut]
        case .clientWait:
            if state == .completed || state == .accepted { state = .terminated }
            return []
        default:
            return []
        }
    }

    /// A reply for this branch arrived.
    public mutating func replyReceived(_ status: Int, now: UInt64) -> [Action] {
        switch state {
        case .calling, .proceeding:
            if status < 200 {
                let first = state == .calling
                state = .proceeding
                code = status
                // Kamailio: once a provisional arrives an INVITE waits fr_inv_timer,
                // restarted on each provisional unless restart_fr_on_each_reply=0. No new
                // timer entry: the pending one finds the later deadline and moves itself
                // there, so an answered call leaves no 120 s entry behind.
                if isInvite && (first || timers.restartFrOnEachReply) {
                    finalDeadline = min(now + timers.frInv, lifetimeEnd)
                }
                return [.passUp(status)]
            }
            code = status
            if isInvite && status < 300 {
                // RFC 6026 §7.2: stay to pass further 2xx retransmissions up (Timer M).
                state = .accepted
                return [.passUp(status), .schedule(.clientWait, at: now + (reliable ? 0 : 64 * timers.t1))]
            }
            state = .completed
            let wait = reliable ? 0 : (isInvite ? 32000 : timers.t4)
            var out: [Action] = [.passUp(status)]
            if isInvite { out.insert(.sendACK, at: 0) }
            out.append(.schedule(.clientWait, at: now + wait))
            return out
        case .completed:
            // A retransmitted final: ACK it again, the proxy already has it (§17.1.1.2).
            return isInvite && status >= 300 ? [.sendACK] : []
        case .accepted:
            // RFC 6026 §7.2: 2xx retransmissions go up; proxies relay them statelessly.
            return status >= 200 && status < 300 ? [.passUp(status)] : []
        case .terminated:
            return []
        }
    }
}

/// A server transaction (the received request), RFC 3261 §17.2, with RFC 6026's
/// Accepted state for INVITE answered with a 2xx.
public struct TMServerFSM: Sendable, Equatable {
    /// §17.2.1 / §17.2.2 states.
    public enum State: Sendable, Equatable { case trying, proceeding, completed, accepted, confirmed, terminated }

    /// What the transaction asks the proxy to do.
    public enum Action: Sendable, Equatable {
        /// Send the last reply again.
        case resendLastReply
        /// Call back at `at` with this timer.
        case schedule(TMTimerKind, at: UInt64)
        /// The transaction is over: remove it from the table.
        case terminated
    }

    /// True for INVITE.
    public let isInvite: Bool
    /// True over TCP/TLS.
    public let reliable: Bool
    /// Current state.
    public private(set) var state: State = .trying
    /// Last status sent (0: none).
    public private(set) var lastCode = 0
    private let timers: TMTimerValues
    private var gInterval: UInt64

    /// A new server transaction.
    public init(isInvite: Bool, reliable: Bool, timers: TMTimerValues) {
        self.isInvite = isInvite
        self.reliable = reliable
        self.timers = timers
        gInterval = timers.t1
    }

    /// True once a final reply went out.
    public var hasFinal: Bool { lastCode >= 200 }

    /// The request came again: replay the last reply, if there is one (§17.2.1, §17.2.2).
    public mutating func requestRetransmitted() -> [Action] {
        switch state {
        case .proceeding, .completed, .accepted: return [.resendLastReply]
        default: return []
        }
    }

    /// A reply was sent for this transaction.
    public mutating func replySent(_ code: Int, now: UInt64) -> [Action] {
        guard state == .trying || state == .proceeding else { return [] }
        lastCode = code
        if code < 200 {
            state = .proceeding
            return []
        }
        if isInvite && code < 300 {
            state = .accepted
            return [.schedule(.serverWait, at: now + timers.wait)]
        }
        if isInvite {
            state = .completed
            var out: [Action] = [.schedule(.ackWait, at: now + 64 * timers.t1)]
            if !reliable { out.append(.schedule(.replyRetransmit, at: now + gInterval)) }
            return out
        }
        state = .completed
        return [.schedule(.serverWait, at: now + timers.wait)]
    }

    /// An ACK matched this (INVITE) transaction: stop Timer G/H (§17.2.1). Returns true
    /// when the ACK belongs to a non-2xx final and is absorbed here.
    public mutating func ackReceived(now: UInt64) -> (absorbed: Bool, actions: [Action]) {
        switch state {
        case .completed:
            state = .confirmed
            return (true, [.schedule(.serverWait, at: now + (reliable ? 0 : timers.t4))])
        case .confirmed:
            return (true, [])
        default:
            return (false, [])
        }
    }

    /// A timer fired.
    public mutating func timerFired(_ kind: TMTimerKind, now: UInt64) -> [Action] {
        switch (kind, state) {
        case (.replyRetransmit, .completed):
            gInterval = min(gInterval * 2, timers.t2)
            return [.resendLastReply, .schedule(.replyRetransmit, at: now + gInterval)]
        case (.ackWait, .completed):
            // Timer H: the ACK never came (§17.2.1).
            state = .terminated
            return [.terminated]
        case (.serverWait, .completed), (.serverWait, .accepted), (.serverWait, .confirmed):
            state = .terminated
            return [.terminated]
        default:
            return []
        }
    }
}
