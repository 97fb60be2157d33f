#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Per-message dialog state: the dialog this request belongs to, once known, and what
/// the script set before `dlg_manage()` made it (Kamailio's dialog context).
final class DialogMessageState {
    /// The dialog found or created for this message.
    var dialog: Dialog?
    var looked = false
    /// True once `dlg_manage()` or loose_route's callback processed this message for its
    /// dialog (Kamailio's dialog context): the other one then leaves it alone.
    var routed = false
    /// `$dlg_ctx(timeout_bye)` set before the dialog exists.
    var timeoutBye = false
    /// `dlg_set_timeout()` before the dialog exists.
    var lifetime: Int?
    /// `dlg_setflag()` before the dialog exists.
    var flags: UInt32 = 0
    /// `dlg_set_property()` before the dialog exists (iflags bits).
    var properties: UInt32 = 0
    /// `$dlg_ctx(timeout_route)`: the route[NAME] a dialog made from this message runs
    /// when its lifetime runs out.
    var timeoutRoute: String?
    /// `$DLG_status`, `$DLG_lifetime`: the state the followed request left its dialog in,
    /// and the seconds since the dialog started (nil: the message was not followed).
    var followedStatus: Int?
    var followedAge = 0
}

extension ScriptContext {
    /// The dialog module's per-message state.
    var dialogState: DialogMessageState {
        if let s = userData.dialog { return unsafeDowncast(s, to: DialogMessageState.self) }
        let s = DialogMessageState()
        userData.dialog = s
        return s
    }
}

/// Dialog tracking (Kamailio's `dialog`): `dlg_manage()` on an initial INVITE creates a
/// dialog that follows the INVITE transaction's replies (unconfirmed → early →
/// confirmed, or deleted on a failure); in-dialog requests are followed when
/// `loose_route()` consumes our Route (rr's callback, as in Kamailio) or `dlg_manage()`
/// sees them, however they are then forwarded: ACK confirms, BYE ends, others refresh
/// the lifetime. The module
/// can end a dialog itself with a BYE to each side (dlg_bye, dlg.end_dlg, timeout),
/// sent through tm's local client transactions (TMUAC).
public final class DialogModule: ScriptModule {
    public let name = "dialog"
    /// The transactions the dialogs follow.
    let tm: TMModule
    let table = DialogTable()
    /// Counters.
    public var stats: DialogStatistics { table.stats }
    /// `default_timeout` in seconds: how long a confirmed dialog may last (cfg
    /// `dialog.default_timeout`, kamailiod's group; a modparam only in Kamailio).
    let defaultTimeout: CfgIntKey
    /// `dlg_extra_hdrs`: header lines added to the BYEs this module sends.
    let extraHeaders = Mutex<[UInt8]>([])
    /// Profiles from `profiles_with_value` / `profiles_no_value`: name → has values.
    let profileDefinitions = Mutex<[String: Bool]>([:])
    /// True once the lifetime sweeper thread runs.
    let sweeping = Atomic<Bool>(false)
    let script = Mutex<LoadedScript?>(nil)
    /// Script state for `event_route[dialog:*]` run off a worker (timer, reply callback).
    let eventWorker = Mutex<ScriptWorkerState?>(nil)
    /// `early_timeout`, `noack_timeout`, `end_timeout` in seconds (Kamailio's defaults).
    let earlyTimeout = Atomic<Int>(300)
    let noackTimeout = Atomic<Int>(60)
    let endTimeout = Atomic<Int>(300)
    /// `timeout_noreset`: in-dialog requests do not restart a confirmed dialog's lifetime.
    let timeoutNoReset = Atomic<Bool>(false)
    /// `ka_timer`, `ka_interval`, `ka_failed_limit`, and when the sweep last looked for
    /// keep-alives due (monotonic ms).
    let keepalive = Mutex(DialogKeepaliveSettings())
    let lastKeepaliveCheck = Atomic<UInt64>(0)
    /// `db_url`, `db_mode`, `db_update_period`, and the store they open (db_mode > 0).
    let dbSettings = Mutex(DialogDBSettings())
    let store = Mutex<DialogStore?>(nil)
    /// When db_mode 2 last wrote (monotonic ms).
    let lastFlush = Atomic<UInt64>(0)

    /// The rr module whose `loose_route()` reports in-dialog requests, and whether the
    /// hook is installed.
    let rr: RRModule?
    let followsRoutes = Atomic<Bool>(false)

