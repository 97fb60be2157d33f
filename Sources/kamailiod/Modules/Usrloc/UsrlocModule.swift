import Control
import Foundation
import ScriptEngine
import Storage
import Synchronization

/// The user location service (Kamailio's `usrloc`): in-memory location tables, their
/// SQLite persistence per `db_mode`, and the expiry timer. The registrar module calls it.
public final class UsrlocModule: ScriptModule {
    public let name = "usrloc"
    let runtime: CoreRuntime

    /// modparam values, fixed once the script is loaded.
    struct Settings {
        var dbURL = ""
        var dbMode = UsrlocDBMode.none
        var useDomain = false
        var timerInterval = 60
        var hashBits = 10
    }

    let settings = Mutex(Settings())
    let tablesLock = Mutex<[String: UsrlocTable]>([:])
    let timerStarted = Atomic<Bool>(false)
    /// The opened database (db_mode > 0), for the registrar and the control interface.
    let database = Mutex<SQLiteDatabase?>(nil)

    /// Counters the registrar keeps (`registrar:accepted_regs`, `rejected_regs`), here so
    /// the control interface finds every location statistic in one place.
    public let registrarStats = RegistrarStatistics()

    /// Creates the module; tables come into being when a script function names them.
    public init(runtime: CoreRuntime) {
        self.runtime = runtime
        // Shown by cfg.get (kamailiod's group; modparams only in Kamailio); the tables
        // and the timer are built from them at start-up, so a change needs a restart.
        let c = runtime.cfg, g = "usrloc"
        _ = c.declareInt(g, "db_mode", 0, min: 0, max: 3, applies: .restart, "0: memory only, 1: write-through, 2: write-back, 3: database only")
        _ = c.declareInt(g, "use_domain", 0, min: 0, max: 1, applies: .restart, "1: address-of-record is user@domain")
        _ = c.declareInt(g, "timer_interval", 60, applies: .restart, "Seconds between runs of the expiry timer")
        _ = c.declareInt(g, "hash_size", 10, min: 1, max: 16, applies: .restart, "Location table size as a power of two")
    }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("db_url", .string) { [self] v in settings.withLock { $0.dbURL = v.stringValue } },
            ScriptModuleParameter("db_mode", .int) { [self] v throws(ScriptFixupError) in
                guard let m = UsrlocDBMode(rawValue: Int(v.intValue)) else {
                    throw ScriptFixupError("db_mode must be 0, 1, 2 or 3, found \(v.intValue)")
                }
                settings.withLock { $0.dbMode = m }
                runtime.cfg.setInitial("usrloc", "db_mode", .int(m.rawValue))
            },
            ScriptModuleParameter("use_domain", .int) { [self] v in
                settings.withLock { $0.useDomain = v.intValue != 0 }
                runtime.cfg.setInitial("usrloc", "use_domain", .int(Int(v.intValue)))
            },
            ScriptModuleParameter("timer_interval", .int) { [self] v throws(ScriptFixupError) in
                guard v.intValue > 0 else { throw ScriptFixupError("timer_interval must be positive") }
                settings.withLock { $0.timerInterval = Int(v.intValue) }
                runtime.cfg.setInitial("usrloc", "timer_interval", .int(Int(v.intValue)))
            },
            ScriptModuleParameter("hash_size", .int) { [self] v throws(ScriptFixupError) in
                guard (1...16).contains(v.intValue) else { throw ScriptFixupError("hash_size must be 1-16 (2^n slots)") }
                settings.withLock { $0.hashBits = Int(v.intValue) }
                runtime.cfg.setInitial("usrloc", "hash_size", .int(Int(v.intValue)))
            },
        ]
    }

    public var functions: [ScriptFunction] { [] }

    /// True when AoRs are `user@domain` (modparam `use_domain`).
    public var useDomain: Bool { settings.withLock { $0.useDomain } }

    /// The table called `name`, created (empty, with the configured store) on first use.
    public func table(_ name: String) -> UsrlocTable {
        tablesLock.withLock { tables in
            if let t = tables[name] { return t }
            let s = settings.withLock { $0 }
            // Only `location` has a table layout in the schema; other names stay in memory.
            let store = name == "location" ? database.withLock { db in
                db.map { UsrlocStore(db: $0, mode: s.dbMode, useDomain: s.useDomain, log: logError) }
            } : nil
            let t = UsrlocTable(name: name, hashBits: s.hashBits, store: store)
            tables[name] = t
            return t
        }
    }

    /// The table called `name` if the script uses it (`ul.*` do not create tables).
    public func existingTable(_ name: String) -> UsrlocTable? {
        tablesLock.withLock { $0[name] }
    }

    /// The configured `db_mode`.
    public var dbMode: UsrlocDBMode { settings.withLock { $0.dbMode } }

    private var logError: @Sendable (String) -> Void {
        let rt = runtime
        return { rt.log(.error, "usrloc", $0) }
    }

    /// Opens the database (db_mode > 0), creates missing tables, loads the stored
    /// bindings so a restart loses nothing, and starts the expiry timer.
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        let s = settings.withLock { $0 }
        if s.dbMode != .none {
            guard !s.dbURL.isEmpty else { throw ScriptError("usrloc: db_mode \(s.dbMode.rawValue) needs db_url", at: nil) }
            do {
                let db = try SQLiteDatabase.shared(url: s.dbURL)
                try KamailioSchema.createMissing(in: db)
                database.withLock { $0 = db }
            } catch {
                throw ScriptError("usrloc: \(error)", at: nil)
            }
            let t = table("location")
            if t.store == nil, let db = database.withLock({ $0 }) {
                t.attach(UsrlocStore(db: db, mode: s.dbMode, useDomain: s.useDomain, log: logError))
            }
            do {
                if let store = t.store {
                    let rows = try store.loadAll(now: Self.now())
                    t.load(rows)
                    runtime.log(.info, "usrloc", "loaded \(rows.count) contact(s) from \(store.db.path)")
                }
            } catch {
                throw ScriptError("usrloc: cannot load location: \(error)", at: nil)
            }
        }
        startTimer(interval: s.timerInterval)
    }

    private func startTimer(interval: Int) {
        guard !timerStarted.exchange(true, ordering: .relaxed) else { return }
        // Kamailio runs the usrloc timer in its timer process; ours is one thread that
        // removes expired bindings and, in db_mode 2, flushes the queued changes.
        // Weak: a module that goes away (tests load many scripts) ends its timer.
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: Double(interval))
                guard let self else { return }
                timerTick(now: Self.now())
            }
        }
        thread.name = "usrloc-timer"
        thread.start()
        UsrlocExitFlush.register { [weak self] in self?.flushAll() }
    }

    /// One timer run: expiry, then the write-back flush.
    public func timerTick(now: Int) {
        let tables = tablesLock.withLock { Array($0.values) }
        for t in tables {
            t.expire(now: now)
            t.store?.flush()
        }
    }

    /// Writes every queued change now (db_mode 2; `ul.flush`, shutdown).
    public func flushAll() {
        for t in tablesLock.withLock({ Array($0.values) }) { t.store?.flush() }
    }

    /// Registers Kamailio's usrloc and registrar statistics (`usrloc:registered_users`,
    /// `usrloc:location-contacts`, `registrar:accepted_regs`, ...) for `stats.*`.
    public func registerStatistics(in stats: RPCStatistics) {
        let location = table("location")
        stats.register(group: "usrloc", name: "registered_users", resettable: false) {
            location.stats.users.load(ordering: .relaxed)
        }
        stats.register(group: "usrloc", name: "location-users", resettable: false) {
            location.stats.users.load(ordering: .relaxed)
        }
        stats.register(group: "usrloc", name: "location-contacts", resettable: false) {
            location.stats.contacts.load(ordering: .relaxed)
        }
        stats.register(group: "usrloc", name: "location-expires") { location.stats.expired.load(ordering: .relaxed) }
        let r = registrarStats
        stats.register(group: "registrar", name: "accepted_regs") { r.accepted.load(ordering: .relaxed) }
        stats.register(group: "registrar", name: "rejected_regs") { r.rejected.load(ordering: .relaxed) }
    }

    /// Seconds since the epoch.
    public static func now() -> Int { Int(time(nil)) }
}

