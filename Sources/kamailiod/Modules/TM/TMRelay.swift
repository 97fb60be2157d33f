import SIPCore
import SIPTransport
import ScriptEngine

/// The request side of tm: creating transactions, absorbing retransmissions, sending
/// branches, local replies and CANCEL.
extension TMModule {
    /// The match key of the request in request_route, built on first use.
    func matchKey(_ ctx: ScriptContext) -> TMMatchKey? {
        let s = ctx.tm
        if let k = s.matchKey { return k }
        let k = TMMatchKey(ctx.message)
        s.matchKey = .some(k)
        return k
    }

    /// Runs `body` under the cell's lock unless the caller already holds it (failure_route).
    func withCell<T>(_ cell: TMCell, locked: Bool, _ body: () -> T) -> T {
        if locked { return body() }
        return cell.lock.withLock(body)
    }

    /// `t_check_trans()`: CANCEL → 1 when its INVITE exists; ACK to a non-2xx final of a
    /// transaction → absorbed, 0 (the script stops); a retransmission → the last reply
    /// is sent again, 0; otherwise -1.
    func checkTransaction(_ ctx: ScriptContext) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, let key = matchKey(ctx) else { return -1 }
        switch msg.method {
        case .cancel:
            return table.find(key, method: .invite, ack: false) != nil ? 1 : -1
        case .ack:
            guard let cell = table.find(key, method: .invite, ack: true) else { return -1 }
            return ackMatched(cell) ? 0 : 1
        default:
            guard let cell = table.find(key, method: msg.method, ack: false) else { return -1 }
            retransmission(cell)
            return 0
        }
    }

    /// An ACK matched an INVITE transaction: true when it acknowledges our non-2xx final
    /// and ends here (§17.2.1, hop by hop); false for an ACK to a 2xx (end to end, §13.2.2.4).
    func ackMatched(_ cell: TMCell) -> Bool {
        let t = now()
        let (absorbed, actions) = cell.lock.withLock { cell.server.ackReceived(now: t) }
        serverActions(cell, actions)
        return absorbed
    }

    /// A request retransmission: replay the last reply (§17.2.1, §17.2.2).
    func retransmission(_ cell: TMCell) {
        stats.retransmissions.wrappingAdd(1, ordering: .relaxed)
        let actions = cell.lock.withLock { cell.server.requestRetransmitted() }
        serverActions(cell, actions)
    }

    /// Carries out what the server transaction asked for.
    func serverActions(_ cell: TMCell, _ actions: [TMServerFSM.Action]) {
        for a in actions {
            switch a {
            case .resendLastReply:
                if let r = cell.lock.withLock({ cell.lastReply }) { _ = sender(r, cell.replyDestination) }
            case .schedule(let kind, let at):
                timers.schedule(TMTimerEntry(due: at, cell: cell.id, kind: kind, branch: -1))
            case .terminated:
                finish(cell)
            }
        }
    }

    /// Removes a finished transaction once no branch waits any more.
    func finish(_ cell: TMCell) {
        let gone: Bool = cell.lock.withLock {
            guard !cell.removed, cell.server.state == .terminated, !cell.hasPendingBranch else { return false }
            cell.removed = true
            return true
        }
        if gone { table.remove(cell) }
    }

    /// `t_newtran()`: 1 with a new transaction, 0 for a retransmission (absorbed), -1 on error.
    func newTransaction(_ ctx: ScriptContext) -> Int32 {
        switch lookupOrCreate(ctx) {
        case .created, .existing: return 1
        case .retransmission: return 0
        case .failed: return -1
        }
    }

    /// What `lookupOrCreate` found.
    enum Lookup {
        case created(TMCell), existing(TMCell), retransmission, failed
    }

    /// The transaction of the request in `ctx`: the one made earlier for this message,
    /// a new one, or `.retransmission` when the table already had it.
    func lookupOrCreate(_ ctx: ScriptContext) -> Lookup {
        let s = ctx.tm
        if let c = s.cell { return .existing(c) }
        let msg = ctx.message
        guard msg.isRequest, msg.method != .ack, let key = matchKey(ctx) else { return .failed }
        if let c = table.find(key, method: msg.method, ack: false) {
            retransmission(c)
            return .retransmission
        }
        let t = now()
        var v = timerValues(ctx)
        if let fr = s.fr { v.fr = fr }
        if let fi = s.frInv { v.frInv = fi }
        let dest = runtime.replyDestination(for: msg, info: ctx.receive, forceRport: ctx.core.forceRport)
        let cell = TMCell(id: table.makeID(bucket: key.bucket(table.count)), key: key, msg: msg, info: ctx.receive,
                          services: ctx.services, replyDestination: dest, timers: v, now: t)
        let (c, inserted) = table.insert(cell)
        guard inserted else {
            retransmission(c)
            return .retransmission
        }
        stats.total.wrappingAdd(1, ordering: .relaxed)
        s.cell = c
        c.onFailure = s.onFailure
        c.onReply = s.onReply
        c.onBranch = s.onBranch
        c.script = ctx.script
        c.flags = ctx.flags
        // §17.2.1: a stateful proxy answers an INVITE with 100 at once so the
        // upstream stops retransmitting (Kamailio's auto_inv_100).
        if msg.method == .invite, cfg.autoInv100(ctx) != 0 {
            sendLocalReply(c, code: 100, reason: cfg.autoInv100Reason(ctx) ?? "Trying", ctx: ctx)
        }
        return .created(c)
    }

    /// `t_reply(code, reason)`: a reply sent statefully, creating the transaction if needed.
    func reply(_ ctx: ScriptContext, code: Int, reason: String) -> Int32 {
        let s = ctx.tm
        if ctx.routeType == .failure, let c = s.cell {
            s.repliedInFailure = true
            return sendLocalReply(c, code: code, reason: reason, ctx: ctx, locked: s.cellLocked) ? 1 : -1
        }
        switch lookupOrCreate(ctx) {
        case .created(let c), .existing(let c):
            return sendLocalReply(c, code: code, reason: reason, ctx: ctx) ? 1 : -1
        case .retransmission: return 0
        case .failed: return -1
        }
    }

    /// Builds and sends a local reply through the server transaction, keeping it for
    /// retransmissions. The To-tag is the deterministic one sl uses (§8.2.6.2).
    @discardableResult
    func sendLocalReply(_ cell: TMCell, code: Int, reason: String, ctx: ScriptContext?, locked: Bool = false) -> Bool {
        // In request_route the message is the received request: no need to parse it again.
        let req: SIPMessage
        if let ctx, ctx.routeType == .request, ctx.message.bytes.count == cell.request.count {
            req = ctx.message
        } else {
            guard let m = try? SIPMessage(bytes: cell.request) else { return false }
            req = m
        }
        var b = SIPReplyBuilder(statusCode: code, reason: reason)
        b.sourceAddress = cell.info.source.ipBytes
        b.sourcePort = cell.info.source.port
        b.forceRport = ctx?.core.forceRport ?? false
        b.extraHeaders = ctx?.core.replyHeaders ?? []
        b.server = runtime.serverValue
        // Not sl's tag: sl absorbs ACKs that carry its tag before the script runs, and the
        // ACK of a stateful reply must reach tm to stop Timer G (§17.2.1).
        if code > 100 { b.toTag = SIPReplyBuilder.toTag(for: req, salt: Self.toTagSalt) }  // a 100 has none (§8.2.6.1)
        let bytes = b.build(for: req)
        stats.localReplies.wrappingAdd(1, ordering: .relaxed)
        return sendUpstream(cell, bytes: bytes, code: code, reply: nil, locked: locked)
    }

    /// Sends a reply upstream through the server transaction (local or relayed).
    @discardableResult
    func sendUpstream(_ cell: TMCell, bytes: [UInt8], code: Int, reply: SIPMessage?, locked: Bool) -> Bool {
        let t = now()
        let r: (Bool, [TMServerFSM.Action], [@Sendable (Int, SIPMessage?) -> Void]) = withCell(cell, locked: locked) {
            // A 2xx may follow another 2xx (forked answers, §16.7 step 5); anything
            // else after a final is not sent (§16.7 step 5, §17.2.1).
            if cell.server.hasFinal && !(code >= 200 && code < 300 && cell.isInvite && cell.server.lastCode < 300) {
                return (false, [], [])
            }
            let acts = cell.server.replySent(code, now: t)
            if code >= 100 { cell.lastReply = bytes }
            return (true, acts, code > 100 ? cell.replyCallbacks : [])
        }
        guard r.0 else { return false }
        stats.count(code)
        // Callbacks see the reply before it goes (Kamailio's TMCB_RESPONSE_READY): the
        // dialog is confirmed before the caller can ACK it.
        for cb in r.2 { cb(code, reply) }
        let ok = sender(bytes, cell.replyDestination)
        if locked {
            // failure_route holds the lock; schedule only, termination waits for the timer.
            for a in r.1 { if case .schedule(let k, let at) = a { timers.schedule(TMTimerEntry(due: at, cell: cell.id, kind: k, branch: -1)) } }
        } else {
            serverActions(cell, r.1)
        }
        return ok
    }

    /// `t_relay()`: forwards the request statefully. ACK without a transaction and ACK
    /// to a 2xx go statelessly (§16.10: they are not part of the INVITE transaction);
    /// CANCEL of a known INVITE is answered here and sent on every pending branch (§16.10).
    func relay(_ ctx: ScriptContext, target: TMTarget?, proto: TransportProto? = nil) -> Int32 {
        let msg = ctx.message
        let s = ctx.tm
        if ctx.routeType == .failure {
            guard let cell = s.cell else { return -1 }
            ctx.applyPendingEdits()
            let n = withCell(cell, locked: s.cellLocked) { startBranches(cell, ctx, target: target, proto: proto) }
            if n > 0 { s.relayedInFailure = true }
            return n > 0 ? 1 : (s.relayError ?? .unspecified).rawValue
        }
        guard msg.isRequest else { return -1 }
        if msg.method == .ack {
            if let key = matchKey(ctx), let cell = table.find(key, method: .invite, ack: true), ackMatched(cell) {
                return 0
            }
            guard let uri = targetURI(ctx, target: target, proto: proto) else { return -1 }
            return runtime.forward(ctx, to: uri)
        }
        if msg.method == .cancel, let key = matchKey(ctx), let invite = table.find(key, method: .invite, ack: false) {
            return cancel(invite, ctx)
        }
        switch lookupOrCreate(ctx) {
        case .retransmission: return 0
        case .failed:
            ctx.core.lastError = (500, "Server Internal Error")
            return -1
        case .created(let cell), .existing(let cell):
            cell.replyCallbacks += s.replyCallbacks
            s.replyCallbacks = []
            cell.avps = ctx.avps
            cell.contactGroups = s.contactGroups
            cell.forcedSocket = ctx.core.forcedSocket
            ctx.applyPendingEdits()
            let n = cell.lock.withLock { () -> Int in
                cell.forwardBase = ctx.serializeMessage()
                if !ctx.core.branchEdits.isEmpty {
                    cell.branchEdits = ctx.core.branchEdits.compactMap { $0.carry(into: cell.forwardBase) }
                }
                return startBranches(cell, ctx, target: target, proto: proto)
            }
            if n == 0 {
                // Kamailio keeps the transaction: the script may still t_reply(), else
                // it is answered with the error when request_route ends.
                let e = s.relayError ?? .unspecified
                s.delayedError = e
                ctx.core.lastError = CoreRuntime.unspecifiedErrorReply
                return e.rawValue
            }
            s.delayedError = nil
            return 1
        }
    }

    /// The URI a request goes to: the `t_relay` argument, else `$du`, else the R-URI.
    func targetURI(_ ctx: ScriptContext, target: TMTarget?, proto: TransportProto?) -> SIPURI? {
        // The plain R-URI case reuses the context's parse (in-dialog requests go here).
        if target == nil, ctx.destinationURI == nil, proto == nil || proto == .udp { return ctx.requestURI }
        var bytes = target?.uri ?? ctx.destinationURI ?? ctx.requestURIBytes
        if target == nil, let p = proto, p != .udp { bytes += Array(";transport=\(p.name)".utf8) }
        return try? SIPURI(bytes: bytes[...])
    }

    /// Sends the branches of the request in `ctx` (the main one, then `append_branch`
    /// ones: parallel forking, §16.6); the cell lock is held. Returns how many went out.
    func startBranches(_ cell: TMCell, _ ctx: ScriptContext, target: TMTarget?, proto: TransportProto?) -> Int {
        let s = ctx.tm
        var targets: [(uri: [UInt8], dst: SIPURI?, socket: Int, ruid: [UInt8]?)] = []
        if let t = targetURI(ctx, target: target, proto: proto) {
            targets.append((ctx.requestURIBytes, t, ctx.core.forcedSocket, s.ruid))
        }
        for b in s.branches {
            targets.append((b.uri, b.destination.flatMap { try? SIPURI(bytes: $0[...]) } ?? (try? SIPURI(bytes: b.uri[...])),
                            b.socket, b.ruid))
        }
        s.branches = []
        cell.round += 1
        var sent = 0
        for t in targets {
            guard let dst = t.dst, sendBranch(cell, ctx, uri: t.uri, to: dst, socket: t.socket, ruid: t.ruid) else { continue }
            sent += 1
        }
        return sent
    }

    /// Builds one branch (§16.6: new R-URI, our Via with a branch naming cell and branch
    /// index), runs `branch_route`, sends it and starts its client transaction. `socket`
    /// is the listener forced for it (-1: none; branch_route may change it), `ruid` the
    /// usrloc contact it came from.
    func sendBranch(_ cell: TMCell, _ ctx: ScriptContext, uri: [UInt8], to dst: SIPURI, socket: Int = -1, ruid: [UInt8]? = nil) -> Bool {
        let msg = ctx.message
        guard let host = dst.host else {
            ctx.tm.relayError = .unspecified
            return false
        }
        var proto: TransportProto = dst.scheme == .sips ? .tls : .udp
        if let t = dst.transport, let p = TransportProto(name: SIPBytes.string(t).lowercased()) { proto = p }
        let index = cell.branches.count
        let saved = msg.edits
        defer { msg.edits = saved }
        var uri = uri
        var socket = socket
        // branch_route shares the request's state: its force_send_socket is this branch's only
        let savedSocket = ctx.core.forcedSocket
        defer { ctx.core.forcedSocket = savedSocket }
        ctx.core.forcedSocket = socket
        if let br = cell.onBranch, let script = ctx.script {
            let bctx = ScriptContext(message: msg, receive: ctx.receive, worker: ctx.worker, services: ctx.services, routeType: .branch)
            bctx.flags = ctx.flags
            bctx.avps = ctx.avps
            bctx.setRequestURI(uri)
            bctx.userData = ctx.userData
            bctx.tm.branchIndex = index
            let wasLocked = bctx.tm.cellLocked
            bctx.tm.cellLocked = true  // the caller holds the cell lock (t_set_fr, $T(flags) must not take it again)
            defer { bctx.tm.cellLocked = wasLocked }
            bctx.heldLocks = 1  // branches start under the cell lock: the debugger must not park here
            let r = script.run(br, bctx)
            bctx.tm.branchIndex = 0
            if r.dropped || bctx.dropped { return false }
            uri = bctx.requestURIBytes
            socket = ctx.core.forcedSocket
        }
        guard let addr = runtime.resolve(host.address, port: dst.port ?? proto.defaultPort) else {
            runtime.log(.error, "tm", "t_relay: failed to resolve \"\(host)\"")
            ctx.tm.relayError = .badAddress
            return false
        }
        guard let out = runtime.sendListener(forced: socket, proto: proto, address: addr, preferred: ctx.receive.listenerIndex),
              out.index < runtime.viaPrefixes.count else {
            runtime.log(.error, "tm", "t_relay: can't forward to \(proto.name):\(addr) (no corresponding listening socket)")
            ctx.tm.relayError = .noSocket
            return false
        }
        runtime.fillReceived(msg, info: ctx.receive, forceRport: ctx.core.forceRport)
        if !uri.elementsEqual(msg.requestURIBytes) { msg.setRequestURI(uri) }
        ctx.adjustEditsForBranch(leavingOn: out.index)
        // the whole line in one buffer: this runs for every branch of every request
        let prefix = runtime.viaPrefixes[out.index]
        var via: [UInt8] = []
        via.reserveCapacity(SIPMessage.viaLinePrefix.count + prefix.count + 40)
        via += SIPMessage.viaLinePrefix
        via += prefix
        Self.appendBranchID(cell: cell.id, branch: index, to: &via)
        via.append(SIPASCII.cr)
        via.append(SIPASCII.lf)
        msg.insertTopViaLine(via)
        let bytes = msg.serialize()
        let dest = Destination(proto: proto, address: addr, listenerIndex: out.index)
        var fsm = TMClientFSM(isInvite: cell.isInvite, reliable: proto.isStream, timers: cell.timers)
        fsm.lifetimeEnd = cell.lifetimeEnd
        let actions = fsm.start(now: now())
        cell.branches.append(TMBranch(fsm: fsm, uri: uri, destination: dest, request: bytes, round: cell.round, ruid: ruid))
        _ = sender(bytes, dest)
        clientActions(cell, index, actions, cancel: false)
        return true
    }

    /// Salt of tm's To-tags, so they differ from sl's.
    static let toTagSalt: [UInt8] = Array("tm".utf8)

    /// Our Via branch: the magic cookie (§8.1.1.7), then `tm`, the cell id and the
    /// branch index in hex, so a reply finds its transaction without a search.
    static func branchID(cell: UInt64, branch: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendBranchID(cell: cell, branch: branch, to: &out)
        return out
    }

    /// `branchID` appended to `out`.
    static func appendBranchID(cell: UInt64, branch: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "t"))
        out.append(UInt8(ascii: "m"))
        appendHex(cell, to: &out)
        out.append(UInt8(ascii: "."))
        appendHex(UInt64(branch), to: &out)
    }

    /// Appends `v` in lower-case hex without leading zeros.
    static func appendHex(_ v: UInt64, to out: inout [UInt8]) {
        var started = false
        for shift in stride(from: 60, through: 0, by: -4) {
            let d = UInt8((v >> UInt64(shift)) & 0xf)
            if d != 0 || started || shift == 0 {
                out.append(SIPBytes.hexDigit(d))
                started = true
            }
        }
    }

    private static let branchPrefix: [UInt8] = Array("z9hG4bKtm".utf8)

    /// Parses a branch we made: (cell id, branch index).
    static func parseBranch(_ b: ArraySlice<UInt8>) -> (UInt64, Int)? {
        let prefix = branchPrefix
        guard b.count > prefix.count, b.prefix(prefix.count).elementsEqual(prefix) else { return nil }
        var id: UInt64 = 0
        var idx: UInt64 = 0
        var seenDot = false
        for c in b.dropFirst(prefix.count) {
            let d: UInt64
            switch c {
            case 48...57: d = UInt64(c - 48)
            case 97...102: d = UInt64(c - 87)
            case 46:
                if seenDot { return nil }
                seenDot = true
                continue
            default: return nil
            }
            if seenDot { idx = idx &* 16 &+ d } else { id = id &* 16 &+ d }
        }
        return seenDot ? (id, Int(idx)) : nil
    }

    /// CANCEL of a pending INVITE (§16.10): 200 to the CANCEL, CANCEL on every branch
    /// without a final reply, 487 to the INVITE once the branches answer.
    func cancel(_ invite: TMCell, _ ctx: ScriptContext) -> Int32 {
        switch lookupOrCreate(ctx) {
        case .retransmission: return 0
        case .failed: return -1
        case .created(let c), .existing(let c):
            sendLocalReply(c, code: 200, reason: "canceling", ctx: ctx)
        }
        stats.canceled.wrappingAdd(1, ordering: .relaxed)
        invite.lock.withLock {
            invite.canceled = true
            for i in invite.branches.indices where invite.branches[i].fsm.isPending {
                cancelBranch(invite, i)
            }
        }
        return 1
    }

    /// Sends CANCEL on branch `i` (lock held), or remembers to once it has a provisional
    /// reply (§9.1: a CANCEL must not be sent before one).
    func cancelBranch(_ cell: TMCell, _ i: Int) {
        guard cell.branches[i].cancel == nil else { return }
        guard cell.branches[i].fsm.state == .proceeding else {
            cell.branches[i].cancelPending = true
            return
        }
        sendCancel(cell, i)
    }

    /// Builds, sends and starts the CANCEL client transaction of branch `i` (lock held).
    func sendCancel(_ cell: TMCell, _ i: Int) {
        guard cell.branches[i].cancel == nil, let req = try? SIPMessage(bytes: cell.branches[i].request) else { return }
        let bytes = Self.buildHopRequest(req, method: "CANCEL", to: nil)
        var fsm = TMClientFSM(isInvite: false, reliable: cell.branches[i].destination.proto.isStream, timers: cell.timers)
        let actions = fsm.start(now: now())
        cell.branches[i].cancel = fsm
        cell.branches[i].cancelRequest = bytes
        cell.branches[i].cancelPending = false
        _ = sender(bytes, cell.branches[i].destination)
        clientActions(cell, i, actions, cancel: true)
    }

    /// A CANCEL (§9.1) or an ACK for a non-2xx final (§17.1.1.3) built from the branch
    /// request: same Request-URI, top Via, Call-ID, From, CSeq number and Route set; the
    /// ACK takes To from the reply.
    static func buildHopRequest(_ req: SIPMessage, method: String, to replyTo: [UInt8]?) -> [UInt8] {
        var out = Array("\(method) ".utf8) + req.requestURIBytes + Array(" SIP/2.0\r\n".utf8)
        func line(_ f: SIPHeaderField) { out += req.bytes[f.name.lowerBound..<f.value.upperBound]; out += [13, 10] }
        if let v = try? req.topVia() { out += Array("Via: ".utf8) + req.bytes[v.range] + [13, 10] }
        // Max-Forwards as the request had it, after Via (what Kamailio sends)
        if let f = req.firstHeader(.maxForwards) { line(f) } else { out += Array("Max-Forwards: 70\r\n".utf8) }
        if let f = req.firstHeader(.from) { line(f) }
        if let replyTo { out += Array("To: ".utf8) + replyTo + [13, 10] } else if let f = req.firstHeader(.to) { line(f) }
        if let f = req.firstHeader(.callID) { line(f) }
        if let cs = try? req.cseq() {
            out += Array("CSeq: ".utf8) + ScriptValue.decimal(Int32(bitPattern: cs.number)) + Array(" \(method)\r\n".utf8)
        }
        for f in req.headers(.route) { line(f) }
        out += Array("Content-Length: 0\r\n\r\n".utf8)
        return out
    }
}
