import SIPCore
import ScriptEngine

/// Following in-dialog requests: Kamailio's dialog module does it from rr's callback,
/// when `loose_route()` consumes the Route this proxy record-routed (or from
/// `dlg_manage()` on a request with a To-tag), whatever forwards the request after
/// that — `t_relay()` or a stateless `forward()`.
extension DialogModule {
    /// An in-dialog request was loose-routed through us (`routeParams`: the parameters of
    /// our Route, with the `did` `dlg_manage()` put there) or passed to `dlg_manage()`
    /// (nil). ACK confirms, BYE ends the dialog (`event_route[dialog:end]`), any other
    /// request keeps the sender's CSeq; ACK and requests in a confirmed dialog restart
    /// its lifetime. Once per message: the second of loose_route and dlg_manage does nothing.
    func followRequest(_ ctx: ScriptContext, routeParams: [UInt8]?) {
        let s = ctx.dialogState
        guard !s.routed else { return }
        let msg = ctx.message
        guard msg.isRequest, let cid = msg.callID, let fromTag = msg.fromTag,
              let toTag = msg.toTag else { return }
        var found: Dialog?
        if let params = routeParams, let (entry, id) = Self.dialogID(in: params),
           let d = table.find(entry: entry, id: id), d.state != .deleted, d.callID.elementsEqual(cid) {
            found = d
        }
        guard let d = found ?? table.find(callID: cid, fromTag: fromTag, toTag: toTag) else { return }
        s.dialog = d
        s.looked = true
        s.routed = true
        let now = Self.now()
        defer {
            s.followedStatus = d.state.rawValue
            s.followedAge = now - table.update(d) { $0.started }
        }
        switch msg.method {
        case .bye:
            // only an answered dialog ends by BYE (Kamailio ignores it in early states)
            guard d.state == .confirmed || d.state == .confirmedNoACK else { return }
            // As Kamailio: the ended dialog stays listed (state 5) while tm relays the BYE,
            // until its transaction is over; forwarded statelessly it goes at once; a BYE
            // not forwarded at all leaves it for end_timeout to remove.
            table.update(d) { $0.endedClock = tmNowMilliseconds() }
            let old = table.transition(d, to: .deleted, now: now, keep: true)
            guard old == .confirmed || old == .confirmedNoACK else { return }
            let wait = tm.timerValues(ctx).wait
            ctx.tm.replyCallbacks.append { [weak self] code, _ in
                guard code >= 200, let self else { return }
                table.update(d) { $0.lingerDue = tmNowMilliseconds() + wait }
            }
            ctx.core.pendingEdits.append(DialogByeForwarded(module: self, dialog: d))
            runEvent("dialog:end", d, message: msg, services: ctx.services)
        case .ack:
            // the ACK that confirms restarts the lifetime even with timeout_noreset
            let old = table.transition(d, to: .confirmed, now: now)
            if d.state == .confirmed, old != .confirmed || !lifetimeFixed(d) { startLifetime(d) }
        default:
            trackCSeq(d, msg, fromCaller: d.fromTag.elementsEqual(fromTag))
            if d.state == .confirmed, !lifetimeFixed(d) { startLifetime(d) }
        }
    }

    /// True when in-dialog requests leave the lifetime alone: `timeout_noreset`, the
    /// dialog's `timeout-noreset` property, or a lifetime a failed keep-alive cut.
    func lifetimeFixed(_ d: Dialog) -> Bool {
        if timeoutNoReset.load(ordering: .relaxed) { return true }
        return table.update(d) { d in
            d.iflags & Dialog.timeoutNoReset != 0 || d.keepaliveCut
        }
    }

    /// `v` in hex, lowest digit first (Kamailio's `did` encoding; "0" for 0).
    static func appendReverseHex(_ v: UInt32, to out: inout [UInt8]) {
        var v = v
        repeat {
            out.append(SIPBytes.hexDigit(UInt8(v & 0xf)))
            v >>= 4
        } while v != 0
    }

    /// The parameter that carries the dialog id in our Record-Route.
    static let didKey: [UInt8] = Array(";did=".utf8)

    /// The dialog id in our Route's parameters: `did=<h_entry>.<h_id>`, each in hex with
    /// the lowest digit first (`appendReverseHex`).
    static func dialogID(in params: [UInt8]) -> (Int, UInt32)? {
        let key = didKey
        guard params.count > key.count,
              let at = (0...(params.count - key.count)).first(where: { params[$0..<$0 + key.count].elementsEqual(key) }) else { return nil }
        // two parts, as scalars: arrays here would be two allocations per in-dialog request
        var parts: (UInt32, UInt32) = (0, 0), digits = (0, 0), part = 0
        for b in params[(at + key.count)...] {
            if b == UInt8(ascii: "."), part == 0 {
                part = 1
                continue
            }
            let v: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt32(b - UInt8(ascii: "A") + 10)
            default: return part == 1 && digits.1 > 0 ? (Int(parts.0), parts.1) : nil
            }
            if part == 0 {
                guard digits.0 < 8 else { return nil }
                parts.0 |= v << (4 * UInt32(digits.0))
                digits.0 += 1
            } else {
                guard digits.1 < 8 else { return nil }
                parts.1 |= v << (4 * UInt32(digits.1))
                digits.1 += 1
            }
        }
        return part == 1 && digits.1 > 0 ? (Int(parts.0), parts.1) : nil
    }
}

/// Told when the request that ended `dialog` is forwarded: without a transaction
/// (`forward()`) nothing will report the BYE's end, so the dialog leaves the table now.
final class DialogByeForwarded: CorePendingEdit {
    weak var module: DialogModule?
    let dialog: Dialog

    init(module: DialogModule, dialog: Dialog) {
        self.module = module
        self.dialog = dialog
    }

    func apply(to ctx: ScriptContext) {
        if ctx.tm.cell == nil { module?.table.remove(dialog) }
    }
}
