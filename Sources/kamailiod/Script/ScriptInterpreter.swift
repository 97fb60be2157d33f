/// Runs compiled routes. Every action passes one cheap hook point (`debugHook`) and
/// records its location, so a step debugger and `$cfg(line)` see the line being run.
enum ScriptInterpreter {
    /// How a list of actions ended.
    enum Flow: Equatable {
        case next
        case breakLoop
        case returned(Int32)
        case exit
    }

    /// Nesting limit of `route()` calls (Kamailio's `max_recursive_level` default).
    static let maxRouteDepth = 256

    /// Runs route `index` of `script` as a top-level route for `ctx`.
    static func run(_ index: Int, in script: LoadedScript, _ ctx: ScriptContext) -> ScriptRunResult {
        let route = script.routes[index]
        ctx.script = script
        ctx.runningScript(script)
        ctx.routeType = route.type
        ctx.currentRoute = route.name.isEmpty ? route.type.rawValue : route.name
        ctx.stopped = false
        ctx.lastValue = 1
        let flow = execute(route.actions, ctx)
        let code: Int32
        switch flow {
        case .returned(let v): code = v
        case .exit: code = 0
        case .next, .breakLoop: code = ctx.lastValue
        }
        let exited = ctx.stopped
        ctx.stopped = false
        return ScriptRunResult(code: code, exited: exited, dropped: ctx.dropped)
    }

    /// Runs a module function; 0 ends the script, as in Kamailio.
    static func call(_ site: ScriptCallSite, at loc: ScriptSourceLocation, _ ctx: ScriptContext) -> Int32 {
        let rc = site.function.run(ctx, site.args)
        if site.function.updatesReturnCode { ctx.returnCode = rc }
        ctx.lastValue = rc
        if rc == 0 { ctx.stopped = true }
        return rc
    }

    /// `route(NAME)`: runs a sub-route and gives its return value (the last action's
    /// value when it ends without `return`); `$rc` follows it.
    static func callRoute(_ index: Int, _ ctx: ScriptContext) -> Int32 {
        guard let script = ctx.script, index < script.routes.count else { return -1 }
        guard ctx.routeDepth < maxRouteDepth else {
            ctx.log(level: -1, "route nesting deeper than \(maxRouteDepth) at \(ctx.currentLocation?.description ?? "?")")
            return -1
        }
        let route = script.routes[index]
        let savedName = ctx.currentRoute
        ctx.routeDepth += 1
        ctx.currentRoute = route.name
        let flow = execute(route.actions, ctx)
        ctx.routeDepth -= 1
        ctx.currentRoute = savedName
        let v: Int32
        switch flow {
        case .returned(let r): v = r
        case .exit: v = 0
        case .next, .breakLoop: v = ctx.lastValue
        }
        ctx.returnCode = v
        ctx.lastValue = v
        return v
    }

    /// Runs a list of actions until it ends, breaks, returns or the script stops.
    static func execute(_ actions: [ScriptAction], _ ctx: ScriptContext) -> Flow {
        for i in actions.indices {
            // `actions` (held by the caller) keeps the action alive through the step, so
            // it is used without a retain of our own; `currentAction` is stored the same way.
            let flow = Unmanaged.passUnretained(actions[i])._withUnsafeGuaranteedRef { action in
                ctx.currentAction = action
                if let hook = ctx.debugHook {
                    hook.willExecute(at: action.location, route: ctx.currentRoute, context: ctx)
                }
                return step(action, ctx)
            }
            if flow != .next { return flow }
            if ctx.stopped { return .exit }
        }
        return .next
    }

    private static func step(_ action: ScriptAction, _ ctx: ScriptContext) -> Flow {
        switch action.kind {
        // The payload objects of calls and ifs are held by `action.kind` for the whole
        // step, so they are used without a retain of our own.
        case .call:
            if let site = action.unretainedCallSite {
                _ = site._withUnsafeGuaranteedRef { call($0, at: action.location, ctx) }
            }
        case .route(let index):
            _ = callRoute(index, ctx)
        case .assign(let pv, let e, let isColon):
            // a failed evaluation (division by zero) skips the assignment; the script goes on
            if let v = try? ScriptEvaluator.value(e, ctx) {
                pv.accessor.set?(ctx, v, isColon)
            }
            ctx.lastValue = 1
        case .ifElse:
            return action.unretainedIf?._withUnsafeGuaranteedRef { b in
                let taken = ScriptEvaluator.condition(b.condition, ctx)
                if ctx.stopped { return .exit }
                return taken ? execute(b.then, ctx) : execute(b.otherwise, ctx)
            } ?? .next
        case .switchCase(let subject, let cases):
            return runSwitch(subject, cases, ctx)
        case .whileLoop(let cond, let body):
            return runWhile(cond, body, at: action.location, ctx)
        case .returnValue(let e):
            let v: Int32 = e.map { (try? ScriptEvaluator.value($0, ctx))?.intValue ?? -1 } ?? 1
            if v == 0 || ctx.stopped {
                // `return 0` ends the whole script, even from a route called inside if()
                ctx.stopped = true
                return .exit
            }
            return .returned(v)
        case .exit:
            ctx.stopped = true
            return .exit
        case .drop:
            ctx.dropped = true
            ctx.stopped = true
            return .exit
        case .breakLoop:
            return .breakLoop
        case .block(let body):
            return execute(body, ctx)
        }
        return .next
    }

    /// `switch`: starts at the first matching case (or `default`, wherever it is) and
    /// falls through the following cases until `break`.
    private static func runSwitch(_ subject: ScriptExprNode, _ cases: [ScriptCompiledCase],
                                  _ ctx: ScriptContext) -> Flow {
        guard let v = try? ScriptEvaluator.value(subject, ctx) else { return .next }
        if ctx.stopped { return .exit }
        var start: Int?
        var fallback: Int?
        for (i, c) in cases.enumerated() {
            switch c.label {
            case .integer(let n):
                if v.intValue == Int32(truncatingIfNeeded: n), !v.isNull { start = i }
            case .string(let s):
                if case .str(let b) = v, b.elementsEqual(s.utf8) { start = i }
            case .defaultLabel:
                fallback = i
            }
            if start != nil { break }
        }
        guard let first = start ?? fallback else { return .next }
        for c in cases[first...] {
            let flow = execute(c.body, ctx)
            if flow == .breakLoop { return .next }
            if flow != .next { return flow }
        }
        return .next
    }

    /// `while`: stops after `max_while_loops` iterations, as Kamailio does.
    private static func runWhile(_ cond: ScriptExprNode, _ body: [ScriptAction], at loc: ScriptSourceLocation,
                                 _ ctx: ScriptContext) -> Flow {
        let limit = ctx.cfg?.maxWhileLoops ?? ctx.script?.maxWhileLoops ?? 100
        var n = 0
        while ScriptEvaluator.condition(cond, ctx) {
            if ctx.stopped { return .exit }
            if n >= limit {
                ctx.log(level: -1, "while loop at \(loc) stopped after \(limit) iterations (max_while_loops)")
                break
            }
            n += 1
            let flow = execute(body, ctx)
            if flow == .breakLoop { break }
            if flow != .next { return flow }
        }
        return ctx.stopped ? .exit : .next
    }
}

/// How a top-level route run ended.
public struct ScriptRunResult: Sendable, Equatable {
    /// The route's value: its `return` value, the last action's value, or 0 after `exit`.
    public var code: Int32
    /// True when the script stopped by `exit`, `drop`, `return 0` or a function returning 0.
    public var exited: Bool
    /// True after `drop`: do not forward or relay the message.
    public var dropped: Bool
}
