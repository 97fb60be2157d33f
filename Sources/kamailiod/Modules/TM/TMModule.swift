import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Counters of the tm module (what `tm.stats` and Kamailio's `tmx:` statistics show).
public final class TMStatistics: Sendable {
    /// Transactions created for received requests (tmx `UAS_transactions`).
    public let total = Atomic<UInt64>(0)
    /// Transactions created for local requests (tm.stats `total_local`, tmx
    /// `UAC_transactions`); TMUAC counts them.
    public let totalLocal = Atomic<UInt64>(0)
    /// Replies sent upstream (relayed or local), by class 1xx...6xx (index 1...6).
    let byClass = Mutex<[UInt64]>([UInt64](repeating: 0, count: 7))
    /// Replies sent upstream, provisional ones included (`rpl_sent`).
    public let sent = Atomic<UInt64>(0)
    /// Replies received from downstream for one of our branches (`rpl_received`).
    public let received = Atomic<UInt64>(0)
    /// Replies generated locally: t_reply, 100 Trying, 408, 487... (`rpl_generated`).
    public let localReplies = Atomic<UInt64>(0)
    /// Replies relayed from a branch (`rpl_relayed`).
    public let relayedReplies = Atomic<UInt64>(0)
    /// Request retransmissions absorbed.
    public let retransmissions = Atomic<UInt64>(0)
    /// INVITE transactions canceled.
    public let canceled = Atomic<UInt64>(0)
    /// Branches that timed out.
    public let timeouts = Atomic<UInt64>(0)

    /// Counts one reply sent upstream.
    func count(_ code: Int) {
        sent.wrappingAdd(1, ordering: .relaxed)
        let c = code / 100
        if c >= 1 && c <= 6 { byClass.withLock { $0[c] += 1 } }
    }

    /// Replies sent per class, index 1...6 for 1xx...6xx.
    public var repliesByClass: [UInt64] { byClass.withLock { $0 } }
}

/// Transaction-stateful proxying (RFC 3261 §16–17), Kamailio's `tm`.
///
/// A request becomes a transaction with `t_relay()` / `t_newtran()`: the server side
/// answers retransmissions from the last reply and absorbs the ACK of a non-2xx final;
/// each branch is a client transaction with its own retransmission and final-reply
/// timers. Replies come back through `handleReply`, which the daemon calls before its
/// stateless reply path.
public final class TMModule: ScriptModule, TMTimerHandler {
    public let name = "tm"
    /// Transport, listeners and logging.
    let runtime: CoreRuntime
    let table = TMTable()
    /// Counters.
    public let stats = TMStatistics()
    /// The timer thread; started by the daemon through `startTimers()`.
    public let timers = TMTimerQueue()
    /// The runtime parameters (cfg group `tm`: timers, `auto_inv_100`...).
    let cfg: TMCfg
    let script = Mutex<LoadedScript?>(nil)
    /// Script state of the timer thread (failure_route after a timeout runs there).
    let timerWorker = Mutex<ScriptWorkerState?>(nil)
    /// The clock (tests replace it).
    let now: @Sendable () -> UInt64
    /// Where bytes go (tests replace it).
    let sender: @Sendable ([UInt8], Destination) -> Bool
    /// Requests this server makes itself (dialog's BYEs), see TMUAC.swift.
    public let uac: TMUAC

    /// A tm module over `runtime`; `now` and `send` default to the monotonic clock and
    /// the runtime's transport.
    public init(runtime: CoreRuntime, now: (@Sendable () -> UInt64)? = nil,
                send: (@Sendable ([UInt8], Destination) -> Bool)? = nil) {
        self.runtime = runtime
        cfg = TMCfg(runtime.cfg)
        let clock = now ?? tmNowMilliseconds
        self.now = clock
        let sender = send ?? { [runtime] b, d in runtime.send(b, to: d) }
        self.sender = sender
        uac = TMUAC(runtime: runtime, now: clock, send: sender)
        timers.setHandler(self)
        uac.setOwner(self)
    }

    /// Transactions in the table now.
    public var currentTransactions: Int { table.current.load(ordering: .relaxed) }

    /// The timer values of a transaction created for the message in `ctx` (nil: the newest).
    func timerValues(_ ctx: ScriptContext?) -> TMTimerValues { cfg.timers(ctx, runtime.cfg) }

    /// Starts the timer thread (once the transport runs).
    public func startTimers() { timers.start() }

    /// tm's `modparam` parameters (timers in milliseconds).
    public var parameters: [ScriptModuleParameter] {
        func timer(_ name: String, _ key: @escaping @Sendable (TMCfg) -> CfgIntKey) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .int) { [self] v throws(ScriptFixupError) in
                let n = Int(v.intValue)
                guard n > 0 else { throw ScriptFixupError("\(name) must be a positive number of milliseconds, found \(n)") }
                runtime.cfg.setInitial(key(cfg), n)
            }
        }
        return [
            timer("fr_timer") { $0.fr },
            timer("fr_inv_timer") { $0.frInv },
            timer("wt_timer") { $0.wait },
            timer("wait_timer") { $0.wait },
            timer("retr_timer1") { $0.t1 },
            timer("retr_timer2") { $0.t2 },
            ScriptModuleParameter("auto_inv_100", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(cfg.autoInv100, Int(v.intValue)) },
            ScriptModuleParameter("auto_inv_100_reason", .string) { [self] v throws(ScriptFixupError) in
                runtime.cfg.setInitial(cfg.autoInv100Reason, v.stringValue)
            },
            ScriptModuleParameter("failure_reply_mode", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(cfg.failureReplyMode, Int(v.intValue)) },
            // Stored (cfg.get shows them); what tm does is their default.
            ScriptModuleParameter("restart_fr_on_each_reply", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(cfg.restartFrOnEachReply, Int(v.intValue)) },
            timer("max_inv_lifetime") { $0.maxInvLifetime },
            timer("max_noninv_lifetime") { $0.maxNonInvLifetime },
            ScriptModuleParameter("unix_tx_timeout", .int) { [self] v throws(ScriptFixupError) in runtime.cfg.setInitial(cfg.unixTxTimeout, Int(v.intValue)) },
            ScriptModuleParameter("contacts_avp", .string) { _ throws(ScriptFixupError) in },
            ScriptModuleParameter("contact_flows_avp", .string) { _ throws(ScriptFixupError) in },
        ]
    }

    /// After a script reload: transactions keep the script they started with (`TMCell.script`);
    /// this one is for the timer thread's state and cells without one.
    public func scriptReloaded(_ new: LoadedScript) {
        script.withLock { $0 = new }
        timerWorker.withLock { $0 = new.makeWorkerState(worker: 10_000) }
    }

    /// Idle: the storage of empty hash buckets goes, and so do the timer entries of
    /// transactions already freed.
    public func releaseIdleMemory() {
        table.releaseEmptyStorage()
        timers.compact { [table] e in table.cell(e.cell) != nil }
    }

    /// Keeps the script for failure/onreply routes and makes the timer thread's script state.
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        script.withLock { $0 = context.script }
        timerWorker.withLock { $0 = context.script.makeWorkerState(worker: 10_000) }
    }

    /// tm's script functions.
    public var functions: [ScriptFunction] {
        let anyRoute: ScriptRouteMask = [.request, .failure, .onreply, .branch]
        func route(_ type: ScriptRouteType) -> @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
            { f throws(ScriptError) in ScriptFixedArgs([.route(try f.fixupRoute(0, type))]) }
        }
        let codeFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            var args = try f.defaultArgs()
            if case .int(let c) = args[0], !(100...699).contains(c) {
                throw f.error("reply code must be 100-699, found \(c)", argument: 0)
            }
            if case .string(let s) = args[0], let c = ScriptValue.parseInt(s[...]) {
                guard (100...699).contains(c) else { throw f.error("reply code must be 100-699, found \(c)", argument: 0) }
                args.values[0] = .int(c)
            }
            return args
        }
        return [
            ScriptFunction("t_relay", arity: 0...1, routes: [.request, .failure], fixup: { f throws(ScriptError) in
                guard !f.arguments.isEmpty else { return ScriptFixedArgs([]) }
                let text = try f.fixupString(0)
                guard let t = TMTarget(text) else { throw f.error("expected proto:host:port, found \"\(text)\"", argument: 0) }
                return ScriptFixedArgs([.custom(t)])
            }) { [self] ctx, args in
                relay(ctx, target: args.custom(0, as: TMTarget.self))
            },
            ScriptFunction("t_relay_to_udp", arity: 0...2, routes: [.request, .failure]) { [self] ctx, args in
                relay(ctx, target: args.count == 2 ? TMTarget(proto: .udp, host: ctx.bytes(args[0]), port: UInt16(clamping: ctx.int(args[1]))) : nil,
                      proto: .udp)
            },
            ScriptFunction("t_relay_to_tcp", arity: 0...2, routes: [.request, .failure]) { [self] ctx, args in
                relay(ctx, target: args.count == 2 ? TMTarget(proto: .tcp, host: ctx.bytes(args[0]), port: UInt16(clamping: ctx.int(args[1]))) : nil,
                      proto: .tcp)
            },
            ScriptFunction("t_relay_to_tls", arity: 0...2, routes: [.request, .failure]) { [self] ctx, args in
                relay(ctx, target: args.count == 2 ? TMTarget(proto: .tls, host: ctx.bytes(args[0]), port: UInt16(clamping: ctx.int(args[1]))) : nil,
                      proto: .tls)
            },
            // Kamailio's older name: t_relay() for anything but ACK.
            ScriptFunction("t_forward_nonack", arity: 0...2, routes: [.request, .failure]) { [self] ctx, args in
                guard ctx.message.method != .ack else { return -1 }
                return relay(ctx, target: args.count == 2 ? TMTarget(proto: .udp, host: ctx.bytes(args[0]), port: UInt16(clamping: ctx.int(args[1]))) : nil)
            },
            ScriptFunction("t_newtran", arity: 0...0, routes: [.request]) { [self] ctx, _ in
                newTransaction(ctx)
            },
            ScriptFunction("t_reply", arity: 2...2, routes: [.request, .failure], fixup: codeFixup) { [self] ctx, args in
                reply(ctx, code: Int(ctx.int(args[0])), reason: ctx.string(args[1]))
            },
            ScriptFunction("t_check_trans", arity: 0...0, routes: [.request, .failure, .onreply, .branch]) { [self] ctx, _ in
                checkTransaction(ctx)
            },
            ScriptFunction("t_precheck_trans", arity: 0...0, routes: [.request]) { [self] ctx, _ in
                // Kamailio tracks requests being processed by other workers; our table
                // insert already settles that race, so this says whether one exists.
                guard let key = matchKey(ctx) else { return -1 }
                let m = ctx.message.method
                return table.find(key, method: m == .ack ? .invite : m, ack: m == .ack) != nil ? 1 : -1
            },
            ScriptFunction("t_on_failure", arity: 1...1, routes: [.request, .failure, .branch], fixup: route(.failure)) { [self] ctx, args in
                guard case .route(let r) = args[0] else { return -1 }
                ctx.tm.onFailure = r
                if let c = ctx.tm.cell { withCell(c, locked: ctx.tm.cellLocked) { c.onFailure = r } }
                return 1
            },
            ScriptFunction("t_on_reply", arity: 1...1, routes: [.request, .failure, .branch], fixup: route(.onreply)) { [self] ctx, args in
                guard case .route(let r) = args[0] else { return -1 }
                ctx.tm.onReply = r
                if let c = ctx.tm.cell { withCell(c, locked: ctx.tm.cellLocked) { c.onReply = r } }
                return 1
            },
            ScriptFunction("t_on_branch", arity: 1...1, routes: [.request, .failure], fixup: route(.branch)) { [self] ctx, args in
                guard case .route(let r) = args[0] else { return -1 }
                ctx.tm.onBranch = r
                if let c = ctx.tm.cell { withCell(c, locked: ctx.tm.cellLocked) { c.onBranch = r } }
                return 1
            },
            ScriptFunction("t_is_set", arity: 1...1, routes: anyRoute) { ctx, args in
                let s = ctx.tm
                switch ctx.string(args[0]) {
                case "failure_route": return s.onFailure != nil ? 1 : -1
                case "onreply_route": return s.onReply != nil ? 1 : -1
                case "branch_route": return s.onBranch != nil ? 1 : -1
                default: return -1
                }
            },
            ScriptFunction("t_is_canceled", arity: 0...0, routes: anyRoute) { ctx, _ in
                guard let c = ctx.tm.cell else { return -1 }
                return c.canceled ? 1 : -1
            },
            ScriptFunction("t_check_status", arity: 1...1, routes: anyRoute, fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.regex(try f.fixupRegex(0))])
            }) { ctx, args in
                guard case .regex(let r) = args[0] else { return -1 }
                let code = ctx.message.isRequest ? ctx.tm.replyCode : ctx.message.statusCode
                return r.matches(ScriptValue.decimal(Int32(code))) ? 1 : -1
            },
            ScriptFunction("t_set_fr", arity: 1...2, routes: [.request, .failure, .branch, .onreply]) { [self] ctx, args in
                let inv = UInt64(max(0, ctx.int(args[0])))
                let non = args.count > 1 ? UInt64(max(0, ctx.int(args[1]))) : 0
                let s = ctx.tm
                if inv > 0 { s.frInv = inv }
                if non > 0 { s.fr = non }
                if let c = s.cell { changeFinalTimeouts(c, fr: non, frInv: inv, locked: s.cellLocked) }
                return 1
            },
            ScriptFunction("t_reset_fr", arity: 0...0, routes: [.request, .failure, .branch, .onreply]) { [self] ctx, _ in
                let s = ctx.tm
                s.fr = nil
                s.frInv = nil
                if let c = s.cell {
                    let v = timerValues(ctx)
                    changeFinalTimeouts(c, fr: v.fr, frInv: v.frInv, locked: s.cellLocked)
                }
                return 1
            },
            // The branch that ended failure_route's wait ($T_branch_idx) timed out / got a
            // reply; any branch did. A branch replied when anything (a 1xx too) came back.
            ScriptFunction("t_branch_timeout", arity: 0...0, routes: [.failure]) { ctx, _ in
                Self.branch(ctx) { Self.timedOut($0) } ? 1 : -1
            },
            ScriptFunction("t_any_timeout", arity: 0...0, routes: [.failure, .onreply]) { ctx, _ in
                ctx.tm.cell?.branches.contains { Self.timedOut($0) } == true ? 1 : -1
            },
            ScriptFunction("t_branch_replied", arity: 0...0, routes: [.failure]) { ctx, _ in
                Self.branch(ctx) { Self.replied($0) } ? 1 : -1
            },
            ScriptFunction("t_any_replied", arity: 0...0, routes: [.failure, .onreply]) { ctx, _ in
                ctx.tm.cell?.branches.contains { Self.replied($0) } == true ? 1 : -1
            },
            // Serial forking (RFC 3261 §16.6: targets by decreasing q): the R-URI and the
            // appended branches are grouped by q; each t_next_contacts() takes the next group.
            ScriptFunction("t_load_contacts", arity: 0...1, routes: [.request, .failure]) { ctx, _ in
                let s = ctx.tm
                guard !s.branches.isEmpty else { return 1 }  // one target: nothing to order
                var all = [TMBranchTarget(uri: ctx.requestURIBytes, destination: ctx.destinationURI,
                                          socket: ctx.core.forcedSocket, ruid: s.ruid)] + s.branches
                all = all.enumerated().sorted { a, b in
                    a.element.q != b.element.q ? a.element.q > b.element.q : a.offset < b.offset
                }.map(\.element)
                var groups: [[TMBranchTarget]] = []
                for t in all {
                    if let last = groups.last?.first, last.q == t.q { groups[groups.count - 1].append(t) } else { groups.append([t]) }
                }
                s.contactGroups = groups
                s.branches = []
                return 1
            },
            ScriptFunction("t_next_contacts", arity: 0...0, routes: [.request, .failure]) { ctx, _ in
                let s = ctx.tm
                guard !s.contactGroups.isEmpty else { return -1 }
                let group = s.contactGroups.removeFirst()
                guard let first = group.first else { return -1 }
                ctx.setRequestURI(first.uri)
                ctx.destinationURI = first.destination
                ctx.core.forcedSocket = first.socket
                s.ruid = first.ruid
                s.branches = Array(group.dropFirst())
                return 1
            },
            // The replies received so far no longer compete for the final reply: "a" (the
            // default) all of them, "l" those of the last step, "n" none.
            ScriptFunction("t_drop_replies", arity: 0...1, routes: [.failure]) { ctx, args in
                guard let c = ctx.tm.cell else { return -1 }
                let mode = args.count > 0 ? ctx.string(args[0]) : "a"
                guard mode != "n" else { return 1 }
                for i in c.branches.indices where mode != "l" || c.branches[i].round == c.round {
                    c.branches[i].dropped = true
                }
                return 1
            },
            // Header edits of request_route already travel with the transaction (its
            // request is stored as edited), so failure_route sees them without this.
            ScriptFunction("t_save_lumps", arity: 0...0, routes: [.request]) { _, _ in 1 },
            ScriptFunction("append_branch", arity: 0...2, routes: [.request, .failure]) { ctx, args in
                let uri = args.count > 0 ? ctx.bytes(args[0]) : ctx.requestURIBytes
                guard (try? SIPURI(bytes: uri[...])) != nil else { return -1 }
                var q = 1000
                if args.count > 1, let v = Double(ctx.string(args[1])) { q = Int(v * 1000) }
                ctx.tm.branches.append(TMBranchTarget(uri: uri, destination: args.count > 0 ? nil : ctx.destinationURI, q: q,
                                                      socket: ctx.core.forcedSocket))
                return 1
            },
        ]
    }
}

