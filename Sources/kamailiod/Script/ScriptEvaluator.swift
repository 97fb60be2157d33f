/// Evaluation of compiled expressions with Kamailio's rules (script-semantics.md):
/// `+` takes its type from the left operand, `< > <= >=` compare integers, `==` follows
/// the left operand, a function call or `route()` used as a value gives its return code
/// (`$var(x) = is_method("X")` stores -1), and `!`/`&&`/`||` see calls as true when
/// their code is > 0 and other values as true when non-zero.
enum ScriptEvaluator {
    /// The value of `node` for the current message; throws when an operation fails
    /// (division by zero), in which case the statement using it is skipped.
    static func value(_ node: ScriptExprNode, _ ctx: ScriptContext) throws(ScriptEvalError) -> ScriptValue {
        switch node {
        case .constant(let v):
            return v
        case .pv(let pv):
            return pv.get(ctx)
        case .call(let site, let loc):
            return .int(ScriptInterpreter.call(site, at: loc, ctx))
        case .route(let index, _):
            return .int(ScriptInterpreter.callRoute(index, ctx))
        case .not(let x):
            return .int(try truth(x, ctx) ? 0 : 1)
        case .negate(let x):
            return .int(0 &- (try value(x, ctx).intValue))
        case .bitNot(let x):
            return .int(~(try value(x, ctx).intValue))
        case .toInt(let x):
            return .int(try value(x, ctx).intValue)
        case .toStr(let x):
            return .str(try value(x, ctx).bytes)
        case .and(let a, let b):
            guard try truth(a, ctx) else { return .int(0) }
            return .int(try truth(b, ctx) ? 1 : 0)
        case .or(let a, let b):
            if try truth(a, ctx) { return .int(1) }
            return .int(try truth(b, ctx) ? 1 : 0)
        case .plus(let a, let b):
            return ScriptOperators.plus(try value(a, ctx), try value(b, ctx))
        case .arithmetic(let op, let a, let b):
            let x = try value(a, ctx).intValue
            let y = try value(b, ctx).intValue
            guard let r = ScriptOperators.arithmetic(op, x, y) else {
                throw ScriptEvalError(message: "division by zero")
            }
            return .int(r)
        case .equal(let a, let b, let negated):
            return bool(ScriptOperators.equal(try value(a, ctx), try value(b, ctx)) != negated)
        case .stringEqual(let a, let b, let negated):
            return bool((try value(a, ctx).bytes == (try value(b, ctx)).bytes) != negated)
        case .intEqual(let a, let b, let negated):
            return bool((try value(a, ctx).intValue == (try value(b, ctx)).intValue) != negated)
        case .relational(let op, let a, let b):
            return bool(ScriptOperators.relational(op, try value(a, ctx).intValue, try value(b, ctx).intValue))
        case .match(let a, let regex):
            return bool(regex.matches(try value(a, ctx).bytes))
        case .matchDynamic(let a, let b):
            let subject = try value(a, ctx).bytes
            let pattern = try value(b, ctx).stringValue
            guard let regex = try? ScriptRegex(pattern) else {
                throw ScriptEvalError(message: "invalid regular expression '\(pattern)'")
            }
            return bool(regex.matches(subject))
        case .defined(let pv):
            return bool(!pv.get(ctx).isNull)
        case .myself(let subject, let negated):
            return bool(isMyself(subject, ctx) != negated)
        }
    }

    /// An operand of `!`, `&&` or `||`: a function call or `route()` is true when its
    /// code is > 0 (so `!is_method("X")` works with the -1 of a false function), any
    /// other value when it is non-zero (so `!$var(x)` is 0 for x = -4). Observed on 5.6.
    private static func truth(_ node: ScriptExprNode, _ ctx: ScriptContext) throws(ScriptEvalError) -> Bool {
        switch node {
        case .call, .route: return try value(node, ctx).intValue > 0
        default: return try value(node, ctx).intValue != 0
        }
    }

    @inline(__always)
    private static func bool(_ b: Bool) -> ScriptValue { .int(b ? 1 : 0) }

