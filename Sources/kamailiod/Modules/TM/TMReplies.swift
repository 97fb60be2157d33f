import SIPCore
import SIPTransport
import ScriptEngine

/// The reply side of tm: matching replies to branches (§17.1.3), relaying them
/// (§16.7), timers, and failure_route.
extension TMModule {
    /// Called by the daemon for every reply before its stateless path. Returns false
    /// when the reply is not for one of our transactions (then it is relayed statelessly);
    /// true when tm took it (relayed, absorbed or dropped). `replyRoute` runs the
    /// script's `reply_route` and returns false when it dropped the reply.
    public func handleReply(_ msg: SIPMessage, info: ReceiveInfo, context: ScriptContext,
                            replyRoute: () -> Bool) -> Bool {
        guard let via = try? msg.topVia(), let br = via.branch else { return false }
        // Our proxied branches first (the common case); local requests have their own prefix.
        guard let (id, index) = Self.parseBranch(br) else { return uac.handleReply(msg) }
        guard let cell = table.cell(id) else { return false }
        stats.received.wrappingAdd(1, ordering: .relaxed)
        guard let cs = try? msg.cseq() else { return true }
        let status = msg.statusCode
        let t = now()
        let kind = cs.methodKind
        if kind == .cancel {
            // The reply to our CANCEL: it only stops the CANCEL's retransmissions (§9.1).
            cell.lock.withLock {
                guard index < cell.branches.count else { return }
                _ = cell.branches[index].cancel?.replyReceived(status, now: t)
            }
            return true
        }
        guard kind == cell.method else { return true }
        guard replyRoute() else { return true }
        cell.lock.lock()
        let finished = replyUnderLock(cell, index, msg, via: via, info: info, context: context, status: status, now: t)
        cell.lock.unlock()
        // A server side that ended before this branch did (a local final reply) leaves the
        // removal to the branch's last reply.
        if finished { finish(cell) }
        return true
    }

    /// The part of `handleReply` under the cell lock; true when the transaction is over.
    private func replyUnderLock(_ cell: TMCell, _ index: Int, _ msg: SIPMessage, via: SIPVia, info: ReceiveInfo,
                        context: ScriptContext, status: Int, now t: UInt64) -> Bool {
        guard index < cell.branches.count, !cell.removed else { return false }
        cell.lastReceivedCode = status
        let actions = cell.branches[index].fsm.replyReceived(status, now: t)
        guard !actions.isEmpty else { return false }
        let passes = actions.contains { if case .passUp = $0 { return true } else { return false } }
        var relay = true
        if passes, let r = cell.onReply, let script = cell.script ?? script.withLock({ $0 }) {
            // onreply_route[...] per reply (Kamailio runs it before the reply is taken).
            let rctx = ScriptContext(message: msg, receive: info, worker: context.worker, services: context.services,
                                     routeType: .onreply)
            rctx.flags = cell.flags
            rctx.tm.cell = cell
            rctx.tm.cellLocked = true
            rctx.heldLocks = 1  // the cell lock: the debugger must not park here
            rctx.tm.branchIndex = index
            rctx.tm.replyCode = status
            let res = script.run(r, rctx)
            // Only provisional replies can be dropped (Kamailio's rule).
            if (res.dropped || rctx.dropped) && status < 200 { relay = false }
        }
        var upstream: [UInt8]?
        if passes, (try? msg.removeVia(via)) != nil { upstream = msg.serialize() }
        if status >= 200 { cell.branches[index].reply = upstream }
        if status < 200 { cell.branches[index].gotProvisional = true }
        clientActions(cell, index, actions, cancel: false, reply: msg, upstream: relay ? upstream : nil, worker: context.worker)
        if status >= 100 && status < 200, cell.branches[index].cancelPending { cancelBranch(cell, index) }
        return !cell.removed && cell.server.state == .terminated && !cell.hasPendingBranch
    }

