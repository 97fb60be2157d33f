/// Recursive-descent parser for the kamailio.cfg language: tokens → `ScriptSyntaxTree`.
///
/// It stops at the first error, which names what was expected and what was found,
/// at the original file:line:col (`ref.cfg:12:5: expected ';' after statement, found '}'`).
struct ScriptParser {
    private let tokens: [ScriptToken]
    private var pos = 0
    /// Current nesting of blocks and expressions.
    var depth = 0

    /// Nesting limit for blocks and expressions, so hostile input cannot exhaust the stack.
    static let maxDepth = 256

    /// A parser over a token list ending in `.eof`.
    init(tokens: [ScriptToken]) {
        self.tokens = tokens
    }

    /// Preprocessed source → syntax tree.
    static func parse(_ source: ScriptPreprocessedSource) throws(ScriptError) -> ScriptSyntaxTree {
        var parser = ScriptParser(tokens: try ScriptLexer.tokenize(source))
        return try parser.parseScript()
    }

    // MARK: - Token access

    /// The next token.
    var peek: ScriptToken { tokens[min(pos, tokens.count - 1)] }

    /// The token `offset` places ahead.
    func peek(_ offset: Int) -> ScriptToken { tokens[min(pos + offset, tokens.count - 1)] }

    /// Consumes and returns the next token.
    mutating func advance() -> ScriptToken {
        let t = peek
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }

    /// Consumes `symbol` if it is next.
    mutating func accept(_ symbol: String) -> Bool {
        if peek.isSymbol(symbol) {
            pos += 1
            return true
        }
        return false
    }

    /// Consumes `symbol` or fails with "expected 'symbol' context".
    mutating func expect(_ symbol: String, _ context: String) throws(ScriptError) {
        guard accept(symbol) else { throw error("expected '\(symbol)' \(context)") }
    }

    /// An error "what, found X" at the token.
    func error(_ what: String, at token: ScriptToken? = nil) -> ScriptError {
        let t = token ?? peek
        return ScriptError("\(what), found \(t.kind.display)", at: t.location)
    }

    /// Enters one nesting level, failing past `maxDepth`.
    mutating func nest() throws(ScriptError) {
        depth += 1
        if depth > Self.maxDepth { throw ScriptError("nesting too deep", at: peek.location) }
    }

    // MARK: - Top level

    private mutating func parseScript() throws(ScriptError) -> ScriptSyntaxTree {
        var tree = ScriptSyntaxTree()
        while true {
            let t = peek
            switch t.kind {
            case .eof:
                return tree
            case .globalAssign(let name, let value, let column):
                _ = advance()
                var vloc = t.location
                vloc.column = column
                tree.globals.append(ScriptGlobalAssign(name: name, rawValue: value, location: t.location, valueLocation: vloc))
            case .symbol(";"):
                _ = advance()
            case .identifier("loadmodule"):
                _ = advance()
                let paren = accept("(")
                guard case .string(let path) = advance().kind else {
                    throw error("expected a quoted module path after 'loadmodule'", at: tokens[pos - 1])
                }
                if paren { try expect(")", "after the module path") }
                tree.loadModules.append(ScriptLoadModuleDecl(path: path, location: t.location))
            case .identifier("loadpath"), .identifier("mpath"):
                _ = advance()
                guard case .string(let path) = advance().kind else {
                    throw error("expected a quoted directory after 'loadpath'", at: tokens[pos - 1])
                }
                tree.loadPaths.append(path)
            case .identifier("modparam"):
                _ = advance()
                tree.modParams.append(try parseModParam(at: t.location))
            case .identifier(let word) where ScriptLexer.routeKeywords.contains(word):
                _ = advance()
                tree.routes.append(try parseRoute(word, at: t.location))
            default:
                throw error("expected a route block, 'loadmodule', 'modparam' or 'name = value'")
            }
        }
    }

