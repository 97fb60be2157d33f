import Testing
import SIPCore
import SIPTransport
@testable import BuiltinModules

/// The §17 state machines driven with made-up times: nothing sleeps.
@Suite("tm transaction state machines")
struct TMTransactionFSMTests {
    let t = TMTimerValues()

    @Test("an INVITE client retransmits on Timer A with doubling intervals until a provisional arrives")
    func inviteRetransmits() {
        var fsm = TMClientFSM(isInvite: true, reliable: false, timers: t)
        #expect(fsm.start(now: 0) == [.schedule(.final, at: 30000), .schedule(.retransmit, at: 500)])
        #expect(fsm.timerFired(.retransmit, now: 500) == [.retransmitRequest, .schedule(.retransmit, at: 1500)])
        #expect(fsm.timerFired(.retransmit, now: 1500) == [.retransmitRequest, .schedule(.retransmit, at: 3500)])
        #expect(fsm.replyReceived(180, now: 2000) == [.passUp(180)])
        #expect(fsm.finalDeadline == 122_000)
        #expect(fsm.state == .proceeding)
        #expect(fsm.timerFired(.retransmit, now: 3500).isEmpty)
    }

    @Test("over TCP a client sends once: no Timer A, zero Timer D")
    func reliableClient() {
        var fsm = TMClientFSM(isInvite: true, reliable: true, timers: t)
        #expect(fsm.start(now: 0) == [.schedule(.final, at: 30000)])
        #expect(fsm.replyReceived(486, now: 10) == [.sendACK, .passUp(486), .schedule(.clientWait, at: 10)])
    }

    @Test("a non-2xx final to an INVITE is ACKed, and ACKed again when retransmitted, but passed up once")
    func inviteNon2xx() {
        var fsm = TMClientFSM(isInvite: true, reliable: false, timers: t)
        _ = fsm.start(now: 0)
        #expect(fsm.replyReceived(486, now: 100) == [.sendACK, .passUp(486), .schedule(.clientWait, at: 32100)])
        #expect(fsm.state == .completed)
        #expect(fsm.replyReceived(486, now: 600) == [.sendACK])
        #expect(fsm.timerFired(.clientWait, now: 32100).isEmpty)
        #expect(fsm.state == .terminated)
    }

    @Test("RFC 6026: after a 2xx the INVITE client passes 2xx retransmissions up and never ACKs them")
    func inviteAccepted() {
        var fsm = TMClientFSM(isInvite: true, reliable: false, timers: t)
        _ = fsm.start(now: 0)
        #expect(fsm.replyReceived(200, now: 100) == [.passUp(200), .schedule(.clientWait, at: 32100)])
        #expect(fsm.state == .accepted)
        #expect(fsm.replyReceived(200, now: 600) == [.passUp(200)])
        #expect(fsm.replyReceived(486, now: 700).isEmpty)
    }

    @Test("no final reply: fr_timer before any provisional, fr_inv_timer after one")
    func finalTimers() {
        var fsm = TMClientFSM(isInvite: true, reliable: false, timers: t)
        _ = fsm.start(now: 0)
        _ = fsm.replyReceived(180, now: 1000)
        // the old fr_timer entry fires first and only reschedules
        #expect(fsm.timerFired(.final, now: 30000) == [.schedule(.final, at: 121_000)])
        #expect(fsm.timerFired(.final, now: 121_000) == [.timedOut])
        #expect(fsm.code == 408 && fsm.state == .terminated)

        var non = TMClientFSM(isInvite: false, reliable: false, timers: t)
        _ = non.start(now: 0)
        _ = non.replyReceived(100, now: 10)
        #expect(non.timerFired(.final, now: 30000) == [.timedOut])
    }

