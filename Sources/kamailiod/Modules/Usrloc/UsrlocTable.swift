#if canImport(Glibc)
import Glibc
#endif
import Storage
import Synchronization

/// How usrloc uses the database (Kamailio's `db_mode`).
public enum UsrlocDBMode: Int, Sendable {
    /// Memory only; a restart forgets every binding.
    case none = 0
    /// Write-through: every change is in the database before the reply is sent.
    case writeThrough = 1
    /// Write-back: changes are written by the timer every `timer_interval` seconds.
    case writeBack = 2
    /// Database only in Kamailio; here memory stays the read cache and every change is
    /// written through, which gives the same stored rows (one server per database).
    case dbOnly = 3
}

/// The location table (`"location"`): address-of-record -> contacts, in hash slots that
/// each have their own lock, so registrations for different users never wait on each
/// other (architecture: shared tables are hash tables with per-bucket locks).
///
/// `@unchecked Sendable` for `store` alone: it is set once by usrloc's `initialize`
/// (tables are created earlier, by the fix-ups of `save("location")` and friends),
/// before any worker thread runs, and only read afterwards.
public final class UsrlocTable: @unchecked Sendable {
    /// One hash slot: its records, changed only under its lock.
    final class Slot: Sendable {
        let records = Mutex<[String: [UsrlocContact]]>([:])
    }

    /// The table name (`location`), as written in `save("location")`.
    public let name: String
    let slots: [Slot]
    private(set) var store: UsrlocStore?
    /// Counters for `usrloc:` statistics.
    public let stats = UsrlocStatistics()

    /// Creates an empty table with 2^`hashBits` slots, writing to `store` when given.
    init(name: String, hashBits: Int, store: UsrlocStore?) {
        self.name = name
        slots = (0..<(1 << max(1, min(hashBits, 16)))).map { _ in Slot() }
        self.store = store
    }

    /// The AoR's hash (FNV-1a over the bytes: stable for a given AoR, unlike the
    /// per-process String.hashValue); `ul.dump` shows it as HashID.
    public static func hash(_ aor: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in aor.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    private func slot(_ aor: String) -> Slot {
        slots[Int(Self.hash(aor)) & (slots.count - 1)]
    }

    /// The contacts of `aor` still valid at `now` (expired ones the timer has not removed
    /// yet are left out, as Kamailio's lookup does).
    public func contacts(of aor: String, now: Int) -> [UsrlocContact] {
        slot(aor).records.withLock { $0[aor] ?? [] }.filter { !$0.isExpired(at: now) }
    }

    /// Every contact of `aor`, expired ones included; nil when the AoR has no record.
    public func records(of aor: String) -> [UsrlocContact]? {
        slot(aor).records.withLock { $0[aor] }
    }

    /// Changes the contacts of `aor` under its slot's lock. `body` gets the current list
    /// and returns a value plus the database changes it made, which are written (db_mode
    /// 1/3) or queued (db_mode 2) before the lock is released, so the rows follow the
    /// memory state in the same order.
    public func update<R>(_ aor: String, _ body: (inout [UsrlocContact]) -> (R, [UsrlocChange])) -> R {
        slot(aor).records.withLock { records in
            var list = records[aor] ?? []
            let before = list.count
            let (result, changes) = body(&list)
            if list.isEmpty { records[aor] = nil } else { records[aor] = list }
            stats.adjust(contacts: list.count - before, users: (list.isEmpty ? 0 : 1) - (before == 0 ? 0 : 1))
            if !changes.isEmpty { store?.apply(changes) }
            return result
        }
    }

    /// Removes expired bindings (the usrloc timer); returns how many went.
    @discardableResult
    public func expire(now: Int) -> Int {
        var removed = 0
        for s in slots {
            s.records.withLock { records in
                var gone: [UsrlocChange] = []
                for (aor, list) in records where list.contains(where: { $0.isExpired(at: now) }) {
                    let keep = list.filter { !$0.isExpired(at: now) }
                    for c in list where c.isExpired(at: now) { gone.append(.delete(ruid: c.ruid)) }
                    records[aor] = keep.isEmpty ? nil : keep
                    stats.adjust(contacts: keep.count - list.count, users: keep.isEmpty ? -1 : 0)
                }
                if !gone.isEmpty {
                    removed += gone.count
                    store?.apply(gone)
                }
            }
        }
        stats.expired.wrappingAdd(removed, ordering: .relaxed)
        return removed
    }

    /// Every record, slot by slot (each slot's lock held only while it is copied), for
    /// dumps; the order is the slot order, not sorted.
    public func allRecords() -> [(aor: String, contacts: [UsrlocContact])] {
        slotContents().flatMap { $0 }
    }

    /// Every slot's records (each slot's lock held only while it is copied), for `ul.dump`
    /// and its per-slot statistics.
    public func slotContents() -> [[(aor: String, contacts: [UsrlocContact])]] {
        slots.map { s in s.records.withLock { $0.map { (aor: $0.key, contacts: $0.value) } } }
    }

    /// Connects the table to its database (start-up only, see the type's note).
    func attach(_ store: UsrlocStore) { self.store = store }

    /// Puts loaded contacts into memory without writing them back.
    func load(_ contacts: [UsrlocContact]) {
        for c in contacts {
            slot(c.aor).records.withLock { records in
                let had = records[c.aor]
                records[c.aor, default: []].append(c)
                stats.adjust(contacts: 1, users: had == nil ? 1 : 0)
            }
        }
    }
}

/// usrloc counters (Kamailio's `usrloc:registered_users`, `location-contacts`, ...).
public final class UsrlocStatistics: Sendable {
    /// Distinct addresses-of-record with at least one contact.
    public let users = Atomic<Int>(0)
    /// Contacts stored.
    public let contacts = Atomic<Int>(0)
    /// Contacts removed by the expiry timer.
    public let expired = Atomic<Int>(0)

