/// Byte-level text helpers of the preprocessor: line splitting, comment removal,
/// directive recognition and define expansion. All of this runs once at load time.
extension ScriptPreprocessor {
    /// Letters, digits and `_`: the characters of a define name.
    static func isIdentByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    /// Blanks inside a line.
    static func isSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r")
    }

    /// Splits on LF, dropping a CR before it, so CRLF files map lines the same way.
    static func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            var end = i
            if end > start, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            out.append(Array(bytes[start..<end]))
            start = i + 1
        }
        if start < bytes.count { out.append(Array(bytes[start...])) }
        return out
    }

    /// Strips blanks at both ends.
    static func trim(_ bytes: [UInt8]) -> [UInt8] {
        var s = bytes[...]
        while let f = s.first, isSpace(f) { s = s.dropFirst() }
        while let l = s.last, isSpace(l) { s = s.dropLast() }
        return Array(s)
    }

    /// Recognises `#!keyword` or `!!keyword` at the start of a line (after blanks);
    /// returns the keyword and where its argument starts.
    static func directive(in line: [UInt8]) -> (String, Int)? {
        var i = 0
        while i < line.count, isSpace(line[i]) { i += 1 }
        guard i + 1 < line.count,
              line[i] == UInt8(ascii: "#") || line[i] == UInt8(ascii: "!"),
              line[i + 1] == UInt8(ascii: "!") else { return nil }
        i += 2
        let start = i
        while i < line.count, isIdentByte(line[i]) { i += 1 }
        let keyword = String(decoding: line[start..<i], as: UTF8.self)
        return (keyword, i)
    }

    /// `include_file "x"` / `import_file "x"` (quotes optional) on a comment-free line.
    static func includeStatement(_ line: [UInt8]) -> (String, String)? {
        let t = trim(line)
        for kind in ["include_file", "import_file"] {
            let k = Array(kind.utf8)
            guard t.count > k.count, Array(t.prefix(k.count)) == k, !isIdentByte(t[k.count]) else { continue }
            var rest = trim(Array(t[k.count...]))
            if rest.last == UInt8(ascii: ";") { rest = trim(Array(rest.dropLast())) }
            if let q = rest.first, q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                guard rest.count >= 2, rest.last == q else { return nil }
                rest = Array(rest.dropFirst().dropLast())
            }
            guard !rest.isEmpty else { return nil }
            return (kind, String(decoding: rest, as: UTF8.self))
        }
        return nil
    }

    /// Removes `#` and `//` line comments and `/* */` block comments outside quoted
    /// strings and pseudo-variables (`$(ru{re.subst,/a//g})` keeps its `//`). Block
    /// comments become spaces so the columns of what follows stay right. `state` carries
    /// an open block comment or string (Kamailio strings may span lines) to the next line.
    static func stripComments(_ line: [UInt8], state: inout ScriptTextState) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(line.count)
        var i = 0
        if state.quote != 0 {
            let (end, closed) = copyQuoted(line, from: 0, quote: state.quote, opening: false, into: &out)
            if !closed { return out }
            state.quote = 0
            i = end
        }
        while i < line.count {
            let b = line[i]
            let next: UInt8 = i + 1 < line.count ? line[i + 1] : 0
            if state.inBlockComment {
                if b == UInt8(ascii: "*"), next == UInt8(ascii: "/") {
                    state.inBlockComment = false
                    out += [0x20, 0x20]
                    i += 2
                } else {
                    out.append(0x20)
                    i += 1
                }
                continue
            }
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                let (end, closed) = copyQuoted(line, from: i, quote: b, opening: true, into: &out)
                if !closed {
                    state.quote = b
                    return out
                }
                i = end
                continue
            } else if b == UInt8(ascii: "$"), next == UInt8(ascii: "(") {
                let end = skipPseudoVariable(line, from: i)
                out += line[i..<end]
                i = end
                continue
            } else if b == UInt8(ascii: "#") || (b == UInt8(ascii: "/") && next == UInt8(ascii: "/")) {
                break
            } else if b == UInt8(ascii: "/"), next == UInt8(ascii: "*") {
                state.inBlockComment = true
                out += [0x20, 0x20]
                i += 2
                continue
            }
            out.append(b)
            i += 1
        }
        return out
    }

    /// Copies a quoted string with its escapes untouched: from its opening quote at `i`
    /// (`opening`), or from `i` inside a string continued from the previous line. Returns
    /// the index after the closing quote and whether the string closed on this line.
    static func copyQuoted(_ line: [UInt8], from i: Int, quote: UInt8, opening: Bool,
                           into out: inout [UInt8]) -> (Int, Bool) {
        var j = i
        if opening {
            out.append(quote)
            j += 1
        }
        while j < line.count {
            let c = line[j]
            out.append(c)
            j += 1
            if c == UInt8(ascii: "\\"), j < line.count {
                out.append(line[j])
                j += 1
            } else if c == quote {
                return (j, true)
            }
        }
        return (j, false)
    }

    /// Index just past a pseudo-variable starting at `i` (which holds `$`), so define
    /// names are never substituted inside `$var(NAME)` or `$(hdr(X)[N])`.
    static func skipPseudoVariable(_ line: [UInt8], from i: Int) -> Int {
        var j = i + 1
        func skipBalanced(_ open: UInt8, _ close: UInt8) {
            var depth = 0
            while j < line.count {
                if line[j] == open { depth += 1 } else if line[j] == close {
                    depth -= 1
                    if depth == 0 { j += 1; return }
                }
                j += 1
            }
        }
        if j < line.count, line[j] == UInt8(ascii: "(") {
            skipBalanced(UInt8(ascii: "("), UInt8(ascii: ")"))
            return j
        }
        while j < line.count, isIdentByte(line[j]) || line[j] == UInt8(ascii: ".") { j += 1 }
        if j < line.count, line[j] == UInt8(ascii: "(") { skipBalanced(UInt8(ascii: "("), UInt8(ascii: ")")) }
        if j < line.count, line[j] == UInt8(ascii: "[") { skipBalanced(UInt8(ascii: "["), UInt8(ascii: "]")) }
        return j
    }

    /// Replaces defined identifiers outside strings and pseudo-variables; the value is
    /// itself expanded (to a fixed depth, so a define that names itself cannot hang).
    /// `quote` is the quote of a string continued from the previous line, or 0.
    func expand(_ line: [UInt8], depth: Int, quote: UInt8 = 0) -> [UInt8] {
        if defines.isEmpty || depth > 16 { return line }
        var out: [UInt8] = []
        out.reserveCapacity(line.count)
        var i = 0
        if quote != 0 {
            let (end, closed) = Self.copyQuoted(line, from: 0, quote: quote, opening: false, into: &out)
            if !closed { return out }
            i = end
        }
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                i = Self.copyQuoted(line, from: i, quote: b, opening: true, into: &out).0
            } else if b == UInt8(ascii: "$") {
                let end = Self.skipPseudoVariable(line, from: i)
                out += line[i..<end]
                i = end
            } else if Self.isIdentByte(b) {
                var j = i
                while j < line.count, Self.isIdentByte(line[j]) { j += 1 }
                let word = line[i..<j]
                let isName = !(b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
                if isName, let value = defines[String(decoding: word, as: UTF8.self)] {
                    out += expand(value, depth: depth + 1)
                } else {
                    out += word
                }
                i = j
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }
}

/// What the preprocessor carries from one line to the next.
struct ScriptTextState {
    /// Inside a `/* */` comment.
    var inBlockComment = false
    /// The quote of a string that continues on the next line, or 0.
    var quote: UInt8 = 0
}