    @Test("a non-INVITE client retransmits on Timer E capped at T2, and every T2 once proceeding")
    func nonInviteRetransmits() {
        var fsm = TMClientFSM(isInvite: false, reliable: false, timers: t)
        _ = fsm.start(now: 0)
        var due: UInt64 = 500
        var intervals: [UInt64] = []
        for _ in 0..<5 {
            let a = fsm.timerFired(.retransmit, now: due)
            guard case .schedule(_, let at) = a.last else { break }
            intervals.append(at - due)
            due = at
        }
        #expect(intervals == [1000, 2000, 4000, 4000, 4000])
        _ = fsm.replyReceived(100, now: due)
        #expect(fsm.timerFired(.retransmit, now: due + 4000) == [.retransmitRequest, .schedule(.retransmit, at: due + 8000)])
        #expect(fsm.replyReceived(200, now: due + 5000) == [.passUp(200), .schedule(.clientWait, at: due + 10000)])
        #expect(fsm.timerFired(.retransmit, now: due + 8000).isEmpty)
    }

    @Test("an INVITE server replays its last reply, retransmits a non-2xx final on Timer G, and absorbs the ACK")
    func inviteServer() {
        var fsm = TMServerFSM(isInvite: true, reliable: false, timers: t)
        #expect(fsm.requestRetransmitted().isEmpty)  // nothing sent yet
        #expect(fsm.replySent(100, now: 0).isEmpty)
        #expect(fsm.requestRetransmitted() == [.resendLastReply])
        #expect(fsm.replySent(486, now: 100) == [.schedule(.ackWait, at: 32100), .schedule(.replyRetransmit, at: 600)])
        #expect(fsm.timerFired(.replyRetransmit, now: 600) == [.resendLastReply, .schedule(.replyRetransmit, at: 1600)])
        #expect(fsm.replySent(200, now: 700).isEmpty)  // one final only
        let ack = fsm.ackReceived(now: 800)
        #expect(ack.absorbed && ack.actions == [.schedule(.serverWait, at: 5800)])
        #expect(fsm.timerFired(.replyRetransmit, now: 1600).isEmpty)
        #expect(fsm.timerFired(.serverWait, now: 5800) == [.terminated])
    }

    @Test("Timer H ends an INVITE server whose ACK never came")
    func timerH() {
        var fsm = TMServerFSM(isInvite: true, reliable: false, timers: t)
        _ = fsm.replySent(404, now: 0)
        #expect(fsm.timerFired(.ackWait, now: 32000) == [.terminated])
    }

    @Test("a 2xx puts an INVITE server in Accepted: the ACK is not its own (end to end)")
    func acceptedServer() {
        var fsm = TMServerFSM(isInvite: true, reliable: false, timers: t)
        #expect(fsm.replySent(200, now: 0) == [.schedule(.serverWait, at: 5000)])
        #expect(fsm.ackReceived(now: 10).absorbed == false)
        #expect(fsm.requestRetransmitted() == [.resendLastReply])
        #expect(fsm.timerFired(.serverWait, now: 5000) == [.terminated])
    }

    @Test("a non-INVITE server stays for wait_timer after its final, replaying it")
    func nonInviteServer() {
        var fsm = TMServerFSM(isInvite: false, reliable: false, timers: t)
        #expect(fsm.replySent(200, now: 0) == [.schedule(.serverWait, at: 5000)])
        #expect(fsm.requestRetransmitted() == [.resendLastReply])
        #expect(fsm.timerFired(.serverWait, now: 5000) == [.terminated])
    }

    @Test("the timer queue fires in due order and only what is due")
    func timerQueue() {
        let q = TMTimerQueue(autoStart: false)
        for (i, due) in [30, 10, 20, 10, 50].enumerated() {
            q.schedule(TMTimerEntry(due: UInt64(due), cell: UInt64(i), kind: .final, branch: 0))
        }
        #expect(q.takeDue(now: 5).isEmpty)
        #expect(q.takeDue(now: 25).map(\.due) == [10, 10, 20])
        #expect(q.takeDue(now: 100).map(\.cell) == [0, 4])
        #expect(q.count == 0)
    }

    @Test("idle compaction drops the entries of freed transactions and keeps the rest in due order")
    func timerQueueCompact() {
        let q = TMTimerQueue(autoStart: false)
        for (i, due) in [30, 10, 20, 10, 50, 40].enumerated() {
            q.schedule(TMTimerEntry(due: UInt64(due), cell: UInt64(i), kind: .final, branch: 0))
        }
        q.compact { $0.cell % 2 == 0 }  // cells 1, 3 and 5 are gone
        #expect(q.count == 3)
        q.schedule(TMTimerEntry(due: 15, cell: 9, kind: .final, branch: 0))
        #expect(q.takeDue(now: 100).map(\.cell) == [9, 2, 0, 4])
        q.compact { _ in true }
        #expect(q.count == 0)
    }

