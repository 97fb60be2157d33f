#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Per-module log levels and syslog facilities (debugger's `mod_level` / `mod_facility`,
/// `dbg.set_mod_level`, `dbg.set_mod_facility`). The daemon's logger consults this table
/// for every line: with no override set it costs one relaxed atomic load.
public final class ModuleLogLevels: Sendable {
    private struct Table {
        var levels: [String: Int] = [:]
        var facilities: [String: Int32] = [:]
    }

    private let table = Mutex(Table())
    /// True while any level override is in force (`mod_level_mode` on and a level set).
    private let hasLevels = Atomic<Bool>(false)
    /// True while any facility override is in force.
    private let hasFacilities = Atomic<Bool>(false)
    /// The most verbose override level, so `enabled()` lets lines through for a module
    /// that is more verbose than the global `debug`.
    private let ceiling = Atomic<Int>(Int.min)
    /// `mod_level_mode` / `mod_facility_mode` (also cfg `dbg.mod_level_mode` ...).
    let levelMode = Atomic<Int>(0)
    let facilityMode = Atomic<Int>(0)

    /// The global `debug` level, kept here by the daemon's logger (`get_mod_level` of a
    /// module without its own level).
    private let global = Atomic<Int>(2)

    /// An empty table.
    public init() {}

    /// The global level (set by the logger whenever `debug` changes).
    public var globalLevel: Int { global.load(ordering: .relaxed) }

    /// Records the global level.
    public func setGlobalLevel(_ l: Int) { global.store(l, ordering: .relaxed) }

    /// The facility lines go to without an override (syslog's default for daemons).
    var globalFacility: Int32 { LOG_DAEMON }

    /// The level in force for `module` when it differs from the global one.
    @inline(__always) public func level(for module: String) -> Int? {
        guard hasLevels.load(ordering: .relaxed) else { return nil }
        return table.withLock { $0.levels[module] }
    }

    /// The most verbose module level, or `Int.min` with no override.
    @inline(__always) public var mostVerbose: Int { ceiling.load(ordering: .relaxed) }

    /// The syslog facility for `module` when overridden.
    public func facility(for module: String) -> Int32? {
        guard hasFacilities.load(ordering: .relaxed) else { return nil }
        return table.withLock { $0.facilities[module] }
    }

    /// The stored level (whether or not the mode makes it effective).
    func storedLevel(_ module: String) -> Int? { table.withLock { $0.levels[module] } }

    /// The stored facility.
    func storedFacility(_ module: String) -> Int32? { table.withLock { $0.facilities[module] } }

    /// Sets a module's level.
    func setLevel(_ module: String, _ level: Int) {
        table.withLock { $0.levels[module] = level }
        refresh()
    }

    /// Sets a module's facility.
    func setFacility(_ module: String, _ facility: Int32) {
        table.withLock { $0.facilities[module] = facility }
        refresh()
    }

    /// Re-derives the fast-path flags after a change of a table or a mode.
    func refresh() {
        let levelsOn = levelMode.load(ordering: .relaxed) != 0
        let facilitiesOn = facilityMode.load(ordering: .relaxed) != 0
        let (l, f, c) = table.withLock { t in
            (!t.levels.isEmpty, !t.facilities.isEmpty, t.levels.values.max() ?? Int.min)
        }
        ceiling.store(levelsOn && l ? c : Int.min, ordering: .relaxed)
        hasLevels.store(levelsOn && l, ordering: .relaxed)
        hasFacilities.store(facilitiesOn && f, ordering: .relaxed)
    }

    /// syslog facility names as Kamailio accepts them.
    static let facilityNames: [(String, Int32)] = [
        ("LOG_AUTH", LOG_AUTH), ("LOG_CRON", LOG_CRON), ("LOG_DAEMON", LOG_DAEMON), ("LOG_KERN", LOG_KERN),
        ("LOG_LOCAL0", LOG_LOCAL0), ("LOG_LOCAL1", LOG_LOCAL1), ("LOG_LOCAL2", LOG_LOCAL2),
        ("LOG_LOCAL3", LOG_LOCAL3), ("LOG_LOCAL4", LOG_LOCAL4), ("LOG_LOCAL5", LOG_LOCAL5),
        ("LOG_LOCAL6", LOG_LOCAL6), ("LOG_LOCAL7", LOG_LOCAL7), ("LOG_LPR", LOG_LPR), ("LOG_MAIL", LOG_MAIL),
        ("LOG_NEWS", LOG_NEWS), ("LOG_USER", LOG_USER), ("LOG_UUCP", LOG_UUCP), ("LOG_AUTHPRIV", LOG_AUTHPRIV),
        ("LOG_FTP", LOG_FTP), ("LOG_SYSLOG", LOG_SYSLOG),
    ]

    /// `LOG_LOCAL0` → its value.
    static func facility(named name: String) -> Int32? {
        facilityNames.first { $0.0 == name.uppercased() }?.1
    }

    /// Value → `LOG_LOCAL0`.
    static func facilityName(_ value: Int32) -> String {
        facilityNames.first { $0.1 == value }?.0 ?? "LOG_DAEMON"
    }

    /// Parses `name=value` entries of the `mod_level` / `mod_facility` modparams.
    static func assignment(_ text: String) -> (module: String, value: String)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        let module = String(text[..<eq]).trimmedWS
        let value = String(text[text.index(after: eq)...]).trimmedWS
        return module.isEmpty || value.isEmpty ? nil : (module, value)
    }
}
