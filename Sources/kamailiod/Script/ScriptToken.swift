/// What the lexer hands the parser. Keywords (`if`, `mod`, `eq`, ...) are identifiers;
/// the parser decides by position, because Kamailio lets most of them be names elsewhere.
enum ScriptTokenKind: Equatable, Sendable {
    /// A name: function, route, keyword, define left unexpanded, core value (`uri`, `myself`).
    case identifier(String)
    /// An integer literal as written (decimal, `0x` hex, leading-zero octal); wrapped later.
    case integer(Int64)
    /// A quoted string with escapes resolved.
    case string(String)
    /// A pseudo-variable: the text after `$` (`rU`, `var(x)`, `(hdr(Via)[0]{s.len})`).
    case pseudoVariable(String)
    /// A top-level `name = value` line: the name and the raw value text up to `;` or the
    /// end of the line (global values such as `udp:1.2.3.4:5060 advertise ...` are not
    /// expressions, so they are parsed by the core-parameter table instead).
    case globalAssign(name: String, value: String, valueColumn: Int)
    /// The name between brackets in `route[NAME]` / `event_route[htable:mod-init]`.
    case routeName(String)
    /// Punctuation and operators: `( ) { } [ ] ; , : = := == != =~ < > <= >= + - * / | & ^ ~ << >> || && !`.
    case symbol(String)
    /// End of input.
    case eof

    /// How the token is named in "expected X, found Y" messages.
    var display: String {
        switch self {
        case .identifier(let s): return "'\(s)'"
        case .integer(let v): return "'\(v)'"
        case .string(let s): return "string \"\(s.count > 40 ? String(s.prefix(40)) + "..." : s)\""
        case .pseudoVariable(let s): return "'$\(s)'"
        case .globalAssign(let n, _, _): return "'\(n) ='"
        case .routeName(let s): return "'\(s)'"
        case .symbol(let s): return "'\(s)'"
        case .eof: return "end of file"
        }
    }
}

/// A token with the original-file position of its first character.
struct ScriptToken: Sendable {
    /// What was read.
    var kind: ScriptTokenKind
    /// Where it starts in the original file.
    var location: ScriptSourceLocation

    /// True when the token is the symbol `s`.
    func isSymbol(_ s: String) -> Bool {
        if case .symbol(let v) = kind { return v == s }
        return false
    }

    /// True when the token is the identifier `s` (keywords are case-sensitive in Kamailio).
    func isIdentifier(_ s: String) -> Bool {
        if case .identifier(let v) = kind { return v == s }
        return false
    }
}
