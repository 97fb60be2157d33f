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
        switch msg.method {
        case .bye:
            // only an answered dialog ends by BYE (Kamailio ignores it in early states)
            guard d.state == .confirmed || d.state == .confirmedNoACK else { return }
            let old = table.transition(d, to: .deleted, now: now)
            if old == .confirmed || old == .confirmedNoACK { runEvent("dialog:end", d, message: msg, services: ctx.services) }
        case .ack:
            table.transition(d, to: .confirmed, now: now)
            if d.state == .confirmed { startLifetime(d) }
        default:
            trackCSeq(d, msg, fromCaller: d.fromTag.elementsEqual(fromTag))
            if d.state == .confirmed { startLifetime(d) }
        }
    }

    /// The dialog id in our Route's parameters: `did=<h_entry hex>.<h_id hex>`.
    static func dialogID(in params: [UInt8]) -> (Int, UInt32)? {
        let key = Array(";did=".utf8)
        guard params.count > key.count,
              let at = (0...(params.count - key.count)).first(where: { params[$0..<$0 + key.count].elementsEqual(key) }) else { return nil }
        var entry: UInt64 = 0, id: UInt64 = 0, seenDot = false, digits = 0
        for b in params[(at + key.count)...] {
            if b == UInt8(ascii: ".") && !seenDot {
                seenDot = true
                continue
            }
            let v: UInt64
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(b - UInt8(ascii: "A") + 10)
            default: return seenDot && digits > 0 && id <= UInt64(UInt32.max) ? (Int(entry), UInt32(id)) : nil
            }
            digits += 1
            guard digits <= 17 else { return nil }
            if seenDot { id = id << 4 | v } else { entry = entry << 4 | v }
        }
        return seenDot && id <= UInt64(UInt32.max) ? (Int(entry), UInt32(id)) : nil
    }
}
