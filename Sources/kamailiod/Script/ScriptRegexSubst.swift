/// A `/regex/replacement/flags` substitution, as in `#!subst` and `{re.subst,...}`.
/// The first character is the delimiter (escape it with `\` inside a part); flags are
/// `i` (ignore case) and `g` (all matches). In the replacement `\0`..`\9` insert groups;
/// `&` is not special (Kamailio 5.6 behaves the same).
public struct ScriptRegexSubst: Sendable {
    /// The compiled pattern.
    public let regex: ScriptRegex
    /// The pattern text as written.
    public let pattern: [UInt8]
    /// The replacement as written.
    public let replacement: [UInt8]
    /// Replace every match, not only the first.
    public let global: Bool

    /// Parses and compiles `expression` (without surrounding quotes); `multiline` as in
    /// `ScriptRegex` (textops' `subst` on a whole message).
    public init(_ expression: [UInt8], multiline: Bool = false) throws(ScriptFixupError) {
        guard let delim = expression.first else { throw ScriptFixupError("expected '/regex/replacement/flags'") }
        var parts: [[UInt8]] = [[]]
        var j = 1
        while j < expression.count {
            let b = expression[j]
            if b == UInt8(ascii: "\\"), j + 1 < expression.count, expression[j + 1] == delim {
                parts[parts.count - 1].append(delim)
                j += 2
                continue
            }
            if b == delim { parts.append([]) } else { parts[parts.count - 1].append(b) }
            j += 1
        }
        guard parts.count >= 2 else { throw ScriptFixupError("expected '/regex/replacement/flags'") }
        let flags = parts.count > 2 ? parts[2] : []
        do {
            regex = try ScriptRegex(String(decoding: parts[0], as: UTF8.self),
                                    caseInsensitive: flags.contains(UInt8(ascii: "i")), multiline: multiline)
        } catch {
            throw ScriptFixupError(error.message)
        }
        pattern = parts[0]
        replacement = parts[1]
        global = flags.contains(UInt8(ascii: "g"))
    }

    /// The text with the first (or every) match replaced.
    public func apply(to line: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var pos = 0
        for (whole, replaced) in replacements(in: line) {
            out += line[pos..<whole.lowerBound]
            out += replaced
            pos = whole.upperBound
        }
        if pos < line.count { out += line[pos...] }
        return out
    }

    /// The matched ranges (the first, or every one) with their replacement text: what a
    /// message edit needs to replace them in place.
    public func replacements(in line: [UInt8]) -> [(range: Range<Int>, text: [UInt8])] {
        var found: [(range: Range<Int>, text: [UInt8])] = []
        var pos = 0
        while pos <= line.count, let m = regex.firstMatch(in: line, from: pos), let whole = m[0] {
            var out: [UInt8] = []
            var k = 0
            while k < replacement.count {
                let c = replacement[k]
                if c == UInt8(ascii: "\\"), k + 1 < replacement.count {
                    let n = replacement[k + 1]
                    if n >= UInt8(ascii: "0"), n <= UInt8(ascii: "9") {
                        let g = Int(n - UInt8(ascii: "0"))
                        if g < m.count, let r = m[g] { out += line[r] }
                    } else {
                        out.append(n)
                    }
                    k += 2
                    continue
                }
                out.append(c)
                k += 1
            }
            found.append((whole, out))
            // an empty match must still make progress
            pos = whole.isEmpty ? whole.lowerBound + 1 : whole.upperBound
            if !global { break }
        }
        return found
    }
}
