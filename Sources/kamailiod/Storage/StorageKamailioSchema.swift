#if canImport(Glibc)
import Glibc
#endif

/// Kamailio 5.6's own SQLite tables (`/usr/share/kamailio/db_sqlite/*-create.sql`) with
/// the `version` rows its modules check at start, so `kamctl` (DBENGINE=SQLITE) and an
/// existing Kamailio database work with ours and the other way round.
public enum KamailioSchema {
    /// Table versions Kamailio 5.6 expects (the modules refuse other versions).
    public static let versions: [(table: String, version: Int)] = [
        ("version", 1), ("location", 9), ("location_attrs", 1), ("subscriber", 7), ("dialog", 7), ("dialog_vars", 1),
    ]

    /// CREATE statements per table, in Kamailio's column order, types and defaults.
    static let tables: [(name: String, sql: String)] = [
        ("version", """
        CREATE TABLE version (
            id INTEGER PRIMARY KEY NOT NULL,
            table_name VARCHAR(32) NOT NULL,
            table_version INTEGER DEFAULT 0 NOT NULL,
            CONSTRAINT version_table_name_idx UNIQUE (table_name)
        );
        """),
        ("location", """
        CREATE TABLE location (
            id INTEGER PRIMARY KEY NOT NULL,
            ruid VARCHAR(64) DEFAULT '' NOT NULL,
            username VARCHAR(64) DEFAULT '' NOT NULL,
            domain VARCHAR(64) DEFAULT NULL,
            contact VARCHAR(512) DEFAULT '' NOT NULL,
            received VARCHAR(128) DEFAULT NULL,
            path VARCHAR(512) DEFAULT NULL,
            expires TIMESTAMP WITHOUT TIME ZONE DEFAULT '2030-05-28 21:32:15' NOT NULL,
            q REAL DEFAULT 1.0 NOT NULL,
            callid VARCHAR(255) DEFAULT 'Default-Call-ID' NOT NULL,
            cseq INTEGER DEFAULT 1 NOT NULL,
            last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL,
            flags INTEGER DEFAULT 0 NOT NULL,
            cflags INTEGER DEFAULT 0 NOT NULL,
            user_agent VARCHAR(255) DEFAULT '' NOT NULL,
            socket VARCHAR(64) DEFAULT NULL,
            methods INTEGER DEFAULT NULL,
            instance VARCHAR(255) DEFAULT NULL,
            reg_id INTEGER DEFAULT 0 NOT NULL,
            server_id INTEGER DEFAULT 0 NOT NULL,
            connection_id INTEGER DEFAULT 0 NOT NULL,
            keepalive INTEGER DEFAULT 0 NOT NULL,
            partition INTEGER DEFAULT 0 NOT NULL,
            CONSTRAINT location_ruid_idx UNIQUE (ruid)
        );
        CREATE INDEX location_account_contact_idx ON location (username, domain, contact);
        CREATE INDEX location_expires_idx ON location (expires);
        CREATE INDEX location_tcpcon_idx ON location (connection_id);
        CREATE INDEX location_connection_idx ON location (server_id, connection_id);
        """),
        ("location_attrs", """
        CREATE TABLE location_attrs (
            id INTEGER PRIMARY KEY NOT NULL,
            ruid VARCHAR(64) DEFAULT '' NOT NULL,
            username VARCHAR(64) DEFAULT '' NOT NULL,
            domain VARCHAR(64) DEFAULT NULL,
            aname VARCHAR(64) DEFAULT '' NOT NULL,
            atype INTEGER DEFAULT 0 NOT NULL,
            avalue VARCHAR(512) DEFAULT '' NOT NULL,
            last_modified TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:01' NOT NULL
        );
        CREATE INDEX location_attrs_account_record_idx ON location_attrs (username, domain, ruid);
        CREATE INDEX location_attrs_last_modified_idx ON location_attrs (last_modified);
        """),
        ("subscriber", """
        CREATE TABLE subscriber (
            id INTEGER PRIMARY KEY NOT NULL,
            username VARCHAR(64) DEFAULT '' NOT NULL,
            domain VARCHAR(64) DEFAULT '' NOT NULL,
            password VARCHAR(64) DEFAULT '' NOT NULL,
            ha1 VARCHAR(128) DEFAULT '' NOT NULL,
            ha1b VARCHAR(128) DEFAULT '' NOT NULL,
            CONSTRAINT subscriber_account_idx UNIQUE (username, domain)
        );
        CREATE INDEX subscriber_username_idx ON subscriber (username);
        """),
        ("dialog", """
        CREATE TABLE dialog (
            id INTEGER PRIMARY KEY NOT NULL,
            hash_entry INTEGER NOT NULL,
            hash_id INTEGER NOT NULL,
            callid VARCHAR(255) NOT NULL,
            from_uri VARCHAR(255) NOT NULL,
            from_tag VARCHAR(128) NOT NULL,
            to_uri VARCHAR(255) NOT NULL,
            to_tag VARCHAR(128) NOT NULL,
            caller_cseq VARCHAR(20) NOT NULL,
            callee_cseq VARCHAR(20) NOT NULL,
            caller_route_set VARCHAR(512),
            callee_route_set VARCHAR(512),
            caller_contact VARCHAR(255) NOT NULL,
            callee_contact VARCHAR(255) NOT NULL,
            caller_sock VARCHAR(64) NOT NULL,
            callee_sock VARCHAR(64) NOT NULL,
            state INTEGER NOT NULL,
            start_time INTEGER NOT NULL,
            timeout INTEGER DEFAULT 0 NOT NULL,
            sflags INTEGER DEFAULT 0 NOT NULL,
            iflags INTEGER DEFAULT 0 NOT NULL,
            toroute_name VARCHAR(32),
            req_uri VARCHAR(255) NOT NULL,
            xdata VARCHAR(512)
        );
        CREATE INDEX dialog_hash_idx ON dialog (hash_entry, hash_id);
        """),
        ("dialog_vars", """
        CREATE TABLE dialog_vars (
            id INTEGER PRIMARY KEY NOT NULL,
            hash_entry INTEGER NOT NULL,
            hash_id INTEGER NOT NULL,
            dialog_key VARCHAR(128) NOT NULL,
            dialog_value VARCHAR(512) NOT NULL
        );
        CREATE INDEX dialog_vars_hash_idx ON dialog_vars (hash_entry, hash_id);
        """),
    ]

