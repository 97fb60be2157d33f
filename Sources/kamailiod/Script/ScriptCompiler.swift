import SIPTransport
/// Turns the syntax tree into compiled routes: every name is resolved once, here.
/// Undefined routes, unknown functions, wrong arities, unknown pseudo-variables,
/// bad regexes, mixed-type constants and functions used in the wrong route family
/// are load-time errors with their location.
struct ScriptCompiler {
    /// Names known to this load.
    let symbols: ScriptSymbols
    /// Function uses per route: (function, where).
    private var uses: [[(ScriptFunction, ScriptSourceLocation)]] = []
    private var current = 0

    /// A compiler over `symbols`.
    init(symbols: ScriptSymbols) {
        self.symbols = symbols
    }

    /// Compiles all routes of `tree` (the route table is filled first, so routes may
    /// be called before they are defined).
    mutating func compile(_ tree: ScriptSyntaxTree) throws(ScriptError) -> [ScriptCompiledRoute] {
        for r in tree.routes {
            guard symbols.addRoute(r.type, r.name) != nil else {
                let shown = r.name.isEmpty ? r.type.rawValue : "\(r.type.rawValue)[\(r.name)]"
                throw ScriptError("\(shown) is defined twice", at: r.location)
            }
        }
        uses = Array(repeating: [], count: tree.routes.count)
        var out: [ScriptCompiledRoute] = []
        for (i, r) in tree.routes.enumerated() {
            current = i
            out.append(ScriptCompiledRoute(type: r.type, name: r.name, actions: try block(r.body), location: r.location))
        }
        try checkRouteFamilies(tree.routes)
        return out
    }

    /// Kamailio 5.6 checks a function against the block it is written in, and a
    /// `route[NAME]` block counts as a request route wherever it is called from
    /// (observed: `sl_reply_error()` in a route called from a failure route loads). We
    /// check the same way, so scripts that load there load here.
    private func checkRouteFamilies(_ routes: [ScriptRouteDecl]) throws(ScriptError) {
        for (i, list) in uses.enumerated() {
            let mask = ScriptRouteMask(routes[i].type)
            for (fn, loc) in list {
                let bad = mask.subtracting(fn.allowedRoutes)
                if !bad.isEmpty {
                    throw ScriptError("function '\(fn.name)' cannot be used in \(bad.names) routes", at: loc)
                }
            }
        }
    }

    // MARK: - Statements

    private mutating func block(_ stmts: [ScriptStatement]) throws(ScriptError) -> [ScriptAction] {
        var out: [ScriptAction] = []
        out.reserveCapacity(stmts.count)
        for s in stmts { out.append(try statement(s)) }
        return out
    }

    private mutating func statement(_ s: ScriptStatement) throws(ScriptError) -> ScriptAction {
        let kind: ScriptActionKind
        switch s.kind {
        case .call(let c):
            if c.name == "route" {
                kind = .route(try routeCall(c))
            } else {
                kind = .call(try callSite(c))
            }
        case .assign(let spec, let e, let colon):
            let pv = try symbols.compilePV(spec, at: s.location)
            guard pv.isWritable else { throw ScriptError("'\(spec)' cannot be assigned", at: s.location) }
            kind = .assign(pv, try expression(e), isColon: colon)
        case .ifElse(let c, let t, let e):
            kind = .ifElse(ScriptCompiledIf(condition: try expression(c), then: try block(t), otherwise: try block(e ?? [])))
        case .switchCase(let subject, let cases):
            var compiled: [ScriptCompiledCase] = []
            var seenDefault = false
            for c in cases {
                if c.label == .defaultLabel {
                    if seenDefault { throw ScriptError("switch has two 'default' labels", at: c.location) }
                    seenDefault = true
                }
                compiled.append(ScriptCompiledCase(label: c.label, body: try block(c.body)))
            }
            kind = .switchCase(try expression(subject), compiled)
        case .whileLoop(let c, let body):
            kind = .whileLoop(try expression(c), try block(body))
        case .returnValue(let e):
            if let e { kind = .returnValue(try expression(e)) } else { kind = .returnValue(nil) }
        case .exit: kind = .exit
        case .drop: kind = .drop
        case .breakLoop: kind = .breakLoop
        case .block(let b): kind = .block(try block(b))
        }
        return ScriptAction(kind: kind, location: s.location)
    }

