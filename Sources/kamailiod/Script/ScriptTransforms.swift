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

    /// `class.name` → factory.
    static let table: [String: Factory] = [
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
                let end = len == 0 ? b.count : start + len
                guard end <= b.count else { return empty }
                return .str(Array(b[start..<end]))
            }
        },
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