    /// `if (e)` / `while (e)`: true when the value is > 0 (`if (-1)` and `if ("abc")`
    /// are false); a failed evaluation is false.
    static func condition(_ node: ScriptExprNode, _ ctx: ScriptContext) -> Bool {
        guard let v = try? value(node, ctx) else { return false }
        return v.intValue > 0
    }

    private static func isMyself(_ subject: ScriptMyselfSubject, _ ctx: ScriptContext) -> Bool {
        switch subject {
        case .requestURI:
            guard let uri = ctx.requestURI, let host = uri.host else { return false }
            return ctx.services.isMyself(host: host.text, port: uri.port)
        case .fromURI, .toURI:
            guard let na = try? (subject == .toURI ? ctx.message.to() : ctx.message.from()),
                  let host = na.uri.host else { return false }
            return ctx.services.isMyself(host: host.text, port: na.uri.port)
        case .sourceIP:
            return ctx.services.isMyself(host: Array(ctx.receive.source.ipString.utf8)[...], port: nil)
        case .destinationIP:
            return ctx.services.isMyself(host: Array(ctx.receive.local.ipString.utf8)[...], port: nil)
        }
    }

    /// Folds an operator over two constants at load time. Kamailio rejects constant
    /// operands of mixed type (`1 + "2"`, `0 == ""`, `"a" < "b"`, `0 == $null`).
    static func foldConstants(_ op: ScriptBinaryOp, _ x: ScriptValue, _ y: ScriptValue,
                              at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptValue {
        func mismatch() -> ScriptError {
            ScriptError("invalid constant expression: type mismatch in '\(x.debugShown) \(op.rawValue) \(y.debugShown)'", at: loc)
        }
        let bothInt: Bool
        if case .int = x, case .int = y { bothInt = true } else { bothInt = false }
        // `+`, `==` and `!=` take their type from the left operand: only an int on the
        // left demands an int on the right (`"a" + 1` loads, `1 + "2"` does not)
        let leftDecides: Bool
        if case .int = x { leftDecides = bothInt } else { leftDecides = true }
        switch op {
        case .and, .or:
            guard bothInt else { throw mismatch() }
            return .int(op == .and ? (x.intValue != 0 && y.intValue != 0 ? 1 : 0) : (x.intValue != 0 || y.intValue != 0 ? 1 : 0))
        case .plus:
            guard leftDecides else { throw mismatch() }
            return ScriptOperators.plus(x, y)
        case .minus, .times, .divide, .modulo, .bitOr, .bitAnd, .bitXor, .shiftLeft, .shiftRight:
            guard bothInt else { throw mismatch() }
            guard let r = ScriptOperators.arithmetic(op, x.intValue, y.intValue) else {
                throw ScriptError("invalid constant expression: division by zero", at: loc)
            }
            return .int(r)
        case .equal, .notEqual:
            guard leftDecides else { throw mismatch() }
            return .int(ScriptOperators.equal(x, y) == (op == .equal) ? 1 : 0)
        case .strEqual, .strNotEqual:
            return .int((x.bytes == y.bytes) == (op == .strEqual) ? 1 : 0)
        case .intEqual, .intNotEqual:
            guard bothInt else { throw mismatch() }
            return .int((x.intValue == y.intValue) == (op == .intEqual) ? 1 : 0)
        case .less, .greater, .lessEqual, .greaterEqual:
            guard bothInt else { throw mismatch() }
            return .int(ScriptOperators.relational(op, x.intValue, y.intValue) ? 1 : 0)
        case .match:
            guard case .str = x else { throw mismatch() }
            do {
                return .int(try ScriptRegex(y.stringValue).matches(x.bytes) ? 1 : 0)
            } catch {
                throw ScriptError(error.message, at: loc)
            }
        }
    }
}

extension ScriptValue {
    /// How a constant is shown in load-time messages (`"abc"`, `5`, `$null`).
    var debugShown: String {
        switch self {
        case .null: return "$null"
        case .int(let v): return String(v)
        case .str: return "\"\(stringValue)\""
        }
    }
}