    /// Carries out a client transaction's actions (cell lock held unless `locked` is false
    /// and the caller is the timer thread, which takes it here).
    func clientActions(_ cell: TMCell, _ index: Int, _ actions: [TMClientFSM.Action], cancel: Bool,
                       reply: SIPMessage? = nil, upstream: [UInt8]? = nil, worker: ScriptWorkerState? = nil) {
        for a in actions {
            switch a {
            case .retransmitRequest:
                let b = cell.branches[index]
                if let bytes = cancel ? b.cancelRequest : b.request { _ = sender(bytes, b.destination) }
            case .schedule(.clientWait, _):
                // Timers D/K/M only move a finished branch to Terminated; the cell's
                // lifetime follows the server side (wait_timer, as Kamailio), so the entry
                // would fire for nothing, most often after the cell is gone.
                continue
            case .schedule(let kind, let at):
                timers.schedule(TMTimerEntry(due: at, cell: cell.id, kind: kind, branch: cancel ? -2 - index : index))
            case .sendACK:
                guard !cancel, let reply, let req = try? SIPMessage(bytes: cell.branches[index].request),
                      let to = reply.firstHeader(.to) else { continue }
                let ack = Self.buildHopRequest(req, method: "ACK", to: Array(reply.bytes[to.value]))
                _ = sender(ack, cell.branches[index].destination)
            case .passUp(let code):
                guard !cancel else { continue }
                passUp(cell, index, code: code, reply: reply, upstream: upstream, worker: worker)
            case .timedOut:
                guard !cancel else { continue }
                stats.timeouts.wrappingAdd(1, ordering: .relaxed)
                // Kamailio cancels a ringing branch whose fr_inv_timer expired, so the
                // callee stops ringing (§16.8 leaves it to the proxy).
                if cell.isInvite, cell.branches[index].gotProvisional { sendCancel(cell, index) }
                branchFinished(cell, worker: worker)
            }
        }
    }

    /// A reply passed up from branch `index` (§16.7, cell lock held).
    func passUp(_ cell: TMCell, _ index: Int, code: Int, reply: SIPMessage?, upstream: [UInt8]?, worker: ScriptWorkerState?) {
        if code < 200 {
            // §16.7 step 5: provisionals other than 100 go upstream at once.
            if code > 100, let upstream {
                stats.relayedReplies.wrappingAdd(1, ordering: .relaxed)
                sendUpstream(cell, bytes: upstream, code: code, reply: reply, locked: true)
            }
            return
        }
        if code < 300 {
            // §16.7 step 5: a 2xx goes upstream at once; §16.7 step 10: cancel the rest.
            if let upstream {
                stats.relayedReplies.wrappingAdd(1, ordering: .relaxed)
                sendUpstream(cell, bytes: upstream, code: code, reply: reply, locked: true)
            }
            if cell.isInvite {
                for i in cell.branches.indices where i != index && cell.branches[i].fsm.isPending { cancelBranch(cell, i) }
            }
            return
        }
        branchFinished(cell, worker: worker)
    }

    /// A branch got its final reply or timed out: when none is pending, pick the best
    /// final (§16.7 step 6), give failure_route its chance, then send it (lock held).
    func branchFinished(_ cell: TMCell, worker: ScriptWorkerState?) {
        guard !cell.hasPendingBranch, !cell.server.hasFinal else { return }
        guard let best = Self.bestBranch(cell.branches, mode: cfg.failureReplyMode(), round: cell.round)
        else { return }
        var code = cell.branches[best].fsm.code
        if cell.canceled && cell.branches[best].reply == nil { code = 487 }
        if let fr = cell.onFailure, let script = cell.script ?? script.withLock({ $0 }), runFailureRoute(cell, fr, script, best: best, code: code, worker: worker) {
            return
        }
        if let bytes = cell.branches[best].reply {
            stats.relayedReplies.wrappingAdd(1, ordering: .relaxed)
            sendUpstream(cell, bytes: bytes, code: code, reply: try? SIPMessage(bytes: bytes), locked: true)
        } else {
            sendLocalReply(cell, code: code, reason: code == 487 ? "Request Terminated" : "Request Timeout",
                           ctx: nil, locked: true)
        }
    }

