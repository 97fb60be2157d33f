/// Turns preprocessed lines into tokens, each with its original file:line:col.
///
/// Two places of the language are not token-shaped and are cut out here as whole
/// tokens: top-level `name = value` lines (values like `udp:[::1]:5060` or
/// `1.2.3.4 advertise 5.6.7.8:5060`) and the names in `event_route[htable:mod-init]`.
struct ScriptLexer {
    private let source: ScriptPreprocessedSource
    private var tokens: [ScriptToken] = []
    private var braceDepth = 0
    private var parenDepth = 0
    /// A string still open at the end of a line (Kamailio strings may span lines).
    private var pending: (quote: UInt8, bytes: [UInt8], location: ScriptSourceLocation)?

    /// Words that introduce a route block and may be followed by `[NAME]`.
    static let routeKeywords: Set<String> = [
        "route", "request_route", "failure_route", "branch_route", "onreply_route",
        "reply_route", "onsend_route", "event_route",
    ]

    private static let twoCharSymbols: Set<String> = [":=", "==", "!=", "=~", "<=", ">=", "<<", ">>", "||", "&&"]
    private static let oneCharSymbols: Set<UInt8> = Set("(){}[];,:=<>+-*/|&^~!.".utf8)

    /// A lexer over preprocessed lines.
    init(_ source: ScriptPreprocessedSource) {
        self.source = source
    }

    /// Tokenizes everything; the first lexical error is thrown with its location.
    static func tokenize(_ source: ScriptPreprocessedSource) throws(ScriptError) -> [ScriptToken] {
        var lexer = ScriptLexer(source)
        return try lexer.run()
    }

    private mutating func run() throws(ScriptError) -> [ScriptToken] {
        for (index, line) in source.lines.enumerated() {
            try lexLine(line, origin: source.origins[index])
        }
        if let open = pending {
            throw ScriptError("expected closing \(open.quote == UInt8(ascii: "'") ? "'" : "\"") of the string", at: open.location)
        }
        let last = source.origins.last ?? ScriptLineOrigin(file: "<script>", line: 1)
        let column = (source.lines.last?.count ?? 0) + 1
        tokens.append(ScriptToken(kind: .eof, location: ScriptSourceLocation(file: last.file, line: last.line, column: column)))
        return tokens
    }

