import SIPCore
import ScriptEngine

/// The worker side of the debugger: called before every action of a route run on one
/// thread. It traces, decides whether to stop, and while stopped runs the control
/// side's commands in the message's context. One per worker thread (kept in its slot);
/// other threads get a trace-only hook per run.
final class DebuggerHook: ScriptDebugHook {
    /// One route level of the running message(s): module-started routes (branch, failure,
    /// onreply) run in their own context inside an action, so frames of several contexts
    /// stack up; a frame whose context is gone was left.
    private struct Frame {
        weak var context: ScriptContext?
        var depth: Int
        var route: String
        var location: ScriptSourceLocation
    }

    let engine: DebuggerEngine
    let slot: DebuggerSlot?
    let pid: Int
    private var frames: [Frame] = []
    private var breakpoints: [ObjectIdentifier: DebuggerBreakpoint] = [:]
    private var breakpointsVersion = -1
    private var seenStepResets = 0
    /// Where to stop next after a `next`/`over`/`out`.
    private var step: DebuggerStep = .none {
        didSet {
            if (oldValue == .none) != (step == .none) {
                engine.stepping.wrappingAdd(step == .none ? -1 : 1, ordering: .relaxed)
            }
        }
    }

    init(engine: DebuggerEngine, slot: DebuggerSlot?, pid: Int) {
        self.engine = engine
        self.slot = slot
        self.pid = pid
    }

    func willExecute(at location: ScriptSourceLocation, route: String, context ctx: ScriptContext) {
        let depth = enter(ctx, at: location)
        let bits = slot?.set.load(ordering: .relaxed) ?? engine.othersSet.load(ordering: .relaxed)
        if bits & 1 != 0 { trace(ctx, at: location) }
        guard let slot else { return }
        let resets = slot.stepResets.load(ordering: .relaxed)
        if resets != seenStepResets {
            seenStepResets = resets
            step = .none
        }
        var state = 0
        switch step {
        case .into, .afterLock: state = 2
        case .over(let d): if depth <= d { state = 2 }
        case .out(let d): if depth < d { state = 2 }
        case .none: if bits & 2 != 0 { state = 1 }
        }
        var hit: DebuggerBreakpoint?
        if state == 0 {
            refreshBreakpoints()
            if let key = ctx.currentActionKey, let bp = breakpoints[key] {
                hit = bp
                state = 1
            }
        }
        guard state != 0 else { return }
        guard ctx.heldLocks == 0 else {
            // Parking here would stall every worker that needs the same transaction or
            // htable lock; the stop moves to the first action after the lock is released.
            engine.log("breakpoint not taken: p=[\(pid)] c=[\(location.file)] l=\(location.line) runs under a shared lock")
            if step == .none { step = .afterLock }
            return
        }
        hit?.hits.wrappingAdd(1, ordering: .relaxed)
        park(ctx, at: location, depth: depth, state: state)
    }

    func runFinished(context ctx: ScriptContext) {
        // only the message's outermost run ends the step; nested module runs do not
        guard let slot, frames.first?.context === ctx || frames.isEmpty else { return }
        frames.removeAll()
        slot.runEnded()
    }

    // MARK: - Frames

    /// Updates the frame stack for an action at `ctx`'s current depth; returns the frame
    /// depth (0 for the top route of a message, counting nested contexts).
    private func enter(_ ctx: ScriptContext, at location: ScriptSourceLocation) -> Int {
        while let last = frames.last, last.context == nil { frames.removeLast() }
        if frames.isEmpty, step != .none, step != .into {
            // over/out and a stop deferred past a lock never carry into the next message
            step = .none
        }
        if frames.contains(where: { $0.context === ctx }) {
            while let last = frames.last, last.context !== ctx { frames.removeLast() }
            while let last = frames.last, last.context === ctx, last.depth >= ctx.routeDepth { frames.removeLast() }
        }
        frames.append(Frame(context: ctx, depth: ctx.routeDepth, route: routeLabel(ctx).name, location: location))
        return frames.count - 1
    }

