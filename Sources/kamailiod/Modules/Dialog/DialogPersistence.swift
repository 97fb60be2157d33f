import SIPCore
import ScriptEngine
import Storage
import Synchronization

/// `db_url`, `db_mode`, `db_update_period`.
struct DialogDBSettings: Sendable {
    var url = ""
    var mode = DialogDBMode.none
    var updatePeriod = 60
}

/// Kamailio's dialog `db_mode` on SQLite: confirmed dialogs are written to the `dialog`
/// and `dialog_vars` tables (at once, every `db_update_period` seconds, or when the
/// server stops) and loaded back at start, so a restart keeps them.
extension DialogModule {
    /// Opens the database, creates missing tables and loads the stored dialogs
    /// (`initialize`, db_mode > 0).
    func openStore(services: (any ScriptServices)?) throws(ScriptError) {
        let s = dbSettings.withLock { $0 }
        guard s.mode != .none else { return }
        guard !s.url.isEmpty else { throw ScriptError("dialog: db_mode \(s.mode.rawValue) needs db_url", at: nil) }
        let runtime = tm.runtime
        let store: DialogStore
        do {
            let db = try SQLiteDatabase.shared(url: s.url)
            try KamailioSchema.createMissing(in: db)
            store = DialogStore(db: db, mode: s.mode) { runtime.log(.error, "dialog", $0) }
        } catch {
            throw ScriptError("dialog: \(error)", at: nil)
        }
        self.store.withLock { $0 = store }
        table.onDelete.withLock { $0 = { [weak self] d in self?.forget(d) } }
        let records: [DialogRecord]
        do {
            records = try store.loadAll()
        } catch {
            throw ScriptError("dialog: cannot load the dialog table: \(error)", at: nil)
        }
        var loaded = 0
        for r in records where r.state == DialogState.confirmedNoACK.rawValue || r.state == DialogState.confirmed.rawValue {
            restore(r, services: services)
            loaded += 1
        }
        runtime.log(.info, "dialog", "loaded \(loaded) dialog(s) from \(store.db.path)")
        if loaded > 0 { startSweeper() }
        UsrlocExitFlush.register { [weak self] in self?.flushStore(all: true) }
    }

    /// A stored dialog back in the table, its lifetime running out when it would have.
    private func restore(_ r: DialogRecord, services: (any ScriptServices)?) {
        let now = Self.now()
        // our bucket of the Call-ID (a row Kamailio wrote has its own hash)
        let d = Dialog(entry: table.bucket(r.callID), id: r.id, callID: r.callID, fromTag: r.fromTag, created: r.startTime)
        d.state = r.state == DialogState.confirmed.rawValue ? .confirmed : .confirmedNoACK
        d.toTag = r.toTag
        d.started = r.startTime
        d.fromURI = r.fromURI
        d.toURI = r.toURI
        d.requestURI = r.requestURI
        d.caller.cseq = r.callerCSeq
        d.caller.contact = r.callerContact
        d.caller.routeSet = r.callerRoutes
        d.caller.socket = listenerIndex(r.callerSocket)
        d.callee.tag = r.toTag
        d.callee.cseq = r.calleeCSeq
        d.callee.contact = r.calleeContact
        d.callee.routeSet = r.calleeRoutes
        d.callee.socket = listenerIndex(r.calleeSocket)
        d.callee.known = true
        // as Kamailio shows a loaded dialog: its whole lifetime, the deadline unchanged
        let remaining = max(r.timeout - now, 0)
        d.lifetime = r.timeout > r.startTime ? r.timeout - r.startTime : remaining
        d.timeoutAt = now + remaining
        let clock = tmNowMilliseconds()
        d.timeoutDue = clock + UInt64(remaining) * 1000
        d.startedClock = clock
        d.createdClock = clock
        d.flags = r.sflags
        d.iflags = r.iflags
        d.timeoutRoute = r.timeoutRoute
        d.vars = r.vars
        d.services = services
        d.answered = true
        d.inDB = true
        table.restore(d)
        // the profiles this configuration still declares (oldest first: each goes on top)
        for p in r.profiles.reversed() where profileHasValues(p.name) == (p.value != nil) {
            table.update(d) { d in _ = table.joinProfile(d, p.name, p.value) }
        }
    }

    /// A listener as `dlg.list` and the `dialog` table name it: `udp:127.0.0.1:5060`.
    func socketText(_ index: Int) -> String? {
        guard let l = tm.runtime.listener(index) else { return nil }
        return "\(l.proto.name):\(l.address.hostString):\(l.address.port)"
    }

    /// The listener `text` names (-1: none of ours).
    private func listenerIndex(_ text: String) -> Int {
        var i = 0
        while let t = socketText(i) {
            if t == text { return i }
            i += 1
        }
        return -1
    }

    /// A confirmed dialog changed: written now (db_mode 1) or at the next flush (2, 3).
    func persist(_ d: Dialog) {
        guard let store = store.withLock({ $0 }) else { return }
        let record: DialogRecord? = table.update(d) { d in
            guard d.state == .confirmed || d.state == .confirmedNoACK else { return nil }
            d.dbDirty = store.mode != .realtime
            if store.mode == .realtime { d.inDB = true }
            return store.mode == .realtime ? self.record(d) : nil
        }
        if let record { store.save([record]) }
    }

    /// A dialog left the table: its rows go too (every db_mode, as Kamailio).
    func forget(_ d: Dialog) {
        guard let store = store.withLock({ $0 }), table.update(d, { $0.inDB }) else { return }
        store.remove(entry: d.entry, id: d.id)
    }

    /// Writes the changed confirmed dialogs (db_mode 2), or with `all` every one
    /// (db_mode 3 and 2 at shutdown).
    func flushStore(all: Bool) {
        guard let store = store.withLock({ $0 }), store.mode != .realtime else { return }
        if store.mode == .shutdown && !all { return }
        var records: [DialogRecord] = []
        for b in table.buckets {
            b.dialogs.withLock { list in
                for d in list where (d.state == .confirmed || d.state == .confirmedNoACK) && (all || d.dbDirty) {
                    d.dbDirty = false
                    d.inDB = true
                    records.append(record(d))
                }
            }
        }
        store.save(records)
    }

    /// The row of `d` (bucket lock held).
    func record(_ d: Dialog) -> DialogRecord {
        func socket(_ i: Int) -> String { socketText(i) ?? "" }
        return DialogRecord(entry: d.entry, id: d.id, callID: d.callID, fromURI: d.fromURI, fromTag: d.fromTag,
                            toURI: d.toURI, toTag: d.toTag, callerCSeq: d.caller.cseq, calleeCSeq: d.callee.cseq,
                            callerRoutes: d.caller.routeSet, calleeRoutes: d.callee.routeSet,
                            callerContact: d.caller.contact, calleeContact: d.callee.contact,
                            callerSocket: socket(d.caller.socket), calleeSocket: socket(d.callee.socket),
                            state: d.state.rawValue, startTime: d.started, timeout: d.timeoutAt, sflags: d.flags,
                            iflags: d.iflags, timeoutRoute: d.timeoutRoute, requestURI: d.requestURI, vars: d.vars,
                            profiles: d.profiles)
    }
}