    private static func isLetter(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || b == UInt8(ascii: "_")
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func lexLine(_ line: [UInt8], origin: ScriptLineOrigin) throws(ScriptError) {
        var i = 0
        func loc(_ at: Int) -> ScriptSourceLocation {
            ScriptSourceLocation(file: origin.file, line: origin.line, column: at + 1)
        }
        if var open = pending {
            open.bytes.append(0x0A)
            guard let end = Self.scanString(line, from: 0, quote: open.quote, into: &open.bytes) else {
                pending = open
                return
            }
            tokens.append(ScriptToken(kind: .string(String(decoding: open.bytes, as: UTF8.self)), location: open.location))
            pending = nil
            i = end
        }
        while i < line.count {
            let b = line[i]
            if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0B || b == 0x0C {
                i += 1
                continue
            }
            let start = i
            if Self.isLetter(b) {
                let topLevel = braceDepth == 0 && parenDepth == 0
                while i < line.count, Self.isLetter(line[i]) || Self.isDigit(line[i])
                        || (topLevel && line[i] == UInt8(ascii: ".")) { i += 1 }
                let word = String(decoding: line[start..<i], as: UTF8.self)
                var j = i
                while j < line.count, line[j] == 0x20 || line[j] == 0x09 { j += 1 }
                let next: UInt8 = j < line.count ? line[j] : 0
                let after: UInt8 = j + 1 < line.count ? line[j + 1] : 0
                if topLevel, next == UInt8(ascii: "="), after != UInt8(ascii: "="), after != UInt8(ascii: "~") {
                    i = try globalValue(line, name: word, from: j + 1, start: start, loc: loc)
                    continue
                }
                tokens.append(ScriptToken(kind: .identifier(word), location: loc(start)))
                if braceDepth == 0, next == UInt8(ascii: "["), Self.routeKeywords.contains(word) {
                    guard let close = line[(j + 1)...].firstIndex(of: UInt8(ascii: "]")) else {
                        throw ScriptError("expected ']' after the route name", at: loc(line.count))
                    }
                    var name = ScriptPreprocessor.trim(Array(line[(j + 1)..<close]))
                    if name.count >= 2, let q = name.first, q == UInt8(ascii: "\"") || q == UInt8(ascii: "'"), name.last == q {
                        name = Array(name.dropFirst().dropLast())
                    }
                    tokens.append(ScriptToken(kind: .symbol("["), location: loc(j)))
                    tokens.append(ScriptToken(kind: .routeName(String(decoding: name, as: UTF8.self)), location: loc(j + 1)))
                    tokens.append(ScriptToken(kind: .symbol("]"), location: loc(close)))
                    i = close + 1
                }
                continue
            }
            if Self.isDigit(b), let end = Self.ipv4End(line, from: i) {
                // `src_ip == 10.0.0.1`: an IPv4 literal compares as its text
                tokens.append(ScriptToken(kind: .string(String(decoding: line[i..<end], as: UTF8.self)), location: loc(start)))
                i = end
                continue
            }
            if Self.isDigit(b) {
                let (value, end) = Self.integer(line, from: i)
                tokens.append(ScriptToken(kind: .integer(value), location: loc(start)))
                i = end
                continue
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                var text: [UInt8] = []
                guard let end = Self.scanString(line, from: i + 1, quote: b, into: &text) else {
                    pending = (b, text, loc(start))
                    return
                }
                tokens.append(ScriptToken(kind: .string(String(decoding: text, as: UTF8.self)), location: loc(start)))
                i = end
                continue
            }
            if b == UInt8(ascii: "$") {
                let end = ScriptPreprocessor.skipPseudoVariable(line, from: i)
                guard end > i + 1 else { throw ScriptError("expected a pseudo-variable name after '$'", at: loc(i)) }
                let body = line[(i + 1)..<end]
                if body.first == UInt8(ascii: "("), body.last != UInt8(ascii: ")") {
                    throw ScriptError("expected ')' to close the pseudo-variable", at: loc(end))
                }
                tokens.append(ScriptToken(kind: .pseudoVariable(String(decoding: body, as: UTF8.self)), location: loc(start)))
                i = end
                continue
            }
            if i + 1 < line.count {
                let two = String(decoding: line[i...(i + 1)], as: UTF8.self)
                if Self.twoCharSymbols.contains(two) {
                    tokens.append(ScriptToken(kind: .symbol(two), location: loc(start)))
                    i += 2
                    continue
                }
            }
            guard Self.oneCharSymbols.contains(b) else {
                let shown = b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "\\x" + String(b, radix: 16)
                throw ScriptError("unexpected character '\(shown)'", at: loc(start))
            }
            switch b {
            case UInt8(ascii: "{"): braceDepth += 1
            case UInt8(ascii: "}"): braceDepth = max(0, braceDepth - 1)
            case UInt8(ascii: "("): parenDepth += 1
            case UInt8(ascii: ")"): parenDepth = max(0, parenDepth - 1)
            default: break
            }
            tokens.append(ScriptToken(kind: .symbol(String(UnicodeScalar(b))), location: loc(start)))
            i += 1
        }
    }

    /// Cuts the raw value of a top-level `name = value` up to `;` (outside quotes) or
    /// the end of the line; returns where lexing continues.
    private mutating func globalValue(_ line: [UInt8], name: String, from: Int, start: Int,
                                      loc: (Int) -> ScriptSourceLocation) throws(ScriptError) -> Int {
        var k = from
        var quote: UInt8 = 0
        while k < line.count {
            let c = line[k]
            if quote != 0 {
                if c == UInt8(ascii: "\\") { k += 2; continue }
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                quote = c
            } else if c == UInt8(ascii: ";") {
                break
            }
            k += 1
        }
        var valueStart = from
        while valueStart < min(k, line.count), line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
        let raw = ScriptPreprocessor.trim(Array(line[from..<min(k, line.count)]))
        tokens.append(ScriptToken(kind: .globalAssign(name: name, value: String(decoding: raw, as: UTF8.self),
                                                      valueColumn: valueStart + 1),
                                  location: loc(start)))
        return min(k + 1, line.count)
    }

    /// End of a dotted-quad IPv4 literal starting at `i`, or nil.
    static func ipv4End(_ line: [UInt8], from i: Int) -> Int? {
        var j = i
        for part in 0..<4 {
            let digitsStart = j
            while j < line.count, isDigit(line[j]), j - digitsStart < 3 { j += 1 }
            guard j > digitsStart else { return nil }
            if part < 3 {
                guard j < line.count, line[j] == UInt8(ascii: ".") else { return nil }
                j += 1
            }
        }
        if j < line.count, isDigit(line[j]) || isLetter(line[j]) || line[j] == UInt8(ascii: ".") { return nil }
        return j
    }

    /// Decimal, `0x` hexadecimal or leading-zero octal, wrapping silently like C.
    static func integer(_ line: [UInt8], from i: Int) -> (Int64, Int) {
        var j = i
        var value: Int64 = 0
        if line[j] == UInt8(ascii: "0"), j + 1 < line.count, line[j + 1] == UInt8(ascii: "x") || line[j + 1] == UInt8(ascii: "X") {
            j += 2
            while j < line.count, let d = hexDigit(line[j]) {
                value = value &* 16 &+ Int64(d)
                j += 1
            }
            return (value, j)
        }
        let octal = line[j] == UInt8(ascii: "0")
        while j < line.count, isDigit(line[j]) {
            value = value &* (octal ? 8 : 10) &+ Int64(line[j] - UInt8(ascii: "0"))
            j += 1
        }
        return (value, j)
    }

    /// The value of a hexadecimal digit.
    static func hexDigit(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
    }

    /// A quoted string on one line (used for quoted core values); `\n \r \t \\ \" \'`
    /// are resolved, other escapes are kept as written (so regex escapes such as `\.`
    /// reach the regex compiler intact).
    static func string(_ line: [UInt8], from i: Int,
                       loc: (Int) -> ScriptSourceLocation) throws(ScriptError) -> (String, Int) {
        var out: [UInt8] = []
        guard let end = scanString(line, from: i + 1, quote: line[i], into: &out) else {
            throw ScriptError("expected closing \(line[i] == UInt8(ascii: "'") ? "'" : "\"") of the string", at: loc(i))
        }
        return (String(decoding: out, as: UTF8.self), end)
    }

    /// Scans string content from `i` up to the closing `quote`, resolving escapes into
    /// `out`; returns the index after the quote, or nil when the line ends first.
    static func scanString(_ line: [UInt8], from i: Int, quote: UInt8, into out: inout [UInt8]) -> Int? {
        var j = i
        while j < line.count {
            let c = line[j]
            if c == quote { return j + 1 }
            if c == UInt8(ascii: "\\"), j + 1 < line.count {
                let n = line[j + 1]
                switch n {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "'"): out.append(n)
                default: out += [c, n]
                }
                j += 2
                continue
            }
            out.append(c)
            j += 1
        }
        return nil
    }
}
