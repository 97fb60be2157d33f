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
/// transactions.
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
        inDialogRequest(d, "BYE", toCallee: toCallee, cseq: nextCSeq(d, toCallee: toCallee))
    }

    /// `dlg_refer(side, address)`: an in-dialog REFER (RFC 3515) to one side, asking it to
    /// call `address`, with the next CSeq of our side of the dialog. Its answer is only
    /// logged: the referred side ends the call itself once the transfer is made.
    func refer(_ d: Dialog, side: DialogSide, to address: [UInt8]) -> Bool {
        guard side != .all, !address.isEmpty else { return false }
        let toCallee = side == .callee
        let request: TMLocalRequest? = table.update(d) { d in
            guard d.state == .confirmed || d.state == .confirmedNoACK, d.callee.known, !d.byeSent else { return nil }
            var r = inDialogRequest(d, "REFER", toCallee: toCallee, cseq: nextCSeq(d, toCallee: toCallee))
            let target = address.first == UInt8(ascii: "<") ? address : [UInt8(ascii: "<")] + address + [UInt8(ascii: ">")]
            r.headers = Array("Refer-To: ".utf8) + target + [13, 10] + r.headers
            return r
        }
        guard let request else { return false }
        let log = tm.runtime
        let who = toCallee ? "callee" : "caller"
        return tm.uac.send(request) { code in
            let level: CoreLogLevel = code < 300 ? .info : .warning
            if log.logEnabled(level) {
                log.log(level, "dialog", "REFER to the \(who) [\(d.entry):\(d.id)]: \(code)")
            }
        }
    }

    /// The CSeq of a new request of ours towards one side (bucket lock held): we speak as
    /// the other side, so its sequence moves on by one.
    func nextCSeq(_ d: Dialog, toCallee: Bool) -> UInt32 {
        if toCallee {
            d.caller.cseq &+= 1
            return d.caller.cseq
        }
        d.callee.cseq &+= 1
        return d.callee.cseq
    }

    /// A request of ours inside the dialog towards one side, with `cseq` (bucket lock
    /// held; §12.2.1.1): towards the callee as the caller, towards the caller as the callee.
    func inDialogRequest(_ d: Dialog, _ method: String, toCallee: Bool, cseq: UInt32) -> TMLocalRequest {
        func header(_ uri: [UInt8], _ tag: [UInt8]) -> [UInt8] {
            [UInt8(ascii: "<")] + uri + Array(">;tag=".utf8) + tag
        }
        let callerSide = header(d.fromURI, d.fromTag)
        let calleeSide = header(d.toURI, d.toTag)
        let leg = toCallee ? d.callee : d.caller
        var r = TMLocalRequest(method: method, remoteTarget: leg.contact.isEmpty ? (toCallee ? d.requestURI : d.fromURI) : leg.contact,
                               routeSet: leg.routeSet, from: toCallee ? callerSide : calleeSide,
                               to: toCallee ? calleeSide : callerSide, callID: d.callID, cseq: cseq)
        r.listenerIndex = leg.socket
        r.headers = extraHeaders.withLock { $0 }
        return r
    }
}
