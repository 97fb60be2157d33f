import Foundation
import Shared

/// Where a stopped worker stands, or which action a step just executed, as the debugger
/// module prints it: `at bkp [<file>:<line>] a=<type> n=<name>` (`show`) and
/// `exec [<file>:<line>] a=<type> n=<name>` (`next`, `over`, `into`, `out`).
struct DebuggerPosition: Equatable, Sendable {
    /// Script file as loaded (absolute path on Kamailio).
    var file: String
    /// 1-based line the server reports (for `if`/`switch` Kamailio reports the line after
    /// the statement, spec §5; we show what it says).
    var line: Int
    /// Kamailio's action type code; opaque.
    var action: Int
    /// Action name (`if`, `assign`, `sl_send_reply`, …).
    var name: String

    /// Parses either reply form; nil for anything else (a plain "200 ok" is Kamailio's
    /// timeout answer, spec §6.3).
    static func parse(_ text: String) -> DebuggerPosition? {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard t.hasPrefix("at bkp [") || t.hasPrefix("exec [") else { return nil }
        guard let open = t.firstIndex(of: "["), let close = t.range(of: "] a=", options: .backwards) else { return nil }
        let location = t[t.index(after: open)..<close.lowerBound]
        // The file may itself contain colons; the line is after the last one.
        guard let colon = location.lastIndex(of: ":"), let line = Int(location[location.index(after: colon)...]) else { return nil }
        let rest = t[close.upperBound...]
        guard let space = rest.range(of: " n=") else { return nil }
        guard let action = Int(rest[..<space.lowerBound]) else { return nil }
        return DebuggerPosition(file: String(location[..<colon]), line: line, action: action,
                                name: String(rest[space.upperBound...]))
    }

    /// `file:line n=name`, short form for the console line.
    var summary: String { "\(DebuggerPosition.shortName(file)):\(line) \(name)" }

    /// The last path component, for narrow panes.
    static func shortName(_ file: String) -> String {
        file.split(separator: "/").last.map(String.init) ?? file
    }
}

/// One evaluated watch or prompt expression: `<label> : t=str v=<value>`, `t=int v=<n>`,
/// or `t=null` (spec §4). The value may contain spaces, colons and newlines (`$mb`), so the
/// reply is split at the first ` : t=` only.
struct DebuggerValue: Equatable, Sendable {
    /// Value type as the server names it.
    enum Kind: String, Equatable, Sendable {
        /// A string.
        case str
        /// An integer.
        case int
        /// No value.
        case null
    }

    /// The text the server echoes (Kamailio echoes the whole input even when it parsed one PV).
    var label: String
    /// Type.
    var kind: Kind
    /// The value; nil for `t=null`.
    var value: String?

    /// Parses an eval reply; nil when it is not one (e.g. Kamailio's "200 ok" timeout).
    static func parse(_ text: String) -> DebuggerValue? {
        guard let sep = text.range(of: " : t=") else { return nil }
        let label = String(text[..<sep.lowerBound])
        let rest = text[sep.upperBound...]
        if rest.hasPrefix("null") { return DebuggerValue(label: label, kind: .null, value: nil) }
        for kind in [Kind.str, .int] where rest.hasPrefix(kind.rawValue + " v=") {
            return DebuggerValue(label: label, kind: kind, value: String(rest.dropFirst(kind.rawValue.count + 3)))
        }
        // `t=str` with an empty value may come without the trailing space.
        for kind in [Kind.str, .int] where rest == kind.rawValue || rest == kind.rawValue + " v" {
            return DebuggerValue(label: label, kind: kind, value: "")
        }
        return nil
    }

    /// How a watch shows it: strings quoted only when empty, `null` spelled out, line
    /// breaks made visible so one value stays on one row.
    var display: String {
        guard let value else { return "<null>" }
        if kind == .str && value.isEmpty { return "\"\"" }
        return value.replacingOccurrences(of: "\r\n", with: "⏎").replacingOccurrences(of: "\n", with: "⏎")
    }
}