    /// A dialog module whose dialogs follow the transactions of `tm` and the requests
    /// `rr`'s `loose_route()` routes.
    public init(tm: TMModule, rr: RRModule? = nil) {
        self.tm = tm
        defaultTimeout = tm.runtime.cfg.declareInt("dialog", "default_timeout", 43200,
                                                   "Lifetime in seconds of a dialog created from now on")
        self.rr = rr
    }

    /// Dialogs in the table now.
    public var currentDialogs: Int { table.count }

    /// Keeps the script for `event_route[dialog:start|end|failed]`.
    /// After a script reload, `event_route[dialog:*]` runs the new script's routes, for
    /// dialogs that started before the reload too (they are looked up by name).
    public func scriptReloaded(_ new: LoadedScript) {
        script.withLock { $0 = new }
        eventWorker.withLock { $0 = new.makeWorkerState(worker: 10_001) }
    }

    /// Idle: the storage of empty hash buckets goes.
    public func releaseIdleMemory() { table.releaseEmptyStorage() }

    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        // Hooked only when the script loads dialog: a script without it (the stateless
        // proxy) pays nothing for dialog lookups in loose_route().
        if !followsRoutes.exchange(true, ordering: .relaxed) {
            rr?.addLooseRouteHook { [weak self] ctx, params in self?.followRequest(ctx, routeParams: params) }
        }
        script.withLock { $0 = context.script }
        eventWorker.withLock { $0 = context.script.makeWorkerState(worker: 10_001) }
        // once: a script reload keeps the open store and the dialogs in memory
        if store.withLock({ $0 }) == nil { try openStore(services: context.services) }
    }

    /// dialog's `modparam` parameters.
    public var parameters: [ScriptModuleParameter] {
        // Accepted for Kamailio scripts; what they select is what we do (memory only).
        let ignored: [(String, ScriptModuleParameter.Kind)] = [
            ("dlg_flag", .int), ("enable_stats", .int), ("hash_size", .int),
            ("dlg_match_mode", .int), ("track_cseq_updates", .int), ("detect_spirals", .int), ("rr_param", .string),
            ("timeout_avp", .string),
        ]
        func seconds(_ name: String, _ store: @escaping @Sendable (Int) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .int) { v throws(ScriptFixupError) in
                guard v.intValue > 0 else { throw ScriptFixupError("\(name) must be a positive number of seconds, found \(v.intValue)") }
                store(Int(v.intValue))
            }
        }
        func profiles(_ name: String, values: Bool) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .string) { [self] v throws(ScriptFixupError) in
                for p in v.stringValue.split(separator: ";") {
                    let n = p.split(separator: " ").joined()
                    guard !n.isEmpty else { continue }
                    guard n.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                        throw ScriptFixupError("\(name): bad profile name \"\(n)\" (letters, digits, _ and - only)")
                    }
                    profileDefinitions.withLock { $0[n] = values }
                }
            }
        }
        return ignored.map { n in ScriptModuleParameter(n.0, n.1) { _ throws(ScriptFixupError) in } }
            + [
                ScriptModuleParameter("default_timeout", .int) { [self] v throws(ScriptFixupError) in
                    guard v.intValue > 0 else { throw ScriptFixupError("default_timeout must be a positive number of seconds, found \(v.intValue)") }
                    tm.runtime.cfg.setInitial(defaultTimeout, Int(v.intValue))
                },
                ScriptModuleParameter("dlg_extra_hdrs", .string) { [self] v throws(ScriptFixupError) in
                    var h = Array(v.stringValue.utf8)
                    if !h.isEmpty, h.suffix(2) != [13, 10] { h += [13, 10] }
                    extraHeaders.withLock { $0 = h }
                },
                seconds("early_timeout") { [self] in earlyTimeout.store($0, ordering: .relaxed) },
                seconds("noack_timeout") { [self] in noackTimeout.store($0, ordering: .relaxed) },
                seconds("end_timeout") { [self] in endTimeout.store($0, ordering: .relaxed) },
                seconds("db_update_period") { [self] v in dbSettings.withLock { $0.updatePeriod = v } },
                ScriptModuleParameter("ka_timer", .int) { [self] v throws(ScriptFixupError) in
                    guard v.intValue >= 0 else { throw ScriptFixupError("ka_timer must be 0 (off) or a number of seconds, found \(v.intValue)") }
                    keepalive.withLock { $0.timer = Int(v.intValue) }
                },
                ScriptModuleParameter("ka_interval", .int) { [self] v throws(ScriptFixupError) in
                    // Kamailio refuses to start below 30 s too
                    guard v.intValue == 0 || v.intValue >= 30 else {
                        throw ScriptFixupError("ka_interval must be 0 (off) or at least 30 seconds, found \(v.intValue)")
                    }
                    keepalive.withLock { $0.interval = Int(v.intValue) }
                },
                ScriptModuleParameter("ka_failed_limit", .int) { [self] v throws(ScriptFixupError) in
                    guard v.intValue > 0 else { throw ScriptFixupError("ka_failed_limit must be at least 1, found \(v.intValue)") }
                    keepalive.withLock { $0.failedLimit = Int(v.intValue) }
                },
                ScriptModuleParameter("timeout_noreset", .int) { [self] v throws(ScriptFixupError) in
                    timeoutNoReset.store(v.intValue != 0, ordering: .relaxed)
                },
                ScriptModuleParameter("db_url", .string) { [self] v throws(ScriptFixupError) in
                    dbSettings.withLock { $0.url = v.stringValue }
                },
                ScriptModuleParameter("db_mode", .int) { [self] v throws(ScriptFixupError) in
                    guard let m = DialogDBMode(rawValue: Int(v.intValue)) else {
                        throw ScriptFixupError("db_mode must be 0, 1, 2 or 3, found \(v.intValue)")
                    }
                    dbSettings.withLock { $0.mode = m }
                },
                profiles("profiles_with_value", values: true),
                profiles("profiles_no_value", values: false),
            ]
    }

    /// Wall-clock seconds (dialog timestamps are epoch seconds, as in Kamailio).
    static func now() -> Int { Int(time(nil)) }

    /// The dialog of the message in `ctx`: the one `dlg_manage()` made, or the one its
    /// Call-ID and tags name.
    func current(_ ctx: ScriptContext) -> Dialog? {
        let s = ctx.dialogState
        if s.dialog != nil || s.looked { return s.dialog }
        s.looked = true
        let msg = ctx.message
        guard let cid = msg.callID, let from = msg.fromTag else { return nil }
        let to = msg.toTag
        // replies: From/To are the caller's view as in the request
        s.dialog = table.find(callID: cid, fromTag: from, toTag: to)
        return s.dialog
    }

    /// Keeps each side's highest CSeq from its in-dialog requests, so our own BYEs use a
    /// higher one (§12.2.1.1); ACK and CANCEL reuse their INVITE's number.
    func trackCSeq(_ d: Dialog, _ msg: SIPMessage, fromCaller: Bool) {
        guard msg.method != .ack, msg.method != .cancel, let n = (try? msg.cseq())?.number else { return }
        table.update(d) { d in
            if fromCaller { d.caller.cseq = max(d.caller.cseq, n) } else { d.callee.cseq = max(d.callee.cseq, n) }
        }
    }

    /// `dlg_manage()`: an initial INVITE gets a dialog that follows its transaction.
    func manage(_ ctx: ScriptContext) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest else { return -1 }
        // an in-dialog request: followed as loose_route's callback would (Kamailio returns 1)
        if msg.toTag != nil {
            followRequest(ctx, routeParams: nil)
            return 1
        }
        guard msg.method == .invite, let cid = msg.callID, let from = try? msg.from(), let fromTag = from.tag else { return -1 }
        let s = ctx.dialogState
        if s.dialog != nil { return 1 }
        let d = table.create(callID: Array(cid), fromTag: Array(fromTag), now: Self.now(), clock: tmNowMilliseconds())
        table.update(d) { d in
            d.fromURI = Array(from.uri.raw)
            d.toURI = ((try? msg.to()) ?? nil).map { Array($0.uri.raw) } ?? []
            d.requestURI = Array(msg.requestURIBytes)
            if case .list(let l)? = try? msg.contacts(), let c = l.first { d.caller.contact = Array(c.uri.raw) }
            d.caller.cseq = (try? msg.cseq())?.number ?? 0
            // §12.1.2 seen from here: the Record-Routes the INVITE brought are the hops
            // between us and the caller, nearest first.
            d.caller.routeSet = ((try? msg.recordRoutes()) ?? []).map { Array($0.uri.raw) }
            d.caller.socket = ctx.receive.listenerIndex
            d.callee.socket = ctx.receive.listenerIndex
            d.lifetime = s.lifetime ?? defaultTimeout(ctx)
            d.flags = s.flags
            if s.timeoutBye { d.iflags |= Dialog.timeoutBye }
            d.iflags |= s.properties
            d.timeoutRoute = s.timeoutRoute
            d.services = ctx.services
        }
        s.dialog = d
        s.looked = true
        s.routed = true
        startSweeper()  // early_timeout applies from now
        // Kamailio marks its Record-Route with the dialog id (`did`, its hex digits lowest
        // first, as Kamailio writes and reads them), before or after
        // record_route(); the Record-Route is written when the request is sent.
        var did = Self.didKey
        did.reserveCapacity(did.count + 17)
        Self.appendReverseHex(UInt32(truncatingIfNeeded: d.entry), to: &did)
        did.append(UInt8(ascii: "."))
        Self.appendReverseHex(d.id, to: &did)
        ctx.rr.pendingParams += did
        let services = ctx.services
        ctx.tm.replyCallbacks.append { [weak self] code, reply in
            self?.inviteReply(d, code: code, reply: reply, services: services)
        }
        return 1
    }

    /// A reply to the dialog's INVITE went upstream: early, confirmed or failed.
    func inviteReply(_ d: Dialog, code: Int, reply: SIPMessage?, services: any ScriptServices) {
        let now = Self.now()
        if code < 200 {
            guard let tag = reply?.toTag else { return }
            table.update(d) { $0.toTag = Array(tag) }
            table.transition(d, to: .early, now: now)
            return
        }
        guard code < 300 else {
            let old = d.state
            table.transition(d, to: .deleted, now: now)
            if old != .deleted { runEvent("dialog:failed", d, message: reply, services: services) }
            return
        }
        // tm calls back before the 2xx goes upstream; only the first 2xx counts (a
        // forked second one finds the dialog confirmed).
        let first: Bool = table.update(d) { d in
            defer { d.answered = true }
            return !d.answered && d.state != .deleted
        }
        guard first else { return }
        table.transition(d, to: .confirmedNoACK, now: now)
        // As Kamailio: event_route[dialog:start] sees state 3 and the callee leg and
        // start time not yet filled in ($dlg(to_tag), $dlg(start_ts) 0); they follow it.
        runEvent("dialog:start", d, message: reply, services: services)
        table.update(d) { d in
            if let reply { learnCallee(d, from: reply) }
            d.started = now
            d.startedClock = tmNowMilliseconds()
        }
        startLifetime(d)
    }

    /// The callee side from the 2xx (bucket lock held): its tag, Contact, and the route
    /// set towards it — the 2xx's Record-Routes above those the INVITE brought and above
    /// our own, nearest first (§12.1.2 turned around).
    func learnCallee(_ d: Dialog, from reply: SIPMessage) {
        if let tag = reply.toTag { d.toTag = Array(tag) }
        d.callee.tag = d.toTag
        if case .list(let l)? = try? reply.contacts(), let c = l.first { d.callee.contact = Array(c.uri.raw) }
        var rr = (try? reply.recordRoutes()) ?? []
        rr.removeLast(min(d.caller.routeSet.count, rr.count))
        let runtime = tm.runtime
        while let last = rr.last, let h = last.uri.host, runtime.isMyself(host: h.text, port: last.uri.port) { rr.removeLast() }
        d.callee.routeSet = rr.reversed().map { Array($0.uri.raw) }
        d.callee.known = true
    }

    /// Runs `event_route[name]` for `d`, over `message` when there is one (else a local
    /// request), with `$dlg(...)` naming the dialog. Event routes run one at a time.
    func runEvent(_ name: String, _ d: Dialog, message: SIPMessage?, services: any ScriptServices) {
        runRoute(.event, name, d, message: message, services: services)
    }

    /// Runs route `name` of family `type` for `d` (see `runEvent`): the timeout route is a
    /// `route[NAME]` run as request_route over a local request, as Kamailio does.
    func runRoute(_ type: ScriptRouteType, _ name: String, _ d: Dialog, message: SIPMessage?, services: any ScriptServices) {
        guard let script = script.withLock({ $0 }), let ref = script.route(type, name) else { return }
        let routeType: ScriptRouteType = type == .event ? .event : .request
        eventWorker.withLock { worker in
            guard let worker, let local = script.makeLocalContext(services: services, worker: worker, routeType: routeType) else { return }
            let ctx = message.map {
                ScriptContext(message: $0, receive: local.receive, worker: worker, services: services, routeType: routeType)
            } ?? local
            ctx.dialogState.dialog = d
            ctx.dialogState.looked = true
            ctx.dialogState.routed = true
            _ = script.run(ref, ctx)
        }
    }
}