    /// Runs failure_route over the request; true when it started new branches or replied.
    /// `worker` is the script state of the calling thread; nil on the timer thread.
    func runFailureRoute(_ cell: TMCell, _ route: ScriptRouteRef, _ script: LoadedScript, best: Int, code: Int,
                         worker: ScriptWorkerState?) -> Bool {
        guard let msg = try? SIPMessage(bytes: cell.forwardBase),
              let worker = worker ?? timerWorker.withLock({ $0 }) else { return false }
        cell.onFailure = nil  // a failure_route is armed once (t_on_failure again to re-arm)
        let ctx = ScriptContext(message: msg, receive: cell.info, worker: worker, services: cell.services,
                                routeType: .failure)
        ctx.flags = cell.flags
        ctx.avps = cell.avps
        let s = ctx.tm
        s.cell = cell
        s.cellLocked = true
        ctx.heldLocks = 1  // the cell lock: the debugger must not park here
        s.replyCode = code
        s.replyBytes = cell.branches[best].reply
        s.branchIndex = cell.branches.count  // Kamailio: the index the next branch gets
        s.pickedBranch = best
        ctx.core.forcedSocket = cell.forcedSocket
        ctx.core.branchEdits = cell.branchEdits
        s.contactGroups = cell.contactGroups
        _ = script.run(route, ctx)
        cell.contactGroups = s.contactGroups
        cell.flags = ctx.flags
        return s.relayedInFailure || s.repliedInFailure || cell.server.hasFinal
    }

    /// The branch whose final reply goes upstream (§16.7 step 6): a 6xx first, else the
    /// lowest class, preferring 401/407/415/420/484 among 4xx, and a real reply over a
    /// local 408. `mode` is failure_reply_mode: 0 considers every branch; 1 and 3 only
    /// those of the last serial step (`round`: the branches a failure_route added), 2 only
    /// the last branch.
    static func bestBranch(_ branches: [TMBranch], mode: Int = 0, round: Int = 0) -> Int? {
        func rank(_ b: TMBranch) -> Int {
            let c = b.fsm.code
            switch c {
            case 600...699: return 0
            case 300...399: return 10
            case 401, 407, 415, 420, 484: return 20
            case 408 where b.reply == nil: return 25
            case 400...499: return 21
            case 500...599: return 30
            default: return 40
            }
        }
        var best: Int?
        for i in branches.indices where branches[i].fsm.code >= 300 && !branches[i].dropped {
            switch mode {
            case 1, 3: if branches[i].round != round && branches.contains(where: { $0.round == round }) { continue }
            case 2: if i != branches.count - 1 { continue }
            default: break
            }
            if best.map({ rank(branches[i]) < rank(branches[$0]) }) ?? true { best = i }
        }
        return best
    }

    /// A timer fired on the timer thread: the server transaction (branch -1), a branch,
    /// or a branch's CANCEL (-2 - branch).
    public func timerFired(_ e: TMTimerEntry) {
        guard let cell = table.cell(e.cell) else { return }
        let t = e.due
        if e.branch == -1 {
            let actions = cell.lock.withLock { cell.server.timerFired(e.kind, now: t) }
            serverActions(cell, actions)
            return
        }
        let cancel = e.branch <= -2
        let index = cancel ? -2 - e.branch : e.branch
        cell.lock.lock()
        guard index < cell.branches.count, !cell.removed else {
            cell.lock.unlock()
            return
        }
        let actions: [TMClientFSM.Action]
        if cancel {
            actions = cell.branches[index].cancel?.timerFired(e.kind, now: t) ?? []
        } else {
            actions = cell.branches[index].fsm.timerFired(e.kind, now: t)
        }
        clientActions(cell, index, actions, cancel: cancel)
        let done = !cell.hasPendingBranch && cell.server.state == .terminated
        cell.lock.unlock()
        if done { finish(cell) }
    }
}
