import CSQLite3
import Synchronization

/// A value bound to or read from a SQLite statement.
public enum SQLiteValue: Sendable, Equatable {
    /// SQL NULL.
    case null
    /// An INTEGER.
    case int(Int64)
    /// A REAL.
    case double(Double)
    /// TEXT (UTF-8).
    case text(String)

    /// The value as text (numbers in decimal; NULL as nil).
    public var string: String? {
        switch self {
        case .null: return nil
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .text(let s): return s
        }
    }

    /// The value as an integer (text parsed; NULL and garbage as nil).
    public var int: Int64? {
        switch self {
        case .null: return nil
        case .int(let v): return v
        case .double(let v): return Int64(exactly: v.rounded(.towardZero))
        case .text(let s): return Int64(s)
        }
    }

    /// The value as a floating-point number.
    public var double: Double? {
        switch self {
        case .null: return nil
        case .int(let v): return Double(v)
        case .double(let v): return v
        case .text(let s): return Double(s)
        }
    }
}

/// A SQLite failure: the operation, SQLite's result code and message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// SQLite's primary result code (`SQLITE_BUSY`, ...), or -1 for our own checks.
    public let code: Int32
    /// What failed and why.
    public let message: String

    /// Creates an error.
    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    /// The text for logs.
    public var description: String { "sqlite error \(code): \(message)" }
}

/// One SQLite connection shared by threads, used one statement at a time under a lock.
///
/// Prepared statements are cached by their SQL text, so the per-REGISTER write and the
/// per-auth subscriber lookup are a bind + step, not a parse. The connection is opened
/// in WAL mode with a busy timeout: readers (kamctl, sqlite3, a second server) never
/// block our writers, and a writer that finds the file locked waits instead of failing
/// (Kamailio 5.6's db_sqlite does not, and loses registrations under contention).
public final class SQLiteDatabase: @unchecked Sendable {
    /// The file path.
    public let path: String
    // `handle` and `cache` are only touched while `lock` is held; the handle is opened
    // with SQLITE_OPEN_NOMUTEX because this lock already serialises every use.
    private let lock = Mutex<Void>(())
    private var handle: OpaquePointer?
    private var cache: [String: OpaquePointer] = [:]

    /// Opens (creating when missing) the database at `path`.
    public init(path: String, busyTimeoutMs: Int32 = 5000) throws(SQLiteError) {
        self.path = path
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteError(code: rc, message: "cannot open \(path): \(msg)")
        }
        handle = db
        sqlite3_busy_timeout(db, busyTimeoutMs)
        // WAL: readers never block the writer; NORMAL sync is durable against a
        // process crash (kill -9), which is what "a restart loses nothing" needs.
        _ = try query("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
    }

    /// Opens the file named by a Kamailio db_url (`sqlite:///abs/path.db`).
    public convenience init(url: String) throws(SQLiteError) {
        guard let path = SQLiteDatabase.path(fromURL: url) else {
            throw SQLiteError(code: -1, message: "not a sqlite db_url: '\(url)' (expected sqlite:///path)")
        }
        try self.init(path: path)
    }

    private static let openConnections = Mutex<[String: SQLiteDatabase]>([:])

    /// One connection per file for the whole process: usrloc and auth_db given the same
    /// db_url share it, so one module's writes do not invalidate the other's page cache
    /// (two connections re-read the changed pages with pread() on every REGISTER).
    public static func shared(url: String) throws(SQLiteError) -> SQLiteDatabase {
        guard let path = SQLiteDatabase.path(fromURL: url) else {
            throw SQLiteError(code: -1, message: "not a sqlite db_url: '\(url)' (expected sqlite:///path)")
        }
        return try openConnections.withLock { open throws(SQLiteError) in
            if let db = open[path] { return db }
            let db = try SQLiteDatabase(path: path)
            open[path] = db
            return db
        }
    }

    /// The file path of a db_url: everything after `sqlite://` (so an absolute path has
    /// four slashes in all, as Kamailio's db_sqlite reads it); nil for other schemes.
    public static func path(fromURL url: String) -> String? {
        let prefix = "sqlite://"
        guard url.hasPrefix(prefix) else { return nil }
        let p = String(url.dropFirst(prefix.count))
        return p.isEmpty ? nil : p
    }