extension TMModule {
    /// New final-reply timeouts for a running transaction (0 keeps one): for branches
    /// still to come, and for the pending ones from now on (Kamailio updates them on the fly).
    func changeFinalTimeouts(_ c: TMCell, fr: UInt64, frInv: UInt64, locked: Bool) {
        let t = now()
        withCell(c, locked: locked) {
            if frInv > 0 { c.timers.frInv = frInv }
            if fr > 0 { c.timers.fr = fr }
            for i in c.branches.indices {
                let actions = c.branches[i].fsm.changeFinalTimeouts(fr: fr, frInv: frInv, now: t)
                clientActions(c, i, actions, cancel: false)
            }
        }
    }

    /// True when `test` holds for the branch failure_route is about (the one whose reply won).
    static func branch(_ ctx: ScriptContext, _ test: (TMBranch) -> Bool) -> Bool {
        guard let c = ctx.tm.cell, c.branches.indices.contains(ctx.tm.pickedBranch) else { return false }
        return test(c.branches[ctx.tm.pickedBranch])
    }

    /// The branch ended without a final reply (tm's local 408).
    static func timedOut(_ b: TMBranch) -> Bool { b.fsm.code == 408 && b.reply == nil }

    /// The branch had a provisional reply: Kamailio 5.6.3 counts only those (a final
    /// reply alone leaves t_branch_replied/t_any_replied false; checked against it).
    static func replied(_ b: TMBranch) -> Bool { b.gotProvisional }
}

/// A fixed next hop from `t_relay("udp:host:port")`.
struct TMTarget: Sendable {
    /// Transport.
    var proto: TransportProto
    /// Host or address.
    var host: [UInt8]
    /// Port (the transport's default when not written).
    var port: UInt16

    /// A target from its parts.
    init(proto: TransportProto, host: [UInt8], port: UInt16) {
        self.proto = proto
        self.host = host
        self.port = port
    }

    /// Parses `[proto:]host[:port]`.
    init?(_ text: String) {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        proto = .udp
        if parts.count > 1, let p = TransportProto(name: parts[0].lowercased()) {
            proto = p
            parts.removeFirst()
        }
        guard let h = parts.first, !h.isEmpty else { return nil }
        host = Array(h.utf8)
        if parts.count > 1 {
            guard let p = UInt16(parts[1]) else { return nil }
            port = p
        } else {
            port = proto.defaultPort
        }
    }

    /// The target as a SIP URI (`sip:host:port;transport=x`).
    var uri: [UInt8] {
        var u = Array("sip:".utf8) + host + [UInt8(ascii: ":")] + ScriptValue.decimal(Int32(port))
        if proto != .udp { u += Array(";transport=\(proto.name)".utf8) }
        return u
    }
}
