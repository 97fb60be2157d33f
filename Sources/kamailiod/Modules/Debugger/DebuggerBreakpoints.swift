import ScriptEngine
import Synchronization

/// One line breakpoint: an action that stops any worker reaching it.
final class DebuggerBreakpoint: Sendable {
    let id: Int
    let action: ScriptActionInfo
    /// How often a worker stopped here.
    let hits = Atomic<Int>(0)

    init(id: Int, action: ScriptActionInfo) {
        self.id = id
        self.action = action
    }

    /// The route the action is written in, as replies name it.
    var route: String { DebuggerBreakpoints.routeLabel(action.routeType, action.routeName) }
}

/// The line breakpoints (`dbg.bp_add`, `dbg_breakpoint(1)`), keyed by action identity.
///
/// Workers keep their own copy of the table and refresh it when `version` moves, so
/// checking an action costs a dictionary lookup without a lock.
final class DebuggerBreakpoints: Sendable {
    private struct Table {
        var byAction: [ObjectIdentifier: DebuggerBreakpoint] = [:]
        var nextID = 1
    }

    private let table = Mutex(Table())
    /// Bumped on every change.
    let version = Atomic<Int>(0)

    /// The table as it is now.
    var snapshot: [ObjectIdentifier: DebuggerBreakpoint] { table.withLock { $0.byAction } }

    /// All breakpoints by id.
    var list: [DebuggerBreakpoint] { snapshot.values.sorted { $0.id < $1.id } }

    /// True when there is at least one.
    var isEmpty: Bool { table.withLock { $0.byAction.isEmpty } }

    /// Adds a breakpoint at `action` (or returns the one already there).
    func add(_ action: ScriptActionInfo) -> DebuggerBreakpoint {
        let bp = table.withLock { t in
            if let existing = t.byAction[action.key] { return existing }
            let bp = DebuggerBreakpoint(id: t.nextID, action: action)
            t.nextID += 1
            t.byAction[action.key] = bp
            return bp
        }
        version.wrappingAdd(1, ordering: .releasing)
        return bp
    }

    /// Removes the breakpoint with this id, or at this action; false when none.
    func remove(id: Int? = nil, action: ObjectIdentifier? = nil) -> Bool {
        let removed = table.withLock { t in
            guard let key = action ?? t.byAction.first(where: { $0.value.id == id })?.key else { return false }
            return t.byAction.removeValue(forKey: key) != nil
        }
        if removed { version.wrappingAdd(1, ordering: .releasing) }
        return removed
    }

    /// After a script reload: each breakpoint moves to the new script's action written at the
    /// same file:line with the same name (ids kept, hit counts restart), the new script's
    /// `dbg_breakpoint(1)` actions become breakpoints, and the rest are dropped and returned.
    /// Matching by place and name, not by guessing where an edited line went, keeps a
    /// breakpoint from silently landing on another statement.
    func remap(to actions: [ScriptActionInfo]) -> [DebuggerBreakpoint] {
        var byPlace: [String: ScriptActionInfo] = [:]
        for a in actions {
            let k = Self.placeKey(a)
            if byPlace[k] == nil { byPlace[k] = a }
        }
        let dropped = table.withLock { t in
            var next: [ObjectIdentifier: DebuggerBreakpoint] = [:]
            var dropped: [DebuggerBreakpoint] = []
            for bp in t.byAction.values.sorted(by: { $0.id < $1.id }) {
                if let a = byPlace[Self.placeKey(bp.action)] {
                    next[a.key] = DebuggerBreakpoint(id: bp.id, action: a)
                } else if bp.action.name != "dbg_breakpoint" {
                    dropped.append(bp)  // a dbg_breakpoint(1) taken out of the script just goes
                }
            }
            for a in actions where a.name == "dbg_breakpoint" && a.constantIntArgument == 1 && next[a.key] == nil {
                next[a.key] = DebuggerBreakpoint(id: t.nextID, action: a)
                t.nextID += 1
            }
            t.byAction = next
            return dropped
        }
        version.wrappingAdd(1, ordering: .releasing)
        return dropped
    }

    private static func placeKey(_ a: ScriptActionInfo) -> String {
        "\(a.location.file)\u{0}\(a.location.line)\u{0}\(a.name)"
    }

    /// How replies name a route: its name, or the block keyword for a main block.
    static func routeLabel(_ type: ScriptRouteType, _ name: String) -> String {
        guard name.isEmpty else { return name }
        switch type {
        case .request: return "request_route"
        case .onreply: return "reply_route"
        default: return type.rawValue
        }
    }

    /// Resolves `file:line`, `line` (main file) or `route:NAME` to an action of `script`.
    /// A line with no action maps to the next action line when that is in the same route
    /// as the line before it. The error text is the fault message.
    static func resolve(_ location: String, in script: LoadedScript,
                        actions: [ScriptActionInfo]) -> Result<ScriptActionInfo, DebuggerLocationError> {
        if location.hasPrefix("route:") {
            let name = String(location.dropFirst(6))
            guard let a = actions.first(where: {
                $0.firstInRoute && ($0.routeName == name || routeLabel($0.routeType, $0.routeName) == name)
            }) else { return .failure(DebuggerLocationError("no route \(name)")) }
            return .success(a)
        }
        var file = script.sourceFiles.first ?? ""
        var lineText = Substring(location)
        if let colon = location.lastIndex(of: ":") {
            lineText = location[location.index(after: colon)...]
            let given = String(location[..<colon])
            guard let known = sourceFile(given, in: script) else {
                return .failure(DebuggerLocationError("unknown file \(given)"))
            }
            file = known
        }
        guard let line = Int(lineText), line > 0 else {
            return .failure(DebuggerLocationError("bad location \(location) (file:line, line or route:NAME)"))
        }
        let inFile = actions.filter { $0.location.file == file }
        if let exact = inFile.first(where: { $0.location.line == line }) { return .success(exact) }
        let after = inFile.filter { $0.location.line > line }.min { $0.location.line < $1.location.line }
        let before = inFile.filter { $0.location.line < line }.max { $0.location.line < $1.location.line }
        if let after, let before, after.routeType == before.routeType, after.routeName == before.routeName {
            return .success(after)
        }
        return .failure(DebuggerLocationError("no action at \(file):\(line)"))
    }

    /// A script file named as loaded, or by a unique path suffix (`kamailio.cfg`).
    static func sourceFile(_ name: String, in script: LoadedScript) -> String? {
        if script.sourceFiles.contains(name) { return name }
        let matches = script.sourceFiles.filter { $0.hasSuffix("/" + name) }
        return matches.count == 1 ? matches[0] : nil
    }
}

/// Why a breakpoint location did not resolve (the fault text).
struct DebuggerLocationError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