    deinit {
        for (_, s) in cache { sqlite3_finalize(s) }
        if let handle { sqlite3_close_v2(handle) }
    }

    /// Runs statements that return no rows (several may be separated by `;`).
    public func execute(_ sql: String) throws(SQLiteError) {
        try lock.withLock { _ throws(SQLiteError) in
            guard let db = handle else { throw SQLiteError(code: -1, message: "database closed") }
            var err: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(db, sql, nil, nil, &err)
            if rc != SQLITE_OK {
                let msg = err.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(db))
                sqlite3_free(err)
                throw SQLiteError(code: rc, message: msg)
            }
        }
    }

    /// Runs one statement with bound parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        try lock.withLock { _ throws(SQLiteError) in try run(sql, params) }
    }

    /// Number of rows the last INSERT/UPDATE/DELETE changed (call inside `transaction`
    /// or right after `query`, racing writers aside).
    public var changes: Int { lock.withLock { _ in handle.map { Int(sqlite3_changes($0)) } ?? 0 } }

    /// Runs `body` inside one transaction (one fsync for many writes); rolls back when it throws.
    public func transaction(_ body: (SQLiteTransaction) throws(SQLiteError) -> Void) throws(SQLiteError) {
        try lock.withLock { _ throws(SQLiteError) in
            _ = try run("BEGIN IMMEDIATE", [])
            do throws(SQLiteError) {
                try body(SQLiteTransaction(db: self))
                _ = try run("COMMIT", [])
            } catch {
                _ = try? run("ROLLBACK", [])
                throw error
            }
        }
    }

    /// Runs one statement while the lock is held.
    fileprivate func run(_ sql: String, _ params: [SQLiteValue]) throws(SQLiteError) -> [[SQLiteValue]] {
        guard let db = handle else { throw SQLiteError(code: -1, message: "database closed") }
        let stmt: OpaquePointer
        if let s = cache[sql] {
            stmt = s
        } else {
            var s: OpaquePointer?
            let rc = sqlite3_prepare_v2(db, sql, -1, &s, nil)
            guard rc == SQLITE_OK, let s else {
                throw SQLiteError(code: rc, message: "\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
            }
            cache[sql] = s
            stmt = s
        }
        defer {
            sqlite3_reset(stmt)
            sqlite3_clear_bindings(stmt)
        }
        for (i, p) in params.enumerated() {
            let idx = Int32(i + 1)
            let rc: Int32
            switch p {
            case .null: rc = sqlite3_bind_null(stmt, idx)
            case .int(let v): rc = sqlite3_bind_int64(stmt, idx, v)
            case .double(let v): rc = sqlite3_bind_double(stmt, idx, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, idx, s, -1, kd_sqlite_transient())
            }
            guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: String(cString: sqlite3_errmsg(db))) }
        }
        var rows: [[SQLiteValue]] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw SQLiteError(code: rc, message: "\(String(cString: sqlite3_errmsg(db))) in: \(sql)")
            }
            let n = sqlite3_column_count(stmt)
            var row: [SQLiteValue] = []
            row.reserveCapacity(Int(n))
            for c in 0..<n {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_INTEGER: row.append(.int(sqlite3_column_int64(stmt, c)))
                case SQLITE_FLOAT: row.append(.double(sqlite3_column_double(stmt, c)))
                case SQLITE_NULL: row.append(.null)
                default:
                    if let t = sqlite3_column_text(stmt, c) {
                        row.append(.text(String(cString: t)))
                    } else {
                        row.append(.null)
                    }
                }
            }
            rows.append(row)
        }
        return rows
    }
}

/// Statement access inside `SQLiteDatabase.transaction` (the lock is already held).
public struct SQLiteTransaction {
    fileprivate let db: SQLiteDatabase

    /// Runs one statement within the transaction.
    @discardableResult
    public func query(_ sql: String, _ params: [SQLiteValue] = []) throws(SQLiteError) -> [[SQLiteValue]] {
        try db.run(sql, params)
    }
}
