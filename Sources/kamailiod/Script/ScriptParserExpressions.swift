/// Expression parsing with Kamailio's precedence, which is not C's: comparisons bind
/// tighter than the bit operators, `>>` tighter than `<<` and `^` tighter than `&`
/// (so `1 << 2 == 2` is `1 << (2 == 2)`, and `6 & 7 > 5` is `6 & (7 > 5)`).
extension ScriptParser {
    /// Binary levels from loosest to tightest; each entry maps spellings to operators.
    private static let levels: [[String: ScriptBinaryOp]] = [
        ["||": .or, "or": .or],
        ["&&": .and, "and": .and],
        ["|": .bitOr],
        ["&": .bitAnd],
        ["^": .bitXor],
        ["<<": .shiftLeft],
        [">>": .shiftRight],
        ["==": .equal, "!=": .notEqual, "=~": .match, "eq": .strEqual, "ne": .strNotEqual,
         "ieq": .intEqual, "ine": .intNotEqual],
        ["<": .less, ">": .greater, "<=": .lessEqual, ">=": .greaterEqual],
        ["+": .plus, "-": .minus],
        ["*": .times, "/": .divide, "mod": .modulo],
    ]

    /// Parses a full expression.
    mutating func parseExpression() throws(ScriptError) -> ScriptExpression {
        try nest()
        defer { depth -= 1 }
        return try parseLevel(0)
    }

    private func binaryOp(at level: Int) -> ScriptBinaryOp? {
        switch peek.kind {
        case .symbol(let s), .identifier(let s): return Self.levels[level][s]
        default: return nil
        }
    }

    private mutating func parseLevel(_ level: Int) throws(ScriptError) -> ScriptExpression {
        if level == Self.levels.count { return try parseUnary() }
        var lhs = try parseLevel(level + 1)
        while let op = binaryOp(at: level) {
            _ = advance()
            let rhs = try parseLevel(level + 1)
            lhs = ScriptExpression(kind: .binary(op, lhs, rhs), location: lhs.location)
        }
        return lhs
    }

    private mutating func parseUnary() throws(ScriptError) -> ScriptExpression {
        let t = peek
        let op: ScriptUnaryOp?
        switch t.kind {
        case .symbol("!"), .identifier("not"): op = .not
        case .symbol("-"): op = .negate
        case .symbol("~"): op = .bitNot
        default: op = nil
        }
        if let op {
            _ = advance()
            try nest()
            defer { depth -= 1 }
            let operand = try parseUnary()
            if op == .negate, case .integer(let v) = operand.kind {
                return ScriptExpression(kind: .integer(0 &- v), location: t.location)
            }
            return ScriptExpression(kind: .unary(op, operand), location: t.location)
        }
        if t.isIdentifier("defined") {
            _ = advance()
            let pvToken = advance()
            guard case .pseudoVariable(let text) = pvToken.kind else {
                throw error("expected a pseudo-variable after 'defined'", at: pvToken)
            }
            return ScriptExpression(kind: .defined(try pvSpec(text, at: pvToken)), location: t.location)
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(ScriptError) -> ScriptExpression {
        let t = advance()
        let loc = t.location
        switch t.kind {
        case .integer(let v):
            return ScriptExpression(kind: .integer(v), location: loc)
        case .string(var s):
            // adjacent literals concatenate, as in C
            while case .string(let more) = peek.kind {
                s += more
                _ = advance()
            }
            return ScriptExpression(kind: .string(s), location: loc)
        case .pseudoVariable(let text):
            return ScriptExpression(kind: .pseudoVariable(try pvSpec(text, at: t)), location: loc)
        case .symbol("(") where (peek.isIdentifier("int") || peek.isIdentifier("str")) && peek(1).isSymbol(")"):
            // `(int)$x`, `(str)$y`: casts bind tighter than any operator
            let op: ScriptUnaryOp = advance().isIdentifier("int") ? .intCast : .strCast
            _ = advance()
            try nest()
            defer { depth -= 1 }
            return ScriptExpression(kind: .unary(op, try parseUnary()), location: loc)
        case .symbol("("):
            let inner = try parseExpression()
            try expect(")", "to close '('")
            return inner
        case .identifier(let name):
            if peek.isSymbol("(") {
                return ScriptExpression(kind: .call(try parseCall(name, at: loc)), location: loc)
            }
            // `msg:len`-style core words are written with a colon
            if peek.isSymbol(":"), case .identifier(let tail) = peek(1).kind {
                _ = advance()
                _ = advance()
                return ScriptExpression(kind: .word(name + ":" + tail), location: loc)
            }
            return ScriptExpression(kind: .word(name), location: loc)
        default:
            throw error("expected an expression", at: t)
        }
    }
}