/// REGISTERs the registrar accepted and refused.
public final class RegistrarStatistics: Sendable {
    /// REGISTERs answered 200.
    public let accepted = Atomic<Int>(0)
    /// REGISTERs refused with an error reply.
    public let rejected = Atomic<Int>(0)
}

/// Flushes write-back tables when the process exits normally (SIGTERM ends `main`).
enum UsrlocExitFlush {
    static let flushers = Mutex<[@Sendable () -> Void]>([])
    static let installed = Atomic<Bool>(false)

    static func register(_ f: @escaping @Sendable () -> Void) {
        flushers.withLock { $0.append(f) }
        if !installed.exchange(true, ordering: .relaxed) {
            atexit { for f in UsrlocExitFlush.flushers.withLock({ $0 }) { f() } }
        }
    }
}

/// The `db_sqlite` module: in Kamailio it is the driver behind every `db_url`; here the
/// driver is built in (the Storage target), so `loadmodule "db_sqlite.so"` only has to
/// be accepted.
public final class DBSQLiteModule: ScriptModule {
    public let name = "db_sqlite"
    public let parameters: [ScriptModuleParameter] = [
        // Kamailio's db_sqlite knobs; accepted so existing configurations load.
        ScriptModuleParameter("busy_timeout", .int) { _ in },
        ScriptModuleParameter("db_set_readonly", .string) { _ in },
        ScriptModuleParameter("journal_mode", .string) { _ in },
    ]
    public let functions: [ScriptFunction] = []

    /// Creates the module.
    public init() {}
}
