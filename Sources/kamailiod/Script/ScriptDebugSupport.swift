/// What a step debugger needs from the engine beyond the per-action hook: a description
/// of every action (for line breakpoints), the action being run, and expressions compiled
/// after load (`dbg.bp eval`). Nothing here is on the hot path: the interpreter only
/// stores the current action, which it does anyway for `$cfg(line)`.
public struct ScriptActionInfo: Sendable {
    /// Identity of the compiled action: what `ScriptContext.currentActionKey` returns while
    /// it runs, so a breakpoint check is one dictionary lookup.
    public let key: ObjectIdentifier
    /// Where it was written.
    public let location: ScriptSourceLocation
    /// The action's name as the debugger shows it (`n=`): the function name, or `if`,
    /// `assign`, `route`, `exit` ...
    public let name: String
    /// A type code in the spirit of Kamailio's (`a=`): opaque to clients.
    public let code: Int
    /// The route block it is written in.
    public let routeType: ScriptRouteType
    /// That block's name (empty for a main block).
    public let routeName: String
    /// True for the first action of its route block.
    public let firstInRoute: Bool
    /// The first argument when it is a constant integer (`dbg_breakpoint(1)`).
    public let constantIntArgument: Int32?
}

extension ScriptAction {
    /// `n=` of the debugger's replies.
    var debugName: String {
        switch kind {
        case .call(let site): site.function.name
        case .route: "route"
        case .assign: "assign"
        case .ifElse: "if"
        case .switchCase: "switch"
        case .whileLoop: "while"
        case .returnValue: "return"
        case .exit: "exit"
        case .drop: "drop"
        case .breakLoop: "break"
        case .block: "block"
        }
    }

    /// `a=` of the debugger's replies: Kamailio's codes where we know them (2 exit, 16 if,
    /// 24+n a module function with n arguments, 63 assignment), stable made-up ones else.
    var debugCode: Int {
        switch kind {
        case .call(let site): 24 + min(site.args.count, 7)
        case .route: 6
        case .assign: 63
        case .ifElse: 16
        case .switchCase: 37
        case .whileLoop: 40
        case .returnValue: 45
        case .exit: 2
        case .drop: 3
        case .breakLoop: 38
        case .block: 17
        }
    }
}

extension ScriptContext {
    /// The action about to run or running (see `ScriptActionInfo.key`).
    public var currentActionKey: ObjectIdentifier? { currentAction.map { ObjectIdentifier($0) } }
    /// `n=` of the current action.
    public var currentActionName: String { currentAction?.debugName ?? "" }
    /// `a=` of the current action.
    public var currentActionCode: Int { currentAction?.debugCode ?? 0 }

    /// Evaluates `e` with the debug hook detached, so an expression calling `route()`
    /// cannot re-enter a debugger that is parked in this very context. Nil when the
    /// evaluation fails (division by zero).
    public func evaluateDetached(_ e: ScriptCompiledExpression) -> ScriptValue? {
        let hook = debugHook
        let saved = (currentRoute, routeDepth, stopped, lastValue, returnCode)
        let (savedAction, savedOwner) = (currentAction, actionsOwner)
        debugHook = nil
        defer {
            debugHook = hook
            (currentRoute, routeDepth, stopped, lastValue, returnCode) = saved
            setCurrentAction(savedAction, of: savedOwner)
        }
        return try? ScriptEvaluator.value(e.node, self)
    }
}

extension LoadedScript {
    /// Every action of every route, in file order per route.
    public var actionInfos: [ScriptActionInfo] {
        var out: [ScriptActionInfo] = []
        for route in routes {
            var first = true
            func walk(_ actions: [ScriptAction]) {
                for a in actions {
                    var arg: Int32?
                    if case .call(let site) = a.kind, site.args.count > 0, case .int(let v) = site.args[0] { arg = v }
                    out.append(ScriptActionInfo(key: ObjectIdentifier(a), location: a.location, name: a.debugName,
                                                code: a.debugCode, routeType: route.type, routeName: route.name,
                                                firstInRoute: first, constantIntArgument: arg))
                    first = false
                    switch a.kind {
                    case .ifElse(let i): walk(i.then); walk(i.otherwise)
                    case .switchCase(_, let cases): cases.forEach { walk($0.body) }
                    case .whileLoop(_, let body), .block(let body): walk(body)
                    default: break
                    }
                }
            }
            walk(route.actions)
        }
        return out
    }

    /// Compiles one expression written in the script language (`$rU + "x"`,
    /// `$var(a) == 1`, `is_method("INVITE")`) against this script's functions, routes and
    /// pseudo-variables. `$var` names the script does not use read as 0.
    public func compileExpression(_ text: String) throws(ScriptError) -> ScriptCompiledExpression {
        var pp = ScriptPreprocessor(defines: [])
        let source = try pp.run(bytes: Array(text.utf8), name: "<expression>")
        var parser = ScriptParser(tokens: try ScriptLexer.tokenize(source))
        let tree = try parser.parseExpression()
        if case .eof = parser.peek.kind {} else {
            throw ScriptError("unexpected \(parser.peek.kind.display) after the expression", at: parser.peek.location)
        }
        let symbols = ScriptSymbols(core: core)
        for name in varNames { _ = symbols.varID(name) }
        for r in routeRefs { _ = symbols.addRoute(r.type, r.name) }
        symbols.functions = functionTable
        symbols.modulePVs = modulePVs
        var compiler = ScriptCompiler(symbols: symbols)
        return ScriptCompiledExpression(node: try compiler.expression(tree), location: tree.location)
    }

    /// The length of the pseudo-variable at the start of `text` (`$si` in `$si:$sp`), or
    /// 0 when it does not start with one: Kamailio's `eval` reads just that much.
    public static func leadingPseudoVariableLength(_ text: String) -> Int {
        let b = Array(text.utf8)
        guard b.count >= 2, b[0] == UInt8(ascii: "$") else { return 0 }
        return ScriptPreprocessor.skipPseudoVariable(b, from: 0)
    }
}