    /// `request_route=[DEFAULT_ROUTE]`, `route=[AUTH]`, `failure_route=[MANAGE_FAILURE]` ...
    private func routeLabel(_ ctx: ScriptContext) -> (type: String, name: String) {
        let main = ctx.routeDepth == 0
        let name = main && ctx.currentRoute == ctx.routeType.rawValue ? "DEFAULT_ROUTE" : ctx.currentRoute
        let type: String
        switch ctx.routeType {
        case .request: type = main ? "request_route" : "route"
        default: type = ctx.routeType.rawValue
        }
        return (type, name)
    }

    private func trace(_ ctx: ScriptContext, at location: ScriptSourceLocation) {
        let (type, name) = routeLabel(ctx)
        let prefix = engine.settings.texts.withLock { $0.prefix }
        engine.log("\(prefix)\(type)=[\(name)] c=[\(location.file)] l=\(location.line) a=\(ctx.currentActionCode) n=\(ctx.currentActionName)")
    }

    private func refreshBreakpoints() {
        let v = engine.breakpoints.version.load(ordering: .acquiring)
        guard v != breakpointsVersion else { return }
        breakpoints = engine.breakpoints.snapshot
        breakpointsVersion = v
    }

    // MARK: - Parked

    private func park(_ ctx: ScriptContext, at location: ScriptSourceLocation, depth: Int, state: Int) {
        guard let slot else { return }
        let (_, name) = routeLabel(ctx)
        let position = DebuggerPosition(file: location.file, line: location.line, column: location.column,
                                        code: ctx.currentActionCode, name: ctx.currentActionName, route: name)
        let at = "[\(location.file):\(location.line)] a=\(position.code) n=\(position.name)"
        engine.log("breakpoint hit: p=[\(pid)] c=[\(location.file)] l=\(location.line) a=\(position.code) n=\(position.name)")
        let s = engine.settings
        let timeoutSeconds = s.bpTimeout.load(ordering: .relaxed)
        let timeout: UInt64? = timeoutSeconds > 0 ? UInt64(timeoutSeconds) * 1_000_000_000 : nil
        let poll = UInt64(max(1000, s.stepUsleep.load(ordering: .relaxed))) * 1000
        let released = slot.park(at: position, state: state, timeout: timeout, poll: poll) { command in
            switch command {
            case .show: return (.text("at bkp " + at), false)
            case .eval(let label, let e): return (.text(Self.describe(label, ctx.evaluateDetached(e))), false)
            case .log(let label, let e):
                engine.log("breakpoint eval: " + Self.describe(label, ctx.evaluateDetached(e)))
                return (nil, false)
            case .msg: return (.text(String(decoding: ctx.serializeMessage(), as: UTF8.self)), false)
            case .whereAmI: return (.fields(whereFields(position, depth: depth)), false)
            case .next:
                step = .into
                return (.afterStop("exec " + at), true)
            case .over:
                step = .over(depth: depth)
                return (.afterStop("exec " + at), true)
            case .out:
                step = depth == 0 ? .none : .out(depth: depth)
                return (.afterStop("exec " + at), true)
            case .move:
                slot.set.bitwiseAnd(~2, ordering: .relaxed)
                step = .none
                return (.text("200 ok"), true)
            case .resume:
                step = .none
                return (.text("200 ok"), true)
            }
        }
        seenStepResets = slot.stepResets.load(ordering: .relaxed)
        if released == nil {
            slot.set.bitwiseAnd(~2, ordering: .relaxed)
            step = .none
            engine.refreshArmed()
            engine.log("breakpoint released: p=[\(pid)] no command for \(timeoutSeconds) s (bp_timeout)")
        }
    }

    /// The reply of `where`.
    private func whereFields(_ p: DebuggerPosition, depth: Int) -> [(String, DebuggerField)] {
        let stack = frames.reversed().map { "\($0.route)@\($0.location.file):\($0.location.line)" }
        return [("file", .string(p.file)), ("line", .int(p.line)), ("column", .int(p.column)),
                ("route", .string(p.route)), ("action", .string(p.name)), ("depth", .int(depth)),
                ("stack", .strings(stack))]
    }

    /// `$rU : t=str v=bob`, `$sp : t=int v=5060`, `$avp(x) : t=null` (Kamailio's shape).
    static func describe(_ label: String, _ value: ScriptValue?) -> String {
        switch value {
        case .int(let i): return "\(label) : t=int v=\(i)"
        case .str(let b): return "\(label) : t=str v=\(String(decoding: b, as: UTF8.self))"
        case .null, nil: return "\(label) : t=null"
        }
    }
}
