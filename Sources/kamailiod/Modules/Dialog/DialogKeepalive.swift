import SIPCore
import ScriptEngine
import Synchronization

/// A property `dlg_set_property` / `dlg_reset_property` turns on or off: Kamailio's
/// iflags bits, which `dlg.list` shows and db_mode stores.
enum DialogProperty: Sendable {
    /// `ka-src`: keep-alive OPTIONS to the caller.
    case keepaliveCaller
    /// `ka-dst`: keep-alive OPTIONS to the callee.
    case keepaliveCallee
    /// `timeout-noreset`: in-dialog requests do not restart the lifetime.
    case timeoutNoReset

    init?(_ name: String) {
        switch name {
        case "ka-src": self = .keepaliveCaller
        case "ka-dst": self = .keepaliveCallee
        case "timeout-noreset": self = .timeoutNoReset
        default: return nil
        }
    }

    var bit: UInt32 {
        switch self {
        case .keepaliveCaller: Dialog.keepaliveCaller
        case .keepaliveCallee: Dialog.keepaliveCallee
        case .timeoutNoReset: Dialog.timeoutNoReset
        }
    }
}

extension Dialog {
    /// `iflags` bits of the properties (Kamailio's values).
    static let keepaliveCaller: UInt32 = 1 << 1
    static let keepaliveCallee: UInt32 = 1 << 2
    static let timeoutNoReset: UInt32 = 1 << 3
}

/// `ka_timer`, `ka_interval`, `ka_failed_limit`.
struct DialogKeepaliveSettings: Sendable {
    /// Seconds between two checks for keep-alives due (0: none are sent).
    var timer = 0
    /// Seconds between two keep-alives of a dialog (0: none are sent; else at least 30).
    var interval = 0
    /// Failed keep-alives (408 or 481) of one side that end the dialog.
    var failedLimit = 1

    var enabled: Bool { timer > 0 && interval > 0 }
}

/// Keep-alives: in-dialog OPTIONS to the sides `ka-src` / `ka-dst` name, so that a call
/// whose phone vanished (no BYE will ever come) is found and ended instead of holding
/// its profiles and billing for the whole lifetime. A 408 (our own timeout) or a 481
/// from a side counts as failed; `ka_failed_limit` failures in a row cut the lifetime
/// to 10 s, after which the dialog ends with a BYE to both sides. Any other answer,
/// error replies included, means the side is there.
extension DialogModule {
    /// The checks of one sweep at `now` (monotonic ms): the OPTIONS of every confirmed
    /// dialog whose keep-alive is due. Returns how many went out (tests).
    @discardableResult
    func sendKeepalives(now: UInt64) -> Int {
        let ka = keepalive.withLock { $0 }
        guard ka.enabled, now >= lastKeepaliveCheck.load(ordering: .relaxed) + UInt64(ka.timer) * 1000 else { return 0 }
        lastKeepaliveCheck.store(now, ordering: .relaxed)
        let interval = UInt64(ka.interval) * 1000
        var due: [(Dialog, [(TMLocalRequest, toCallee: Bool)])] = []
        for b in table.buckets {
            b.dialogs.withLock { list in
                for d in list where d.iflags & (Dialog.keepaliveCaller | Dialog.keepaliveCallee) != 0 {
                    guard d.state == .confirmed, d.callee.known, !d.byeSent else { continue }
                    if d.keepaliveDue == 0 { d.keepaliveDue = max(d.startedClock, 1) + interval }
                    guard d.keepaliveDue <= now else { continue }
                    d.keepaliveDue = now + interval
                    var out: [(TMLocalRequest, toCallee: Bool)] = []
                    // the CSeq each side last used: a keep-alive must not move the sequence (§12.2.1.1)
                    if d.iflags & Dialog.keepaliveCallee != 0 { out.append((inDialogRequest(d, "OPTIONS", toCallee: true, cseq: d.caller.cseq), true)) }
                    if d.iflags & Dialog.keepaliveCaller != 0 { out.append((inDialogRequest(d, "OPTIONS", toCallee: false, cseq: max(d.callee.cseq, 1)), false)) }
                    due.append((d, out))
                }
            }
        }
        var sent = 0
        for (d, requests) in due {
            for (r, toCallee) in requests {
                let ok = tm.uac.send(r) { [weak self] code in self?.keepaliveAnswered(d, toCallee: toCallee, code: code) }
                if ok { sent += 1 } else { keepaliveAnswered(d, toCallee: toCallee, code: 408) }
            }
        }
        return sent
    }

    /// The final answer to a keep-alive (408 when it timed out here).
    func keepaliveAnswered(_ d: Dialog, toCallee: Bool, code: Int) {
        let limit = keepalive.withLock { $0.failedLimit }
        let failed = code == 408 || code == 481
        let cut: Bool = table.update(d) { d in
            if !failed {
                if toCallee { d.keepaliveFailedCallee = 0 } else { d.keepaliveFailedCaller = 0 }
                return false
            }
            let n: Int
            if toCallee {
                d.keepaliveFailedCallee += 1
                n = d.keepaliveFailedCallee
            } else {
                d.keepaliveFailedCaller += 1
                n = d.keepaliveFailedCaller
            }
            guard n >= limit, !d.keepaliveCut, d.state == .confirmed || d.state == .confirmedNoACK else { return false }
            d.keepaliveCut = true
            // Kamailio's rule: 10 more seconds, then the dialog times out; the BYEs tell
            // the side still there that the call is over
            d.lifetime = 10
            d.timeoutAt = Self.now() + 10
            d.timeoutDue = tmNowMilliseconds() + 10_000
            d.iflags |= Dialog.timeoutBye
            return true
        }
        guard cut else { return }
        let log = tm.runtime
        if log.logEnabled(.notice) {
            log.log(.notice, "dialog", "keep-alive to the \(toCallee ? "callee" : "caller") failed (\(code)) [\(d.entry):\(d.id)] Call-ID \(SIPBytes.string(d.callID[...])): ending in 10 s")
        }
        persist(d)
    }
}