    @Test("best reply (§16.7 step 6): 6xx first, then the lowest class, a real reply over a local timeout")
    func bestReply() {
        func branch(_ code: Int, real: Bool = true) -> TMBranch {
            var fsm = TMClientFSM(isInvite: true, reliable: true, timers: t)
            _ = fsm.start(now: 0)
            _ = code == 408 && !real ? fsm.timerFired(.final, now: 1_000_000) : fsm.replyReceived(code, now: 0)
            let d = Destination(proto: .udp, address: SocketAddress(ip: "127.0.0.1", port: 5060)!, listenerIndex: 0)
            return TMBranch(fsm: fsm, uri: [], destination: d, request: [], reply: real ? [1] : nil)
        }
        #expect(TMModule.bestBranch([branch(486), branch(603), branch(302)]) == 1)
        #expect(TMModule.bestBranch([branch(503), branch(486)]) == 1)
        #expect(TMModule.bestBranch([branch(408, real: false), branch(480)]) == 1)
        #expect(TMModule.bestBranch([branch(404), branch(407)]) == 1)
    }

    @Test("failure_reply_mode: 0 keeps every branch, 1 and 3 only the last serial step, 2 only the last branch")
    func failureReplyModes() {
        func branch(_ code: Int, round: Int) -> TMBranch {
            var fsm = TMClientFSM(isInvite: true, reliable: true, timers: t)
            _ = fsm.start(now: 0)
            _ = fsm.replyReceived(code, now: 0)
            let d = Destination(proto: .udp, address: SocketAddress(ip: "127.0.0.1", port: 5060)!, listenerIndex: 0)
            return TMBranch(fsm: fsm, uri: [], destination: d, request: [], reply: [1], round: round)
        }
        // a 407 in the first step, then a 503 and a 486 added by failure_route
        let bs = [branch(407, round: 1), branch(503, round: 2), branch(486, round: 2)]
        #expect(TMModule.bestBranch(bs, mode: 0, round: 2) == 0)
        #expect(TMModule.bestBranch(bs, mode: 3, round: 2) == 2)
        #expect(TMModule.bestBranch(bs, mode: 1, round: 2) == 2)
        #expect(TMModule.bestBranch([branch(486, round: 1), branch(503, round: 1)], mode: 2, round: 1) == 1)
    }

    @Test("restart_fr_on_each_reply=0 keeps the deadline of the first provisional; the lifetime caps every deadline")
    func frRestartAndLifetime() {
        var v = t
        v.frInv = 1000
        func deadline(restart: Bool) -> UInt64 {
            v.restartFrOnEachReply = restart
            var fsm = TMClientFSM(isInvite: true, reliable: true, timers: v)
            _ = fsm.start(now: 0)
            _ = fsm.replyReceived(180, now: 10)
            _ = fsm.replyReceived(183, now: 500)
            return fsm.finalDeadline
        }
        #expect(deadline(restart: false) == 1010)
        #expect(deadline(restart: true) == 1500)
        var capped = TMClientFSM(isInvite: true, reliable: true, timers: v)
        capped.lifetimeEnd = 700
        _ = capped.start(now: 0)
        #expect(capped.finalDeadline == 700)
        _ = capped.replyReceived(180, now: 10)
        #expect(capped.finalDeadline == 700)
        #expect(capped.timerFired(.final, now: 700) == [.timedOut])
    }

    @Test("our branch ids carry the cell id and branch index and parse back")
    func branchIDs() {
        let b = Array("z9hG4bK".utf8) + TMModule.branchID(cell: 0xabc123, branch: 2)
        #expect(TMModule.parseBranch(b[...])! == (0xabc123, 2))
        #expect(TMModule.parseBranch(Array("z9hG4bKsl123".utf8)[...]) == nil)
        #expect(TMModule.parseBranch(Array("z9hG4bKtm12".utf8)[...]) == nil)
    }
}
