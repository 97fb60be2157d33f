import Storage

/// `kamailiod --init-db sqlite:///path`: creates a database with Kamailio's tables and
/// version rows (what `kamdbctl create` does for SQLite, limited to the tables kamailiod
/// uses), so `kamctl` can add subscribers before the server first starts.
enum DatabaseInit {
    /// Creates missing tables; existing tables and rows are left alone. Prints what it
    /// did; returns the process exit status.
    static func run(url: String) -> Int32 {
        do {
            let db = try SQLiteDatabase(url: url)
            let created = try KamailioSchema.createMissing(in: db)
            if created.isEmpty {
                print("\(db.path): all tables already exist")
            } else {
                print("\(db.path): created \(created.joined(separator: ", "))")
            }
            return 0
        } catch {
            Daemon.printErr("kamailiod: --init-db: \(error)")
            return 1
        }
    }
}
