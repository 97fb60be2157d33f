#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import ScriptEngine

/// Dialog timers: the lifetime of confirmed dialogs (with `$dlg_ctx(timeout_route)` and
/// `timeout_bye`), and Kamailio's clean-up of dialogs stuck unanswered (`early_timeout`)
/// or answered but never ACKed (`noack_timeout`).
extension DialogModule {
    /// Starts (or restarts) the lifetime of a confirmed dialog from now.
    func startLifetime(_ d: Dialog) {
        table.update(d) { d in
            d.timeoutAt = Self.now() + d.lifetime
            d.timeoutDue = tmNowMilliseconds() + UInt64(max(d.lifetime, 0)) * 1000
        }
        persist(d)
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

    /// One sweep at `now` (monotonic ms). A dialog still unanswered `early_timeout`
    /// after its INVITE is dropped; one answered but not ACKed `noack_timeout` after
    /// the 2xx gets 10 more seconds of lifetime (Kamailio's numbers); one whose lifetime
    /// ran out times out (`timeout`). The sweeper thread calls it; tests pass a made-up clock.
    func expireDue(now: UInt64) {
        let early = UInt64(earlyTimeout.load(ordering: .relaxed)) * 1000
        let noack = UInt64(noackTimeout.load(ordering: .relaxed)) * 1000
        let end = UInt64(endTimeout.load(ordering: .relaxed)) * 1000
        var due: [Dialog] = [], stale: [Dialog] = []
        for b in table.buckets {
            b.dialogs.withLock { list in
                var ended = false
                for d in list {
                    switch d.state {
                    case .unconfirmed, .early:
                        if d.createdClock + early <= now { stale.append(d) }
                    case .confirmedNoACK, .confirmed:
                        if d.state == .confirmedNoACK, !d.noackCut, d.startedClock != 0, d.startedClock + noack <= now {
                            d.noackCut = true
                            d.lifetime = 10
                            d.timeoutAt = Self.now() + 10
                            d.timeoutDue = now + 10_000
                        }
                        if d.timeoutDue != 0 && d.timeoutDue <= now { due.append(d) }
                    case .deleted:
                        // ended by a BYE: gone once its transaction is, or after end_timeout
                        if d.ended(by: now, endTimeout: end) { ended = true }
                    }
                }
                if ended {
                    list.removeAll { $0.state == .deleted && $0.ended(by: now, endTimeout: end) }
                }
            }
        }
        for d in stale {
            // As Kamailio: dropped with a notice, no event route, not counted failed.
            let old = table.transition(d, to: .deleted, now: Self.now(), countFailed: false)
            if old != .deleted, tm.runtime.logEnabled(.notice) {
                tm.runtime.log(.notice, "dialog", "dialog in early state is too old [\(d.entry):\(d.id)] Call-ID \(SIPBytes.string(d.callID[...]))")
            }
        }
        for d in due { timeout(d) }
        sendKeepalives(now: now)
        // db_mode 2: the changed dialogs every db_update_period
        let period = UInt64(max(dbSettings.withLock { $0.updatePeriod }, 1)) * 1000
        if store.withLock({ $0 }) != nil, now >= lastFlush.load(ordering: .relaxed) + period {
            lastFlush.store(now, ordering: .relaxed)
            flushStore(all: false)
        }
    }

    /// The lifetime of a confirmed dialog ran out: `route[timeout_route]` runs over a local
    /// request with `$dlg` naming the dialog, then with `timeout_bye` both sides get a BYE;
    /// without it the dialog just ends and `event_route[dialog:end]` runs (Kamailio 5.6.3
    /// runs that only here, not after its own BYEs). Either way it counts as expired.
    func timeout(_ d: Dialog) {
        let (route, bye, services) = table.update(d) { d in
            defer { d.timeoutDue = 0 }  // once
            return (d.timeoutRoute, d.iflags & Dialog.timeoutBye != 0, d.services)
        }
        let log = tm.runtime
        if log.logEnabled(.warning) {
            log.log(.warning, "dialog", "dlg timeout - callid: '\(SIPBytes.string(d.callID[...]))' [\(d.entry):\(d.id)] ostate: \(d.state.rawValue)")
        }
        if let route, let services { runRoute(.request, route, d, message: nil, services: services) }
        if bye, end(d, side: .all, reason: .timeout) { return }
        let old = table.transition(d, to: .deleted, now: Self.now())
        guard old == .confirmed || old == .confirmedNoACK else { return }
        stats.expired.wrappingAdd(1, ordering: .relaxed)
        if let services { runEvent("dialog:end", d, message: nil, services: services) }
    }

    /// Starts the thread that checks the dialogs twice a second. A sweep instead of a
    /// timer heap: a dialog ended by BYE leaves nothing behind, where a heap would hold a
    /// stale entry per dialog for the whole lifetime (12 h by default).
    func startSweeper() {
        guard !sweeping.load(ordering: .relaxed),
              sweeping.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        // the thread holds the module weakly and ends with it (tests make many)
        let box = Unmanaged.passRetained(DialogSweeperBox(self))
        var tid = pthread_t()
        let ok = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let box = Unmanaged<DialogSweeperBox>.fromOpaque(raw).takeRetainedValue()
            while box.sweep() { usleep(500_000) }
            return nil
        }, box.toOpaque())
        if ok != 0 {
            box.release()
            sweeping.store(false, ordering: .relaxed)
        } else {
            pthread_detach(tid)
        }
    }
}

/// What the sweeper thread holds: the module, weakly.
final class DialogSweeperBox: @unchecked Sendable {
    weak var module: DialogModule?

    init(_ module: DialogModule) { self.module = module }

    /// One sweep; false once the module is gone.
    func sweep() -> Bool {
        guard let module else { return false }
        module.expireDue(now: tmNowMilliseconds())
        return true
    }
}