    /// Creates every missing table (with its indexes) and its `version` row; tables that
    /// exist are left exactly as they are. Returns the names of the tables created.
    @discardableResult
    public static func createMissing(in db: SQLiteDatabase) throws(SQLiteError) -> [String] {
        var created: [String] = []
        try db.transaction { tx throws(SQLiteError) in
            for (name, sql) in tables {
                let found = try tx.query("SELECT name FROM sqlite_master WHERE type='table' AND name=?", [.text(name)])
                if !found.isEmpty { continue }
                for stmt in sql.split(separator: ";") where !stmt.allSatisfy({ $0 == "\n" || $0 == " " }) {
                    try tx.query(String(stmt))
                }
                created.append(name)
            }
            for (table, version) in versions {
                let row = try tx.query("SELECT table_version FROM version WHERE table_name=?", [.text(table)])
                if row.isEmpty {
                    try tx.query("INSERT INTO version (table_name, table_version) VALUES (?, ?)",
                                 [.text(table), .int(Int64(version))])
                }
            }
        }
        return created
    }

    /// The version recorded for `table`, nil when there is no row.
    public static func version(of table: String, in db: SQLiteDatabase) throws(SQLiteError) -> Int? {
        try db.query("SELECT table_version FROM version WHERE table_name=?", [.text(table)]).first?.first?.int.map { Int($0) }
    }
}

/// Times in Kamailio's SQLite tables: db_sqlite 5.6 writes DATETIME columns as Julian
/// day numbers (REAL, SQLite's `julianday()` scale) and reads both that and
/// `YYYY-MM-DD HH:MM:SS` text (what `kamctl`/`sqlite3` users type), so we do the same.
public enum KamailioTime {
    /// Julian day number of the Unix epoch.
    static let epochJulianDay = 2_440_587.5

    /// `t` (seconds since the epoch) as db_sqlite writes it.
    public static func value(_ t: Int) -> SQLiteValue {
        .double(Double(t) / 86_400 + epochJulianDay)
    }

    /// Reads a stored time: a Julian day number, an integer epoch, or local
    /// `YYYY-MM-DD HH:MM:SS` text; nil for anything else.
    public static func parse(_ value: SQLiteValue) -> Int? {
        switch value {
        case .null: return nil
        case .int(let v): return Int(v)
        case .double(let jd): return Int(((jd - epochJulianDay) * 86_400).rounded())
        case .text(let s):
            let fields = s.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" || $0 == "T" }).compactMap { Int32($0) }
            guard fields.count == 6 else {
                if let jd = Double(s), s.contains(".") { return parse(.double(jd)) }
                return Int(s)
            }
            var parts = tm()
            parts.tm_year = fields[0] - 1900
            parts.tm_mon = fields[1] - 1
            parts.tm_mday = fields[2]
            parts.tm_hour = fields[3]
            parts.tm_min = fields[4]
            parts.tm_sec = fields[5]
            parts.tm_isdst = -1
            return Int(mktime(&parts))
        }
    }
}
