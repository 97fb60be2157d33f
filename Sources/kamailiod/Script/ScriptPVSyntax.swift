/// Parsing of the text of a pseudo-variable (`rU`, `hdr(Via)[1]`, `(hdr(Via)[$var(i)]{s.len})`)
/// into a `ScriptPVSpec`. Used by the parser and by `ScriptFormat` for `$...` inside strings.
extension ScriptPVSpec {
    /// Parses the text after `$`; the error message says what was expected.
    public static func parse(_ text: String) throws(ScriptPVSyntaxError) -> ScriptPVSpec {
        var bytes = Array(text.utf8)
        var wrapped = false
        if bytes.first == UInt8(ascii: "(") {
            guard bytes.count >= 2, bytes.last == UInt8(ascii: ")") else {
                throw ScriptPVSyntaxError(message: "expected ')' to close '$\(text)'")
            }
            bytes = Array(bytes.dropFirst().dropLast())
            wrapped = true
        }
        var i = 0
        while i < bytes.count, ScriptPreprocessor.isIdentByte(bytes[i]) || bytes[i] == UInt8(ascii: ".") { i += 1 }
        guard i > 0 else { throw ScriptPVSyntaxError(message: "expected a pseudo-variable name in '$\(text)'") }
        var spec = ScriptPVSpec(name: String(decoding: bytes[..<i], as: UTF8.self))
        if i < bytes.count, bytes[i] == UInt8(ascii: "(") {
            let end = try closing(bytes, from: i, open: UInt8(ascii: "("), close: UInt8(ascii: ")"), text: text)
            spec.argument = String(decoding: bytes[(i + 1)..<end], as: UTF8.self)
            i = end + 1
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "[") {
            let end = try closing(bytes, from: i, open: UInt8(ascii: "["), close: UInt8(ascii: "]"), text: text)
            spec.index = try parseIndex(String(decoding: bytes[(i + 1)..<end], as: UTF8.self), text: text)
            i = end + 1
        }
        while wrapped, i < bytes.count, bytes[i] == UInt8(ascii: "{") {
            let end = try closing(bytes, from: i, open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), text: text)
            spec.transforms.append(try parseTransform(Array(bytes[(i + 1)..<end]), text: text))
            i = end + 1
        }
        guard i == bytes.count else {
            throw ScriptPVSyntaxError(message: "unexpected '\(String(decoding: bytes[i...], as: UTF8.self))' in '$\(text)'")
        }
        return spec
    }

    private static func closing(_ b: [UInt8], from i: Int, open: UInt8, close: UInt8,
                                text: String) throws(ScriptPVSyntaxError) -> Int {
        var depth = 0
        var j = i
        while j < b.count {
            if b[j] == open { depth += 1 } else if b[j] == close {
                depth -= 1
                if depth == 0 { return j }
            }
            j += 1
        }
        throw ScriptPVSyntaxError(message: "expected '\(String(UnicodeScalar(close)))' in '$\(text)'")
    }

    private static func parseIndex(_ s: String, text: String) throws(ScriptPVSyntaxError) -> ScriptPVIndex {
        if s == "*" { return .all }
        if let v = Int(s) { return .int(v) }
        if s.hasPrefix("$") { return .pv(try parse(String(s.dropFirst()))) }
        throw ScriptPVSyntaxError(message: "expected an integer, '*' or a pseudo-variable as index in '$\(text)'")
    }

    private static func parseTransform(_ b: [UInt8], text: String) throws(ScriptPVSyntaxError) -> ScriptTransformSpec {
        // split on commas that are not inside a nested pseudo-variable or braces
        var parts: [[UInt8]] = [[]]
        var depth = 0
        for c in b {
            if c == UInt8(ascii: "(") || c == UInt8(ascii: "{") { depth += 1 }
            if c == UInt8(ascii: ")") || c == UInt8(ascii: "}") { depth -= 1 }
            if c == UInt8(ascii: ","), depth == 0 { parts.append([]) } else { parts[parts.count - 1].append(c) }
        }
        // a trailing ",," is a comma given as a one-character parameter ({s.select,1,,}),
        // as Kamailio reads separator parameters
        if parts.count >= 3, parts[parts.count - 1].isEmpty, parts[parts.count - 2].isEmpty {
            parts.removeLast(2)
            parts.append([UInt8(ascii: ",")])
        }
        let head = String(decoding: parts[0], as: UTF8.self)
        guard let dot = head.firstIndex(of: "."), dot != head.startIndex, head.index(after: dot) != head.endIndex else {
            throw ScriptPVSyntaxError(message: "expected a transformation like '{s.len}' in '$\(text)'")
        }
        return ScriptTransformSpec(klass: String(head[..<dot]), name: String(head[head.index(after: dot)...]),
                                   params: parts.dropFirst().map { String(decoding: $0, as: UTF8.self) })
    }
}

/// A malformed pseudo-variable; the parser adds the location.
public struct ScriptPVSyntaxError: Error, Sendable {
    /// What was expected.
    public var message: String
}
