import SIPCore

/// SIP-aware and structured transformations: `{uri.*}`, `{nameaddr.*}`, `{tobody.*}`,
/// `{param.value,name}`, `{re.subst,/re/repl/flags}`, `{line.count|at|sw}`.
/// They parse the value each time (the value is per message); a value that does not
/// parse gives `""`, like every failed transformation.
enum ScriptTransformsSIP {
    private static let empty = ScriptValue.str([])

    private static func slice(_ s: ArraySlice<UInt8>?) -> ScriptValue {
        s.map { .str(Array($0)) } ?? empty
    }

    private static func uri(_ part: @escaping @Sendable (SIPURI) -> ScriptValue) -> ScriptTransforms.Factory {
        { _ throws(ScriptFixupError) in { v in
            let b = v.bytes
            guard let u = try? SIPURI(bytes: b[...]) else { return empty }
            return part(u)
        } }
    }

    private static func nameaddr(_ part: @escaping @Sendable (SIPNameAddr) -> ScriptValue) -> ScriptTransforms.Factory {
        { _ throws(ScriptFixupError) in { v in
            let b = v.bytes
            guard let na = try? SIPNameAddr(bytes: b[...]) else { return empty }
            return part(na)
        } }
    }

    /// The text before `<` outside quotes: Kamailio's `{nameaddr.name}` keeps the quotes
    /// and the blank before `<`.
    private static func displayText(_ b: [UInt8]) -> ScriptValue {
        var inQuote = false
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\"), inQuote { i += 2; continue }
            if c == UInt8(ascii: "\"") { inQuote.toggle() }
            if c == UInt8(ascii: "<"), !inQuote { return .str(Array(b[..<i])) }
            i += 1
        }
        return empty
    }

    /// The value of `name` in a `;`-separated parameter list (`a=1;b=2`).
    private static func paramValue(_ b: [UInt8], _ name: [UInt8], _ sep: UInt8) -> ScriptValue {
        for item in b.split(separator: sep) {
            let trimmed = item.drop { $0 == 0x20 || $0 == 0x09 }
            let eq = trimmed.firstIndex(of: UInt8(ascii: "=")) ?? trimmed.endIndex
            let key = trimmed[..<eq].reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            guard SIPBytes.equalsIgnoringCase(Array(key), name) else { continue }
            return eq < trimmed.endIndex ? .str(Array(trimmed[(eq + 1)...])) : empty
        }
        return empty
    }

    /// Lines split at LF; the CR of a CRLF is dropped, as Kamailio's `{line.*}` does.
    private static func lines(_ b: [UInt8]) -> [[UInt8]] {
        var out = b.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line -> [UInt8] in
            line.last == UInt8(ascii: "\r") ? Array(line.dropLast()) : Array(line)
        }
        if out.last?.isEmpty == true { out.removeLast() }
        return out
    }

    /// `class.name` → factory, merged into `ScriptTransforms.table`.
    static let table: [String: ScriptTransforms.Factory] = [
        "uri.user": uri { slice($0.user) },
        "uri.host": uri { slice($0.host?.text) },
        "uri.port": uri { u in u.port.map { .str(ScriptValue.decimal(Int32($0))) } ?? empty },
        "uri.passwd": uri { slice($0.password) },
        "uri.scheme": uri { slice($0.schemeBytes) },
        "uri.transport": uri { slice($0.transport) },
        "uri.params": uri { u in
            guard let first = u.params.first, let last = u.params.last else { return empty }
            let end = last.value?.endIndex ?? last.name.endIndex
            return .str(Array(u.raw[first.name.startIndex..<end]))
        },
        "uri.param": { p throws(ScriptFixupError) in
            guard p.count == 1, !p[0].isEmpty else { throw ScriptFixupError("{uri.param,name} needs a name") }
            let name = p[0]
            return { v in
                let b = v.bytes
                guard let u = try? SIPURI(bytes: b[...]), let param = u.params.first(nameIgnoringCase: name) else { return empty }
                return slice(param.value ?? [])
            }
        },
        "nameaddr.uri": nameaddr { .str(Array($0.uri.raw)) },
        "nameaddr.name": { _ throws(ScriptFixupError) in { v in displayText(v.bytes) } },
        "nameaddr.len": { _ throws(ScriptFixupError) in { v in .int(Int32(truncatingIfNeeded: v.bytes.count)) } },
        "tobody.uri": nameaddr { .str(Array($0.uri.raw)) },
        "tobody.user": nameaddr { slice($0.uri.user) },
        "tobody.host": nameaddr { slice($0.uri.host?.text) },
        "tobody.tag": nameaddr { slice($0.tag) },
        // Kamailio keeps the quotes of a quoted display name here
        "tobody.display": nameaddr { slice($0.displayNameRaw) },
        "re.subst": { p throws(ScriptFixupError) in
            // the expression may itself contain commas, which split the parameters
            let subst = try ScriptRegexSubst(Array(p.joined(separator: ",").utf8))
            return { v in .str(subst.apply(to: v.bytes)) }
        },
        "line.count": { _ throws(ScriptFixupError) in { v in .int(Int32(truncatingIfNeeded: lines(v.bytes).count)) } },
        "line.at": { p throws(ScriptFixupError) in
            guard p.count == 1, let n = Int(p[0]) else { throw ScriptFixupError("{line.at,N} needs an integer") }
            return { v in
                let all = lines(v.bytes)
                let k = n < 0 ? all.count + n : n
                return k >= 0 && k < all.count ? .str(all[k]) : empty
            }
        },
        "line.sw": { p throws(ScriptFixupError) in
            guard p.count == 1 else { throw ScriptFixupError("{line.sw,prefix} needs a prefix") }
            let prefix = Array(p[0].utf8)
            return { v in lines(v.bytes).first { $0.starts(with: prefix) }.map { .str($0) } ?? empty }
        },
        "param.value": { p throws(ScriptFixupError) in
            guard p.count == 1 || p.count == 2, !p[0].isEmpty else {
                throw ScriptFixupError("{param.value,name[,separator]} needs a name")
            }
            let name = Array(p[0].utf8)
            let sep = p.count == 2 ? (p[1].utf8.first ?? UInt8(ascii: ";")) : UInt8(ascii: ";")
            return { v in paramValue(v.bytes, name, sep) }
        },
    ]
}
