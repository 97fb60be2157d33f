#if canImport(Glibc)
import Glibc
#endif
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
    func end(_ d: Dialog, side: DialogSide, reason: DialogEndReason) -> Bool {
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
        // Kamailio 5.6.3 runs event_route[dialog:end] only for a BYE it relays, not for
        // dialogs it ends itself (dlg_bye, dlg.end_dlg, timeout); so do we.
        table.transition(d, to: .deleted, now: Self.now())
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
        table.update(d) { d in
            d.timeoutAt = Self.now() + d.lifetime
            d.timeoutDue = tmNowMilliseconds() + UInt64(max(d.lifetime, 0)) * 1000
        }
        startSweeper()
    }

    /// Sets a new lifetime; a confirmed dialog's deadline moves to now + `seconds`.
    func setLifetime(_ d: Dialog, _ seconds: Int) {
        let running: Bool = table.update(d) { d in
            d.lifetime = seconds
            return d.timeoutAt != 0
        }
        if running { startLifetime(d) }
    }

    /// Ends every dialog whose lifetime ran out by `now` (monotonic ms): BYEs to both
    /// sides with `timeout_bye`, else quietly, as Kamailio; each counts as expired.
    /// The sweeper thread calls it; tests call it with a made-up clock.
    func expireDue(now: UInt64) {
        var due: [Dialog] = []
        for b in table.buckets {
            b.dialogs.withLock { list in
                for d in list where d.timeoutDue != 0 && d.timeoutDue <= now && d.state != .deleted { due.append(d) }
            }
        }
        for d in due {
            let bye = table.update(d) { d in d.iflags & Dialog.timeoutBye != 0 }
            if bye, end(d, side: .all, reason: .timeout) { continue }
            // Without timeout_bye (or when no BYE could be built) the dialog just goes.
            guard d.state != .deleted else { continue }
            stats.expired.wrappingAdd(1, ordering: .relaxed)
            table.transition(d, to: .deleted, now: Self.now())
        }
    }

    /// Starts the thread that checks lifetimes twice a second. A sweep instead of a timer
    /// heap: a dialog ended by BYE leaves nothing behind, where a heap would hold a stale
    /// entry per dialog for the whole lifetime (12 h by default).
    func startSweeper() {
        guard sweeping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        let ok = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let module = Unmanaged<DialogModule>.fromOpaque(raw).takeRetainedValue()
            while true {
                module.expireDue(now: tmNowMilliseconds())
                usleep(500_000)
            }
        }, box.toOpaque())
        if ok != 0 {
            box.release()
            sweeping.store(false, ordering: .relaxed)
        } else {
            pthread_detach(tid)
        }
    }
}