    /// `route(NAME)`: NAME is a word, a string or a number naming a `route[NAME]`.
    private mutating func routeCall(_ c: ScriptCallSyntax) throws(ScriptError) -> Int {
        guard c.arguments.count == 1 else {
            throw ScriptError("route() takes one route name, found \(c.arguments.count) arguments", at: c.location)
        }
        let name: String
        switch c.arguments[0].kind {
        case .word(let w): name = w
        case .string(let s): name = s
        case .integer(let v): name = String(v)
        default: throw ScriptError("expected a route name in route()", at: c.arguments[0].location)
        }
        guard let ref = symbols.routeRef(.request, name) else {
            throw ScriptError("route '\(name)' is not defined", at: c.arguments[0].location)
        }
        return ref.index
    }

    /// Resolves a module function by name and arity and runs its fixup.
    mutating func callSite(_ c: ScriptCallSyntax) throws(ScriptError) -> ScriptCallSite {
        guard let candidates = symbols.functions[c.name] else {
            if let module = symbols.unloadedFunctions[c.name] {
                throw ScriptError("unknown function '\(c.name)' (module '\(module)' is not loaded)", at: c.location)
            }
            throw ScriptError("unknown function '\(c.name)'", at: c.location)
        }
        let n = c.arguments.count
        guard let fn = candidates.first(where: { $0.minArgs <= n && n <= $0.maxArgs }) else {
            let arities = candidates.map { $0.minArgs == $0.maxArgs ? "\($0.minArgs)" : "\($0.minArgs) to \($0.maxArgs)" }
            throw ScriptError("function '\(c.name)' takes \(arities.joined(separator: " or ")) arguments, found \(n)",
                              at: c.location)
        }
        var args: [ScriptArgument] = []
        for a in c.arguments {
            if case .word(let w) = a.kind {
                args.append(.string(w))
                continue
            }
            switch try expression(a) {
            case .constant(.int(let v)): args.append(.int(v))
            case .constant(let v): args.append(.string(v.stringValue))
            case let node: args.append(.expression(ScriptCompiledExpression(node: node, location: a.location)))
            }
        }
        let fx = ScriptFixupContext(functionName: c.name, arguments: args, location: c.location,
                                    argumentLocations: c.arguments.map(\.location), symbols: symbols)
        let fixed: ScriptFixedArgs
        if let fixup = fn.fixup { fixed = try fixup(fx) } else { fixed = try fx.defaultArgs() }
        uses[current].append((fn, c.location))
        return ScriptCallSite(function: fn, args: fixed)
    }

    // MARK: - Expressions

    /// Core words usable as values, and the pseudo-variable each one reads.
    private static let coreWords: [String: String] = [
        "uri": "ru", "method": "rm", "status": "rs", "src_ip": "si", "src_port": "sp",
        "dst_ip": "Ri", "dst_port": "Rp", "from_uri": "fu", "to_uri": "tu", "msg:len": "ml",
        "proto": "pr",
    ]

    private static let myselfSubjects: [String: ScriptMyselfSubject] = [
        "uri": .requestURI, "from_uri": .fromURI, "to_uri": .toURI, "src_ip": .sourceIP, "dst_ip": .destinationIP,
    ]

    mutating func expression(_ e: ScriptExpression) throws(ScriptError) -> ScriptExprNode {
        switch e.kind {
        case .integer(let v):
            return .constant(.int(Int32(truncatingIfNeeded: v)))
        case .string(let s):
            return .constant(.string(s))
        case .pseudoVariable(let spec):
            if spec.name == "null", spec.transforms.isEmpty { return .constant(.null) }
            return .pv(try symbols.compilePV(spec, at: e.location))
        case .defined(let spec):
            return .defined(try symbols.compilePV(spec, at: e.location))
        case .word(let w):
            if w == "myself" { throw ScriptError("'myself' can only be compared with '==' or '!='", at: e.location) }
            if let pv = Self.coreWords[w] {
                return .pv(try symbols.compilePV(ScriptPVSpec(name: pv), at: e.location))
            }
            if w == "route" { throw ScriptError("expected '(' after 'route'", at: e.location) }
            // `proto==TLS`: Kamailio's transport keywords (`udp`/`UDP` ...) as the value `$proto` reads.
            if let p = TransportProto(name: w), w == p.name || w == p.viaToken { return .constant(.string(p.name)) }
            return .call(try callSite(ScriptCallSyntax(name: w, arguments: [], location: e.location)), e.location)
        case .call(let c):
            if c.name == "route" { return .route(try routeCall(c), e.location) }
            return .call(try callSite(c), e.location)
        case .unary(let op, let operand):
            return try unary(op, operand, at: e.location)
        case .binary(let op, let lhs, let rhs):
            return try binary(op, lhs, rhs, at: e.location)
        }
    }