    private mutating func parseModParam(at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptModParamDecl {
        try expect("(", "after 'modparam'")
        guard case .string(let module) = peek.kind else { throw error("expected a quoted module name in modparam") }
        _ = advance()
        try expect(",", "after the module name")
        guard case .string(let name) = peek.kind else { throw error("expected a quoted parameter name in modparam") }
        _ = advance()
        try expect(",", "after the parameter name")
        let value = try parseExpression()
        try expect(")", "to close modparam")
        return ScriptModParamDecl(module: module, name: name, value: value, location: loc)
    }

    private mutating func parseRoute(_ word: String, at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptRouteDecl {
        var name = ""
        if accept("[") {
            guard case .routeName(let n) = advance().kind else { throw error("expected a route name") }
            name = n
            try expect("]", "after the route name")
            if name.isEmpty { throw error("expected a route name between '[' and ']'", at: tokens[pos - 1]) }
        }
        let type: ScriptRouteType
        switch word {
        case "request_route": type = .request
        case "route": type = .request
        case "reply_route": type = .onreply
        case "onreply_route": type = .onreply
        case "failure_route": type = .failure
        case "branch_route": type = .branch
        case "onsend_route": type = .onsend
        default: type = .event
        }
        if (type == .request || type == .onreply), name == "0" || name == "main" { name = "" }
        if name.isEmpty, type == .failure || type == .branch || type == .event {
            throw error("expected '[NAME]' after '\(word)'")
        }
        guard peek.isSymbol("{") else { throw error("expected '{' to open the \(word) block") }
        let body = try parseBlock()
        return ScriptRouteDecl(type: type, name: name, body: body, location: loc)
    }

    // MARK: - Statements

    /// `{ statement* }`
    mutating func parseBlock() throws(ScriptError) -> [ScriptStatement] {
        try expect("{", "to open a block")
        try nest()
        defer { depth -= 1 }
        var out: [ScriptStatement] = []
        while !peek.isSymbol("}") {
            if case .eof = peek.kind { throw error("expected '}' to close the block") }
            if let s = try parseStatement() { out.append(s) }
        }
        _ = advance()
        return out
    }

    private mutating func endStatement() throws(ScriptError) {
        guard accept(";") else { throw error("expected ';' after statement") }
    }

    /// One statement, or nil for an empty `;`.
    mutating func parseStatement() throws(ScriptError) -> ScriptStatement? {
        let t = peek
        let loc = t.location
        switch t.kind {
        case .symbol(";"):
            _ = advance()
            return nil
        case .symbol("{"):
            return ScriptStatement(kind: .block(try parseBlock()), location: loc)
        case .pseudoVariable(let text):
            _ = advance()
            let pv = try pvSpec(text, at: t)
            let colon: Bool
            if accept("=") { colon = false } else if accept(":=") { colon = true } else {
                throw error("expected '=' or ':=' after '\(pv)'")
            }
            let value = try parseExpression()
            try endStatement()
            return ScriptStatement(kind: .assign(pv, value, isColon: colon), location: loc)
        case .identifier("if"):
            _ = advance()
            return try parseIf(at: loc)
        case .identifier("switch"):
            _ = advance()
            return try parseSwitch(at: loc)
        case .identifier("while"):
            _ = advance()
            guard peek.isSymbol("(") else { throw error("expected '(' after 'while'") }
            let cond = try parseExpression()
            let body = try parseBody()
            return ScriptStatement(kind: .whileLoop(cond, body), location: loc)
        case .identifier("return"):
            _ = advance()
            var value: ScriptExpression?
            if !peek.isSymbol(";") { value = try parseExpression() }
            try endStatement()
            return ScriptStatement(kind: .returnValue(value), location: loc)
        case .identifier("exit"), .identifier("drop"), .identifier("break"):
            _ = advance()
            // `exit()` / `drop()` are accepted like the bare words
            if accept("(") { try expect(")", "after '('") }
            try endStatement()
            let kind: ScriptStatementKind = t.isIdentifier("exit") ? .exit : t.isIdentifier("drop") ? .drop : .breakLoop
            return ScriptStatement(kind: kind, location: loc)
        case .identifier(let name):
            _ = advance()
            let call = try parseCall(name, at: loc)
            try endStatement()
            return ScriptStatement(kind: .call(call), location: loc)
        default:
            throw error("expected a statement")
        }
    }

    /// The body of `if`/`else`/`while`: a block or a single statement.
    private mutating func parseBody() throws(ScriptError) -> [ScriptStatement] {
        if peek.isSymbol("{") { return try parseBlock() }
        try nest()
        defer { depth -= 1 }
        guard let s = try parseStatement() else { return [] }
        return [s]
    }

    private mutating func parseIf(at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptStatement {
        guard peek.isSymbol("(") else { throw error("expected '(' after 'if'") }
        let cond = try parseExpression()
        let then = try parseBody()
        var otherwise: [ScriptStatement]?
        if peek.isIdentifier("else") {
            _ = advance()
            otherwise = try parseBody()
        }
        return ScriptStatement(kind: .ifElse(cond, then, otherwise), location: loc)
    }

    private mutating func parseSwitch(at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptStatement {
        guard peek.isSymbol("(") else { throw error("expected '(' after 'switch'") }
        let subject = try parseExpression()
        try expect("{", "to open the switch body")
        var cases: [ScriptSwitchCase] = []
        while !accept("}") {
            let t = advance()
            let label: ScriptCaseLabel
            if t.isIdentifier("default") {
                label = .defaultLabel
            } else if t.isIdentifier("case") {
                let negative = accept("-")
                switch advance().kind {
                case .integer(let v): label = .integer(negative ? 0 &- v : v)
                case .string(let s) where !negative: label = .string(s)
                default: throw error("expected an integer or a string after 'case'", at: tokens[pos - 1])
                }
            } else {
                throw error("expected 'case', 'default' or '}' in switch", at: t)
            }
            try expect(":", "after the case label")
            var body: [ScriptStatement] = []
            while !peek.isIdentifier("case"), !peek.isIdentifier("default"), !peek.isSymbol("}") {
                if case .eof = peek.kind { throw error("expected '}' to close the switch") }
                if let s = try parseStatement() { body.append(s) }
            }
            cases.append(ScriptSwitchCase(label: label, body: body, location: t.location))
        }
        return ScriptStatement(kind: .switchCase(subject, cases), location: loc)
    }

    /// `name(args)` or a bare `name`.
    mutating func parseCall(_ name: String, at loc: ScriptSourceLocation) throws(ScriptError) -> ScriptCallSyntax {
        var args: [ScriptExpression] = []
        if name == "force_send_socket", peek(0).isSymbol("(") {
            return ScriptCallSyntax(name: name, arguments: [try parseSocketArgument()], location: loc)
        }
        if accept("(") {
            if !accept(")") {
                repeat {
                    args.append(try parseExpression())
                } while accept(",")
                try expect(")", "to close the arguments of '\(name)'")
            }
        }
        return ScriptCallSyntax(name: name, arguments: args, location: loc)
    }

    /// `force_send_socket([proto:]host[:port])`: the socket is written bare, as in
    /// `listen=` (Kamailio refuses a quoted string here), so its tokens are joined back
    /// into one word: `udp:127.0.0.2:5070`, `tcp:[::1]:5060`, `10.0.0.1`.
    mutating func parseSocketArgument() throws(ScriptError) -> ScriptExpression {
        _ = advance()  // (
        let first = peek
        var text = ""
        while !peek.isSymbol(")") {
            let t = advance()
            switch t.kind {
            case .identifier(let s), .symbol(let s): text += s
            case .integer(let v): text += String(v)
            case .string(let s) where s.first?.isNumber == true && s.split(separator: ".").count == 4:
                text += s  // a dotted-quad literal (the lexer makes it a string)
            case .string:
                throw error("force_send_socket takes a bare socket like udp:10.0.0.1:5060, not a string "
                            + "(set_send_socket(\"...\") takes one)", at: t)
            default:
                throw error("expected a socket like udp:10.0.0.1:5060 in force_send_socket()", at: t)
            }
            if case .eof = peek.kind { break }
        }
        try expect(")", "to close the argument of 'force_send_socket'")
        guard !text.isEmpty else { throw error("force_send_socket needs a socket like udp:10.0.0.1:5060", at: first) }
        return ScriptExpression(kind: .word(text), location: first.location)
    }

    /// Parses a pseudo-variable token's text.
    func pvSpec(_ text: String, at token: ScriptToken) throws(ScriptError) -> ScriptPVSpec {
        do {
            return try ScriptPVSpec.parse(text)
        } catch {
            throw ScriptError(error.message, at: token.location)
        }
    }
}