/// A script process as the debugger sees it: `core.psx` row plus `dbg.ls` state.
struct DebuggerWorker: Equatable, Sendable {
    /// Process index (`entry`/`IDX`).
    var index: Int
    /// pid (kamailiod: thread id of a worker).
    var pid: Int
    /// What it does (`udp receiver child=0 …`), from `core.psx`.
    var description: String
    /// Bit mask: 1 trace, 2 breakpoints, 4 line breakpoints, 8 cfgt.
    var set: Int
    /// 0 running, 1 stopped at a breakpoint, 2 stopped after a step.
    var state: Int
    /// kamailiod's extra fields for a stopped worker (nil on Kamailio).
    var file: String?
    /// Line of `file`.
    var line: Int?
    /// Route name.
    var route: String?

    /// Parked in the debugger (spec §2: state 1 **or** 2).
    var stopped: Bool { state == 1 || state == 2 }
    /// Breakpoint bit set.
    var armed: Bool { self.set & 2 != 0 }
    /// Trace bit set.
    var tracing: Bool { self.set & 1 != 0 }

    /// Parses `dbg.ls` (several structs over binrpc; one struct — or an array — over
    /// JSON-RPC) into workers, taking descriptions from `core.psx` rows.
    static func parse(ls values: [RPCValue], processes: [ProcessRow]) -> [DebuggerWorker] {
        ModelRecords.items(values).compactMap { m in
            guard let pid = ModelRecords.int(m, "pid") else { return nil }
            let index = ModelRecords.int(m, "entry") ?? 0
            let desc = processes.first(where: { $0.pid == pid && $0.index == index })?.description
                ?? processes.first(where: { $0.pid == pid })?.description ?? ""
            let file = ModelRecords.string(m, "file")
            return DebuggerWorker(index: index, pid: pid, description: desc, set: ModelRecords.int(m, "set") ?? 0,
                                  state: ModelRecords.int(m, "state") ?? 0, file: file.flatMap { $0.isEmpty ? nil : $0 },
                                  line: ModelRecords.int(m, "line"), route: ModelRecords.string(m, "route"))
        }
    }

    /// Merges per-pid `dbg.ls` answers, one entry per pid, in `core.psx` order.
    static func unique(_ workers: [DebuggerWorker]) -> [DebuggerWorker] {
        var seen: Set<Int> = []
        return workers.filter { seen.insert($0.pid).inserted }
    }
}

/// A line breakpoint (kamailiod's `dbg.bp_list` / `dbg.bp_add` extension).
struct DebuggerBreakpoint: Equatable, Sendable {
    /// Server-side id (for `dbg.bp_del`).
    var id: Int
    /// Script file.
    var file: String
    /// Line (the action's real line, which may follow the one asked for).
    var line: Int
    /// Route the action belongs to.
    var route: String
    /// Times a worker stopped there.
    var hits: Int

    /// Parses `dbg.bp_list` (array or several structs) or a `dbg.bp_add` reply (one struct).
    static func parse(_ values: [RPCValue]) -> [DebuggerBreakpoint] {
        ModelRecords.items(values).compactMap { m in
            guard let id = ModelRecords.int(m, "id"), let line = ModelRecords.int(m, "line") else { return nil }
            return DebuggerBreakpoint(id: id, file: ModelRecords.string(m, "file") ?? "", line: line,
                                      route: ModelRecords.string(m, "route") ?? "", hits: ModelRecords.int(m, "hits") ?? 0)
        }
    }
}

/// Which debugger the attached server has.
enum DebuggerFlavor: Equatable, Sendable {
    /// Not known yet (not attached, or `system.listMethods` not answered).
    case unknown
    /// No `dbg.*` methods: the debugger module is not loaded.
    case absent
    /// Kamailio 5.6.3's debugger module: no line breakpoints, no step over/out, no `msg`.
    case kamailio
    /// kamailiod: the contract's extensions (`dbg.bp_list` present).
    case kamailiod

    /// Decides from `system.listMethods`.
    static func detect(methods: [String]) -> DebuggerFlavor {
        if methods.contains("dbg.bp_list") { return .kamailiod }
        if methods.contains("dbg.ls") && methods.contains("dbg.bp") { return .kamailio }
        return methods.isEmpty ? .unknown : .absent
    }

    /// Line breakpoints, step over/out and `msg` exist.
    var extended: Bool { self == .kamailiod }
}