    func adjust(contacts dc: Int, users du: Int) {
        if dc != 0 { contacts.wrappingAdd(dc, ordering: .relaxed) }
        if du != 0 { users.wrappingAdd(du, ordering: .relaxed) }
    }
}

/// A change to a stored binding, as the database sees it.
public enum UsrlocChange: Sendable {
    /// A new or changed contact (written by ruid).
    case upsert(UsrlocContact)
    /// A removed contact.
    case delete(ruid: String)
}

/// The `location` table in SQLite: write-through or queued write-back, and the load at start.
final class UsrlocStore: Sendable {
    let db: SQLiteDatabase
    let mode: UsrlocDBMode
    let useDomain: Bool
    let log: @Sendable (String) -> Void
    /// db_mode 2: changes waiting for the next flush, by ruid (the last change wins).
    let pending = Mutex<[String: UsrlocChange]>([:])

    init(db: SQLiteDatabase, mode: UsrlocDBMode, useDomain: Bool, log: @escaping @Sendable (String) -> Void) {
        self.db = db
        self.mode = mode
        self.useDomain = useDomain
        self.log = log
    }

    func apply(_ changes: [UsrlocChange]) {
        switch mode {
        case .none: return
        case .writeBack:
            pending.withLock { p in
                for c in changes {
                    switch c {
                    case .upsert(let u): p[u.ruid] = c
                    case .delete(let r): p[r] = c
                    }
                }
            }
        case .writeThrough, .dbOnly:
            write(changes)
        }
    }

    /// db_mode 2: writes every queued change in one transaction.
    func flush() {
        let batch = pending.withLock { p -> [UsrlocChange] in
            let out = Array(p.values)
            p.removeAll()
            return out
        }
        if !batch.isEmpty { write(batch) }
    }

    private static let upsertSQL = """
        INSERT INTO location (ruid, username, domain, contact, received, path, expires, q, callid, cseq,
            last_modified, flags, cflags, user_agent, socket, methods, instance, reg_id)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(ruid) DO UPDATE SET contact=excluded.contact, received=excluded.received,
            path=excluded.path, expires=excluded.expires, q=excluded.q, callid=excluded.callid,
            cseq=excluded.cseq, last_modified=excluded.last_modified, flags=excluded.flags,
            cflags=excluded.cflags, user_agent=excluded.user_agent, socket=excluded.socket,
            methods=excluded.methods, instance=excluded.instance, reg_id=excluded.reg_id
        """