    private mutating func unary(_ op: ScriptUnaryOp, _ operand: ScriptExpression,
                                at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptExprNode {
        let x = try expression(operand)
        if op == .intCast || op == .strCast {
            if case .constant(let v) = x { return .constant(op == .intCast ? .int(v.intValue) : .str(v.bytes)) }
            return op == .intCast ? .toInt(x) : .toStr(x)
        }
        if case .constant(let v) = x {
            guard case .int(let i) = v else {
                throw ScriptError("invalid constant expression: '\(op.rawValue)' needs an integer", at: loc)
            }
            switch op {
            case .not: return .constant(.int(i == 0 ? 1 : 0))
            case .negate: return .constant(.int(0 &- i))
            case .bitNot: return .constant(.int(~i))
            case .intCast, .strCast: return x
            }
        }
        switch op {
        case .not: return .not(x)
        case .negate: return .negate(x)
        case .bitNot: return .bitNot(x)
        case .intCast, .strCast: return x
        }
    }

    private mutating func binary(_ op: ScriptBinaryOp, _ lhs: ScriptExpression, _ rhs: ScriptExpression,
                                 at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptExprNode {
        if op == .equal || op == .notEqual, let node = try myself(lhs, rhs, negated: op == .notEqual) {
            return node
        }
        let a = try expression(lhs)
        let b = try expression(rhs)
        if case .constant(let x) = a, case .constant(let y) = b {
            return .constant(try ScriptEvaluator.foldConstants(op, x, y, at: loc))
        }
        switch op {
        case .and:
            // Kamailio's optimizer turns `x && 1` and `1 && x` into `x`, so the value
            // is x itself (`-4 && 1` is -4), observed on 5.6 — as an integer: a string
            // "abc" gives 0
            if case .constant(.int(1)) = b { return .toInt(a) }
            if case .constant(.int(1)) = a { return .toInt(b) }
            return .and(a, b)
        case .or:
            if case .constant(.int(0)) = b { return .toInt(a) }
            if case .constant(.int(0)) = a { return .toInt(b) }
            return .or(a, b)
        case .plus: return .plus(a, b)
        case .minus, .times, .divide, .modulo, .bitOr, .bitAnd, .bitXor, .shiftLeft, .shiftRight:
            return .arithmetic(op, a, b)
        case .equal, .notEqual: return .equal(a, b, negated: op == .notEqual)
        case .strEqual, .strNotEqual: return .stringEqual(a, b, negated: op == .strNotEqual)
        case .intEqual, .intNotEqual: return .intEqual(a, b, negated: op == .intNotEqual)
        case .less, .greater, .lessEqual, .greaterEqual: return .relational(op, a, b)
        case .match:
            if case .constant(let p) = b {
                if case .int = a.constantValue { throw ScriptError("invalid constant expression: '=~' needs a string", at: loc) }
                do {
                    return .match(a, try ScriptRegex(p.stringValue))
                } catch {
                    throw ScriptError(error.message, at: rhs.location)
                }
            }
            return .matchDynamic(a, b)
        }
    }

    /// `uri == myself`, `myself == src_ip`, ... or nil when `myself` is not involved.
    private func myself(_ lhs: ScriptExpression, _ rhs: ScriptExpression,
                        negated: Bool) throws(ScriptError) -> ScriptExprNode? {
        let pair: (ScriptExpression, ScriptExpression)
        if case .word("myself") = rhs.kind { pair = (lhs, rhs) } else if case .word("myself") = lhs.kind {
            pair = (rhs, lhs)
        } else {
            return nil
        }
        guard case .word(let w) = pair.0.kind, let subject = Self.myselfSubjects[w] else {
            throw ScriptError("'myself' can be compared with uri, from_uri, to_uri, src_ip or dst_ip", at: pair.1.location)
        }
        return .myself(subject, negated: negated)
    }
}

extension ScriptExprNode {
    /// The value when the node is a constant.
    var constantValue: ScriptValue? {
        if case .constant(let v) = self { return v }
        return nil
    }
}
