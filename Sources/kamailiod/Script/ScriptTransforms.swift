/// Transformations (`{s.len}`, `{s.tolower}`, ...) applied to pseudo-variable values.
/// Each is built once from its spec; a failed transformation gives `""` (not null),
/// and any transformation of a null gives `""`, as in Kamailio.
public struct ScriptTransform: Sendable {
    /// Applies the transformation.
    let apply: @Sendable (ScriptValue, ScriptContext) -> ScriptValue
}

/// The table of known transformations; add new ones here as `class.name` entries.
enum ScriptTransforms {
    /// Builds the function for one occurrence from its parameters.
    typealias Factory = @Sendable ([String]) throws(ScriptFixupError) -> @Sendable (ScriptValue) -> ScriptValue

    private static let empty = ScriptValue.str([])

    /// `class.name` → factory (string transformations here, SIP ones in
    /// `ScriptTransformsSIP`).
    static let table: [String: Factory] = stringTable.merging(ScriptTransformsSIP.table) { a, _ in a }
        .merging(ScriptTransformsMore.table) { a, _ in a }

    private static let stringTable: [String: Factory] = [
        "s.len": { _ throws(ScriptFixupError) in { v in .int(Int32(truncatingIfNeeded: v.bytes.count)) } },
        "s.int": { _ throws(ScriptFixupError) in { v in
            if case .int = v { return v }
            guard let i = ScriptValue.parseInt(v.bytes[...]) else { return empty }
            return .int(i)
        } },
        "s.tolower": { _ throws(ScriptFixupError) in { v in .str(v.bytes.map { $0 &- 65 < 26 ? $0 | 0x20 : $0 }) } },
        "s.toupper": { _ throws(ScriptFixupError) in { v in .str(v.bytes.map { $0 &- 97 < 26 ? $0 & 0xDF : $0 }) } },
        "s.trim": { _ throws(ScriptFixupError) in { v in .str(trim(v.bytes, left: true, right: true)) } },
        "s.ltrim": { _ throws(ScriptFixupError) in { v in .str(trim(v.bytes, left: true, right: false)) } },
        "s.rtrim": { _ throws(ScriptFixupError) in { v in .str(trim(v.bytes, left: false, right: true)) } },
        "s.substr": { p throws(ScriptFixupError) in
            guard p.count == 2, let off = Int(p[0]), let len = Int(p[1]) else {
                throw ScriptFixupError("{s.substr,offset,length} needs two integers")
            }
            return { v in
                let b = v.bytes
                let start = off < 0 ? b.count + off : off
                guard start >= 0, start <= b.count, len >= 0 else { return empty }
                // a length past the end is cut at the end ({s.substr,4,9} of "abcdef" is "ef")
                let end = len == 0 || len >= b.count - start ? b.count : start + len
                return .str(Array(b[start..<end]))
            }
        },
        "s.strip": { p throws(ScriptFixupError) in
            let n = try count(p, "{s.strip,N}")
            return { v in .str(Array(v.bytes.dropFirst(n))) }
        },
        "s.striptail": { p throws(ScriptFixupError) in
            let n = try count(p, "{s.striptail,N}")
            return { v in .str(Array(v.bytes.dropLast(n))) }
        },
        "s.replace": { p throws(ScriptFixupError) in
            guard p.count == 2, !p[0].isEmpty else { throw ScriptFixupError("{s.replace,match,replacement} needs two strings") }
            let what = Array(p[0].utf8)
            let with = Array(p[1].utf8)
            return { v in .str(replaceAll(v.bytes, what, with)) }
        },
        "s.encode.hexa": { _ throws(ScriptFixupError) in { v in
            let digits = Array("0123456789abcdef".utf8)
            return .str(v.bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
        } },
        "s.decode.hexa": { _ throws(ScriptFixupError) in { v in
            let b = v.bytes
            guard b.count % 2 == 0 else { return empty }
            var out: [UInt8] = []
            var i = 0
            while i < b.count {
                guard let hi = ScriptLexer.hexDigit(b[i]), let lo = ScriptLexer.hexDigit(b[i + 1]) else { return empty }
                out.append(UInt8(hi << 4 | lo))
                i += 2
            }
            return .str(out)
        } },
        "s.select": { p throws(ScriptFixupError) in
            guard p.count == 2, let idx = Int(p[0]), let sep = p[1].utf8.first else {
                throw ScriptFixupError("{s.select,index,separator} needs an integer and a character")
            }
            return { v in
                let fields = v.bytes.split(separator: sep, omittingEmptySubsequences: false)
                let k = idx < 0 ? fields.count + idx : idx
                guard k >= 0, k < fields.count else { return empty }
                return .str(Array(fields[k]))
            }
        },
    ]

    private static func count(_ p: [String], _ form: String) throws(ScriptFixupError) -> Int {
        guard p.count == 1, let n = Int(p[0]), n >= 0 else { throw ScriptFixupError("\(form) needs a count") }
        return n
    }

    private static func replaceAll(_ b: [UInt8], _ what: [UInt8], _ with: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            if i + what.count <= b.count, b[i..<(i + what.count)].elementsEqual(what) {
                out += with
                i += what.count
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }

    private static func trim(_ b: [UInt8], left: Bool, right: Bool) -> [UInt8] {
        func blank(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0A }
        var s = b[...]
        if left { while let f = s.first, blank(f) { s = s.dropFirst() } }
        if right { while let l = s.last, blank(l) { s = s.dropLast() } }
        return Array(s)
    }

    /// Builds a transformation; unknown names and bad parameters are load-time errors.
    static func make(_ spec: ScriptTransformSpec) throws(ScriptFixupError) -> ScriptTransform {
        let key = spec.klass + "." + spec.name
        guard let factory = table[key] else { throw ScriptFixupError("unknown transformation '{\(key)}'") }
        let f = try factory(spec.params)
        return ScriptTransform { v, _ in v.isNull ? empty : f(v) }
    }
}