    private func row(_ c: UsrlocContact) -> [SQLiteValue] {
        var user = c.aor
        var domain: SQLiteValue = .null
        if useDomain, let at = c.aor.firstIndex(of: "@") {
            user = String(c.aor[..<at])
            domain = .text(String(c.aor[c.aor.index(after: at)...]))
        }
        func opt(_ s: String?) -> SQLiteValue { s.map { .text($0) } ?? .null }
        // A permanent binding's expires is time 0 (the epoch), as Kamailio stores it.
        return [.text(c.ruid), .text(user), domain, .text(c.contact), opt(c.received), opt(c.path),
                KamailioTime.value(c.expires), .double(c.q < 0 ? -1 : Double(c.q) / 1000),
                .text(c.callID), .int(Int64(c.cseq)), KamailioTime.value(c.lastModified),
                .int(Int64(c.flags)), .int(Int64(c.cflags)), .text(c.userAgent), opt(c.socket),
                c.methods.map { .int(Int64($0)) } ?? .null, opt(c.instance), .int(Int64(c.regID))]
    }

    private func write(_ changes: [UsrlocChange]) {
        func statement(_ c: UsrlocChange) -> (String, [SQLiteValue]) {
            switch c {
            case .upsert(let u): return (Self.upsertSQL, row(u))
            case .delete(let r): return ("DELETE FROM location WHERE ruid=?", [.text(r)])
            }
        }
        do {
            if changes.count == 1, let only = changes.first {
                // One statement is its own transaction: no BEGIN/COMMIT round (the usual
                // REGISTER in db_mode 1).
                let (sql, params) = statement(only)
                try db.query(sql, params)
                return
            }
            try db.transaction { tx throws(SQLiteError) in
                for c in changes {
                    let (sql, params) = statement(c)
                    try tx.query(sql, params)
                }
            }
        } catch {
            log("cannot write \(changes.count) location change(s): \(error)")
        }
    }

    /// What `ul.db_users`, `ul.db_contacts` and `ul.db_expired_contacts` report: distinct
    /// users (username, domain) and contacts with a valid binding at `now` (permanent ones
    /// included), and stored contacts already expired. Read from the rows, not memory.
    func storedCounts(now: Int) throws(SQLiteError) -> (users: Int, contacts: Int, expired: Int) {
        let rows = try db.query("SELECT username, domain, expires FROM location")
        var users = Set<String>()
        var contacts = 0, expired = 0
        for r in rows where r.count == 3 {
            let expires = KamailioTime.parse(r[2]) ?? 0
            if expires > 0 && expires <= now {
                expired += 1
            } else {
                contacts += 1
                users.insert("\(r[0].string ?? "")@\(r[1].string ?? "")")
            }
        }
        return (users.count, contacts, expired)
    }

    /// True while a db_mode 2 change to `ruid` waits for the next flush.
    func isPending(_ ruid: String) -> Bool { pending.withLock { $0[ruid] != nil } }

    /// Reads every stored binding still valid at `now`; expired rows are deleted.
    func loadAll(now: Int) throws(SQLiteError) -> [UsrlocContact] {
        let rows = try db.query("""
            SELECT ruid, username, domain, contact, received, path, expires, q, callid, cseq, last_modified,
                flags, cflags, user_agent, socket, methods, instance, reg_id FROM location
            """)
        var out: [UsrlocContact] = []
        var stale: [UsrlocChange] = []
        for r in rows where r.count == 18 {
            let ruid = r[0].string ?? ""
            let user = r[1].string ?? ""
            let aor = useDomain ? (r[2].string.map { "\(user)@\($0)" } ?? user) : user
            let expires = KamailioTime.parse(r[6]) ?? 0
            let q = r[7].double.map { $0 < 0 ? -1 : Int(($0 * 1000).rounded()) } ?? -1
            let c = UsrlocContact(ruid: ruid, aor: aor, contact: r[3].string ?? "", received: r[4].string,
                                  path: r[5].string, expires: expires <= 0 ? 0 : expires, q: q,
                                  callID: r[8].string ?? "", cseq: Int(r[9].int ?? 0), flags: Int(r[11].int ?? 0),
                                  cflags: Int(r[12].int ?? 0), userAgent: r[13].string ?? "", socket: r[14].string,
                                  methods: r[15].int.map { Int($0) }, instance: r[16].string,
                                  regID: Int(r[17].int ?? 0), lastModified: KamailioTime.parse(r[10]) ?? now)
            if c.isExpired(at: now) { stale.append(.delete(ruid: ruid)) } else { out.append(c) }
        }
        if !stale.isEmpty { write(stale) }
        return out
    }
}
