import SIPCore
import ScriptEngine

/// Which side(s) `dlg_bye` / `dlg.end_dlg` sends a BYE to.
enum DialogSide: Sendable {
    case caller, callee, all

    /// `"caller"`, `"callee"`, `"all"`.
    init?(_ text: String) {
        switch text {
        case "caller": self = .caller
        case "callee": self = .callee
        case "all": self = .all
        default: return nil
        }
    }
}

/// Why a dialog ended (for the counters and the log).
enum DialogEndReason: Sendable {
    /// BYEs from dlg_bye or the control interface.
    case local
    /// The lifetime ran out.
    case timeout
}

/// Ending dialogs from here: BYEs per RFC 3261 §12.2.1.1 through tm's local client
/// transactions, and the lifetime timer of confirmed dialogs.
extension DialogModule {
    /// Sends a BYE to `side` (both for `.all`) and ends the dialog. False when the
    /// dialog is not confirmed (no remote target and tags to build a BYE from) or no
    /// BYE could be sent.
    @discardableResult
    func end(_ d: Dialog, side: DialogSide, reason: DialogEndReason, services: (any ScriptServices)?) -> Bool {
        let requests: [TMLocalRequest]? = table.update(d) { d in
            guard d.state == .confirmed || d.state == .confirmedNoACK, d.callee.known, !d.byeSent else { return nil }
            d.byeSent = true
            var out: [TMLocalRequest] = []
            if side != .caller { out.append(byeRequest(d, toCallee: true)) }
            if side != .callee { out.append(byeRequest(d, toCallee: false)) }
            return out
        }
        guard let requests else { return false }
        let log = tm.runtime
        var sent = 0
        for r in requests {
            let target = SIPBytes.string(r.remoteTarget[...])
            let ok = tm.uac.send(r) { code in
                if log.logEnabled(.debug) { log.log(.debug, "dialog", "BYE to \(target): \(code)") }
            }
            if ok { sent += 1 }
        }
        if reason == .timeout { stats.expired.wrappingAdd(1, ordering: .relaxed) }
        let old = d.state
        table.transition(d, to: .deleted, now: Self.now())
        if old != .deleted, let services { runEvent("dialog:end", d, message: nil, services: services) }
        return sent > 0
    }

    /// The BYE towards one side (bucket lock held): towards the callee we speak as the
    /// caller (its From, next caller CSeq); towards the caller as the callee (To/From
    /// swapped, a CSeq above any the callee used).
    func byeRequest(_ d: Dialog, toCallee: Bool) -> TMLocalRequest {
        func header(_ uri: [UInt8], _ tag: [UInt8]) -> [UInt8] {
            [UInt8(ascii: "<")] + uri + Array(">;tag=".utf8) + tag
        }
        let callerSide = header(d.fromURI, d.fromTag)
        let calleeSide = header(d.toURI, d.toTag)
        let leg = toCallee ? d.callee : d.caller
        let cseq: UInt32
        if toCallee {
            d.caller.cseq &+= 1
            cseq = d.caller.cseq
        } else {
            d.callee.cseq &+= 1
            cseq = d.callee.cseq
        }
        var r = TMLocalRequest(method: "BYE", remoteTarget: leg.contact.isEmpty ? (toCallee ? d.requestURI : d.fromURI) : leg.contact,
                               routeSet: leg.routeSet, from: toCallee ? callerSide : calleeSide,
                               to: toCallee ? calleeSide : callerSide, callID: d.callID, cseq: cseq)
        r.listenerIndex = leg.socket
        r.headers = extraHeaders.withLock { $0 }
        return r
    }

    /// Starts the lifetime of a newly confirmed dialog.
    func startLifetime(_ d: Dialog) {
        let due: UInt64 = table.update(d) { d in
            d.timeoutAt = Self.now() + d.lifetime
            d.timeoutDue = tmNowMilliseconds() + UInt64(max(d.lifetime, 0)) * 1000
            return d.timeoutDue
        }
        timers.schedule(TMTimerEntry(due: due, cell: Self.timerKey(d), kind: .final, branch: 0))
    }

    /// Sets a new lifetime; a confirmed dialog's deadline moves to now + `seconds`.
    func setLifetime(_ d: Dialog, _ seconds: Int) {
        let running: Bool = table.update(d) { d in
            d.lifetime = seconds
            return d.timeoutAt != 0
        }
        if running { startLifetime(d) }
    }

    /// The timer entry key of a dialog: h_entry and h_id.
    static func timerKey(_ d: Dialog) -> UInt64 { UInt64(d.entry) << 32 | UInt64(d.id) }

    /// A lifetime timer fired (timer thread): the dialog expires unless its deadline
    /// moved (the entry is then stale; the newer one is in the queue too).
    public func timerFired(_ e: TMTimerEntry) {
        guard let d = table.find(entry: Int(e.cell >> 32), id: UInt32(truncatingIfNeeded: e.cell)) else { return }
        let (expired, bye): (Bool, Bool) = table.update(d) { d in
            (d.timeoutDue != 0 && d.timeoutDue <= e.due && d.state != .deleted, d.iflags & Dialog.timeoutBye != 0)
        }
        guard expired else { return }
        let services = table.update(d) { $0.services }
        if bye, end(d, side: .all, reason: .timeout, services: services) { return }
        // Kamailio without timeout_bye: the dialog is dropped quietly (or ended if no
        // BYE could be built, e.g. a 2xx without Contact).
        if !bye || d.state != .deleted {
            stats.expired.wrappingAdd(1, ordering: .relaxed)
            table.transition(d, to: .deleted, now: Self.now())
            if let services { runEvent("dialog:end", d, message: nil, services: services) }
        }
    }
}
