#if canImport(Glibc)
import Glibc
#endif
import BuiltinModules
import Synchronization

/// Kamailio's log levels (`debug=` values): lower is more severe.
enum LogLevel: Int, Sendable, Comparable {
    case alert = -5, bug = -4, critical = -3, error = -1, warning = 0, notice = 1, info = 2, debug = 3

    static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }

    /// The word Kamailio prints before a message.
    var label: String {
        switch self {
        case .alert: "ALERT"
        case .bug: "BUG"
        case .critical: "CRITICAL"
        case .error: "ERROR"
        case .warning: "WARNING"
        case .notice: "NOTICE"
        case .info: "INFO"
        case .debug: "DEBUG"
        }
    }

    var syslogPriority: Int32 {
        switch self {
        case .alert: LOG_ALERT
        case .bug, .critical: LOG_CRIT
        case .error: LOG_ERR
        case .warning: LOG_WARNING
        case .notice: LOG_NOTICE
        case .info: LOG_INFO
        case .debug: LOG_DEBUG
        }
    }
}

/// The daemon's logger. Thread-safe: each line is written with one `write(2)`, so lines
/// from different workers never interleave. The level can change at run time (`debug=`,
/// later the cfg framework), hence the atomic.
final class DaemonLogger: Sendable {
    private let level: Atomic<Int>
    private let toStderr: Atomic<Bool>
    private let colors: Bool
    /// Per-module levels and facilities (debugger's `dbg.set_mod_level` ...).
    private let moduleLevels: ModuleLogLevels

    init(level: Int, toStderr: Bool, colors: Bool = false, moduleLevels: ModuleLogLevels = ModuleLogLevels()) {
        self.level = Atomic(level)
        self.toStderr = Atomic(toStderr)
        self.colors = colors
        self.moduleLevels = moduleLevels
        moduleLevels.setGlobalLevel(level)
    }

    /// Current `debug` level.
    var currentLevel: Int {
        get { level.load(ordering: .relaxed) }
    }

    func setLevel(_ l: Int) {
        level.store(l, ordering: .relaxed)
        moduleLevels.setGlobalLevel(l)
    }
    func setStderr(_ v: Bool) { toStderr.store(v, ordering: .relaxed) }

    /// True when a message at `l` would be written for some module; lets callers skip
    /// building the text. A module set more verbose than `debug` raises the bar.
    @inline(__always) func enabled(_ l: LogLevel) -> Bool {
        l.rawValue <= max(level.load(ordering: .relaxed), moduleLevels.mostVerbose)
    }

    /// Writes `message` at `l` from `module` (`core`, `sl`, `xlog`, ...), at that module's
    /// own level when one is set (`dbg.set_mod_level`).
    func log(_ l: LogLevel, _ module: String, _ message: String) {
        guard l.rawValue <= moduleLevels.level(for: module) ?? level.load(ordering: .relaxed) else { return }
        if toStderr.load(ordering: .relaxed) {
            let pid = getpid()
            var line = " \(pid) \(l.label): <\(module)> \(message)\n"
            if colors, l <= .warning { line = "\u{1b}[31m" + line + "\u{1b}[0m" }
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBytes { p in
                var off = 0
                while off < p.count {
                    let n = write(2, p.baseAddress.map { $0 + off }, p.count - off)
                    if n <= 0 { break }
                    off += n
                }
            }
        } else {
            let text = "\(l.label): <\(module)> \(message)"
            text.withCString { c in
                let facility = moduleLevels.facility(for: module) ?? 0
                withVaList([c]) { vsyslog(l.syslogPriority | facility, "%s", $0) }
            }
        }
    }
}
