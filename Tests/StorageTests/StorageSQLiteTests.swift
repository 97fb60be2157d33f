import Foundation
import Storage
import Testing

/// A fresh database file in a temporary directory.
func temporaryDatabasePath(_ name: String = "t.db") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("storage-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

@Suite("SQLite wrapper")
struct StorageSQLiteTests {
    @Test("db_url sqlite:///abs/path names the file after sqlite://")
    func urlPath() {
        #expect(SQLiteDatabase.path(fromURL: "sqlite:////tmp/x/k.db") == "//tmp/x/k.db")
        #expect(SQLiteDatabase.path(fromURL: "sqlite:///tmp/k.db") == "/tmp/k.db")
        #expect(SQLiteDatabase.path(fromURL: "mysql://u:p@h/db") == nil)
        #expect(SQLiteDatabase.path(fromURL: "sqlite://") == nil)
    }

    @Test("a database opens in WAL mode and round-trips typed values")
    func roundTrip() throws {
        let db = try SQLiteDatabase(path: temporaryDatabasePath())
        #expect(try db.query("PRAGMA journal_mode").first?.first == .text("wal"))
        try db.execute("CREATE TABLE t (a INTEGER, b REAL, c TEXT, d TEXT)")
        try db.query("INSERT INTO t VALUES (?, ?, ?, ?)", [.int(42), .double(0.5), .text("héllo"), .null])
        let rows = try db.query("SELECT a, b, c, d FROM t")
        #expect(rows == [[.int(42), .double(0.5), .text("héllo"), .null]])
        #expect(rows[0][0].string == "42" && rows[0][1].double == 0.5 && rows[0][3].string == nil)
    }

    @Test("a failing statement inside a transaction rolls the whole transaction back")
    func rollback() throws {
        let db = try SQLiteDatabase(path: temporaryDatabasePath())
        try db.execute("CREATE TABLE t (a INTEGER UNIQUE)")
        #expect(throws: SQLiteError.self) {
            try db.transaction { tx throws(SQLiteError) in
                try tx.query("INSERT INTO t VALUES (1)")
                try tx.query("INSERT INTO t VALUES (1)")
            }
        }
        #expect(try db.query("SELECT count(*) FROM t").first?.first == .int(0))
    }

    @Test("a syntax error names the statement")
    func syntaxError() throws {
        let db = try SQLiteDatabase(path: temporaryDatabasePath())
        do {
            try db.query("SELEKT 1")
            Issue.record("expected an error")
        } catch {
            #expect(error.message.contains("SELEKT"))
        }
    }

    @Test("a file in a missing directory cannot be opened")
    func missingDirectory() {
        #expect(throws: SQLiteError.self) { try SQLiteDatabase(path: "/nonexistent-dir-\(UUID())/x.db") }
    }
}

@Suite("Kamailio schema")
struct StorageSchemaTests {
    @Test("createMissing makes Kamailio's tables, indexes and version rows, once")
    func create() throws {
        let db = try SQLiteDatabase(path: temporaryDatabasePath())
        let created = try KamailioSchema.createMissing(in: db)
        #expect(created == ["version", "location", "location_attrs", "subscriber", "dialog", "dialog_vars"])
        #expect(try KamailioSchema.createMissing(in: db).isEmpty)
        #expect(try KamailioSchema.version(of: "location", in: db) == 9)
        #expect(try KamailioSchema.version(of: "subscriber", in: db) == 7)
        #expect(try KamailioSchema.version(of: "location_attrs", in: db) == 1)
        #expect(try KamailioSchema.version(of: "dialog", in: db) == 7 && KamailioSchema.version(of: "dialog_vars", in: db) == 1)
        #expect(try db.query("SELECT count(*) FROM version").first?.first == .int(6))
        let indexes = try db.query("SELECT name FROM sqlite_master WHERE type='index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .compactMap { $0.first?.string }
        #expect(indexes == ["dialog_hash_idx", "dialog_vars_hash_idx", "location_account_contact_idx", "location_attrs_account_record_idx",
                            "location_attrs_last_modified_idx", "location_connection_idx", "location_expires_idx",
                            "location_tcpcon_idx", "subscriber_username_idx"])
        let columns = try db.query("PRAGMA table_info(location)").compactMap { $0[1].string }
        #expect(columns == ["id", "ruid", "username", "domain", "contact", "received", "path", "expires", "q", "callid",
                            "cseq", "last_modified", "flags", "cflags", "user_agent", "socket", "methods", "instance",
                            "reg_id", "server_id", "connection_id", "keepalive", "partition"])
    }

    /// Our tables and version rows whose names match `filter` (a SQL condition on the
    /// table name) are the same as those `theirs` has, whitespace aside.
    func expectSameSchema(_ theirs: SQLiteDatabase, where filter: String) throws {
        let ours = try SQLiteDatabase(path: temporaryDatabasePath())
        try KamailioSchema.createMissing(in: ours)
        let dump = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE tbl_name \(filter) ORDER BY name"
        #expect(try ours.query(dump).map { $0.map { $0.string?.filter { !$0.isWhitespace } } }
                == theirs.query(dump).map { $0.map { $0.string?.filter { !$0.isWhitespace } } })
        let versions = "SELECT table_name, table_version FROM version WHERE table_name \(filter) ORDER BY table_name"
        #expect(try ours.query(versions) == theirs.query(versions))
    }

    @Test("the schema equals the harness copy of Kamailio's create scripts")
    func matchesKamailioScript() throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/harness/db/schema.sql")
        guard let text = try? String(contentsOf: shared, encoding: .utf8) else { return }
        let theirs = try SQLiteDatabase(path: temporaryDatabasePath())
        try theirs.execute(text)
        // the harness copy has the usrloc/auth tables; dialog's are checked below
        try expectSameSchema(theirs, where: "NOT LIKE 'dialog%'")
    }

    @Test("the dialog tables equal Kamailio's installed dialog-create.sql")
    func matchesKamailioDialogScript() throws {
        guard let text = try? String(contentsOfFile: "/usr/share/kamailio/db_sqlite/dialog-create.sql", encoding: .utf8) else { return }
        let theirs = try SQLiteDatabase(path: temporaryDatabasePath())
        try theirs.execute("CREATE TABLE version (id INTEGER PRIMARY KEY NOT NULL, table_name VARCHAR(32) NOT NULL, table_version INTEGER DEFAULT 0 NOT NULL);")
        try theirs.execute(text)
        try expectSameSchema(theirs, where: "LIKE 'dialog%'")
    }

    @Test("times are written as Julian days and read back in every stored form")
    func times() {
        let t = 1_790_000_000
        #expect(KamailioTime.parse(KamailioTime.value(t)) == t)
        #expect(KamailioTime.parse(.int(12)) == 12)
        #expect(KamailioTime.parse(.text("2461372.26876736")) != nil)
        #expect(KamailioTime.parse(.text("1970-01-01 00:00:00")) != nil)
        #expect(KamailioTime.parse(.null) == nil)
    }
}

@Suite("shared connections")
struct StorageSharedTests {
    @Test("the same db_url gives the same connection; another file another one")
    func shared() throws {
        let a = temporaryDatabasePath()
        let first = try SQLiteDatabase.shared(url: "sqlite://\(a)")
        let again = try SQLiteDatabase.shared(url: "sqlite://\(a)")
        let other = try SQLiteDatabase.shared(url: "sqlite://\(temporaryDatabasePath())")
        #expect(first === again)
        #expect(first !== other)
        #expect(throws: SQLiteError.self) { try SQLiteDatabase.shared(url: "postgres://x") }
    }
}
