#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SIPCore
import SIPTransport

/// The core pseudo-variables. Each entry builds an accessor for one written occurrence;
/// names that need an argument check it here, at load time.
enum ScriptCorePVs {
    /// Builds an accessor for one occurrence.
    typealias Factory = @Sendable (ScriptPVSpec, ScriptSymbols) throws(ScriptFixupError) -> ScriptPVAccessor

    private static func ro(_ get: @escaping @Sendable (ScriptContext) -> ScriptValue) -> Factory {
        { _, _ throws(ScriptFixupError) in ScriptPVAccessor(get: get) }
    }

    private static func int(_ v: some BinaryInteger) -> ScriptValue { .int(Int32(truncatingIfNeeded: v)) }

    private static func from(_ part: ScriptMessageAccess.AddressPart) -> Factory {
        address(to: false, part)
    }

    private static func to(_ part: ScriptMessageAccess.AddressPart) -> Factory {
        address(to: true, part)
    }

    /// From/To parts; all but the tag can be assigned (recorded as message edits).
    private static func address(to: Bool, _ part: ScriptMessageAccess.AddressPart) -> Factory {
        let setter: (@Sendable (ScriptContext, ScriptValue, Bool) -> Void)?
        if part == .tag {
            setter = nil
        } else {
            setter = { ctx, v, _ in ScriptMessageAccess.setAddress(ctx, to: to, part, v) }
        }
        let accessor = ScriptPVAccessor(get: { ScriptMessageAccess.address($0, to: to, part) }, set: setter)
        return { _, _ throws(ScriptFixupError) in accessor }
    }

    private static func firstHeader(_ kind: SIPHeaderKind) -> Factory {
        ro { ctx in ctx.message.firstHeader(kind).map { .str(ctx.message.unfoldedValue(of: $0)) } ?? .null }
    }

    /// Name → factory. Module pseudo-variables are looked up after these.
    static let table: [String: Factory] = baseTable.merging(ScriptCorePVsMore.table) { a, _ in a }

    /// The pseudo-variables defined in this file.
    private static let baseTable: [String: Factory] = [
        "null": ro { _ in .null },
        "rm": ro(ScriptMessageAccess.method),
        "ru": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { ctx in ctx.message.isRequest ? .str(ctx.requestURIBytes) : .null },
                             set: { ctx, v, _ in if ctx.message.isRequest, !v.isNull { ctx.setRequestURI(v.bytes) } })
        },
        "rU": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { ScriptMessageAccess.requestURI($0, .user) },
                             set: { ctx, v, _ in ScriptMessageAccess.setRequestUser(ctx, v.bytes) })
        },
        "rd": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { ScriptMessageAccess.requestURI($0, .host) },
                             set: { ctx, v, _ in if !v.bytes.isEmpty { ScriptMessageAccess.setRequestHost(ctx, v.bytes) } })
        },
        "rp": ro { ScriptMessageAccess.requestURI($0, .port) },
        "rz": ro { ScriptMessageAccess.requestURI($0, .scheme) },
        "rP": ro { ScriptMessageAccess.requestURI($0, .transport) },
        "si": ro { .string($0.receive.source.ipString) },
        "sp": ro { int($0.receive.source.port) },
        "Ri": ro { .string($0.receive.local.ipString) },
        "Rp": ro { int($0.receive.local.port) },
        "proto": ro { .string($0.receive.proto.name) },
        "pr": ro { .string($0.receive.proto.name) },
        "ci": ro { ScriptMessageAccess.slice($0.message.callID) },
        "fu": from(.uri), "fU": from(.user), "fd": from(.host), "ft": from(.tag), "fn": from(.displayName),
        "tu": to(.uri), "tU": to(.user), "td": to(.host), "tt": to(.tag), "tn": to(.displayName),
        "cs": ro { ctx in (try? ctx.message.cseq()).flatMap { $0.map { int($0.number) } } ?? .null },
        "ua": ro { ScriptMessageAccess.slice($0.message.userAgent) },
        "ct": firstHeader(.contact),
        "du": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { ctx in ctx.destinationURI.map { .str($0) } ?? .null },
                             set: { ctx, v, _ in ctx.destinationURI = v.isNull || v.bytes.isEmpty ? nil : v.bytes })
        },
        "rs": ro { $0.message.isRequest ? .null : int($0.message.statusCode) },
        "rr": ro { $0.message.isRequest ? .null : .str(Array($0.message.reasonPhrase)) },
        "mb": ro { .str(Array($0.message.bytes)) },
        "ml": ro { int($0.message.bytes.count) },
        "rb": ro { .str(Array($0.message.body)) },
        "cl": ro { ctx in (try? ctx.message.contentLength()).flatMap { $0.map { int($0) } } ?? .null },
        "mt": ro { $0.message.isRequest ? .int(1) : .int(2) },
        "rc": ro { .int($0.returnCode) },
        "retcode": ro { .int($0.returnCode) },
        "Ts": ro { _ in int(time(nil)) },
        "Tf": ro { _ in
            var t = time(nil)
            var buf = [CChar](repeating: 0, count: 32)
            // ctime_r's fixed layout, newline dropped, as Kamailio prints $Tf
            guard ctime_r(&t, &buf) != nil else { return .null }
            return .str(buf.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) })
        },
        "TV": { spec, _ throws(ScriptFixupError) in try timeValue(spec) },
        "time": { spec, _ throws(ScriptFixupError) in try brokenDownTime(spec) },
        "mf": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { .int(Int32(bitPattern: $0.flags)) },
                             set: { ctx, v, _ in ctx.flags = UInt32(bitPattern: v.intValue) })
        },
        "bf": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { .int(Int32(bitPattern: $0.branchFlags)) },
                             set: { ctx, v, _ in ctx.branchFlags = UInt32(bitPattern: v.intValue) })
        },
        "sf": { _, _ throws(ScriptFixupError) in
            ScriptPVAccessor(get: { .int(Int32(bitPattern: $0.scriptFlags)) },
                             set: { ctx, v, _ in ctx.scriptFlags = UInt32(bitPattern: v.intValue) })
        },
        "dd": ro { ctx in destinationPart(ctx) { .str(Array($0.host?.text ?? [])) } },
        "dp": ro { ctx in destinationPart(ctx) { int($0.port ?? 5060) } },
        "hdr": { spec, _ throws(ScriptFixupError) in try header(spec) },
        "hdrc": { spec, _ throws(ScriptFixupError) in
            guard let name = spec.argument, !name.isEmpty else { throw ScriptFixupError("$hdrc needs a header name") }
            let kind = SIPHeaderKind(name: name)
            let bytes = Array(name.utf8)
            return ScriptPVAccessor(get: { ctx in
                int(kind == .other ? ctx.message.headers(named: bytes).count : ctx.message.headers(kind).count)
            })
        },
        "var": { spec, symbols throws(ScriptFixupError) in
            guard let name = spec.argument, !name.isEmpty else { throw ScriptFixupError("$var needs a name") }
            let id = symbols.varID(name)
            return ScriptPVAccessor(get: { ctx in id < ctx.worker.vars.count ? ctx.worker.vars[id] : .int(0) },
                                    set: { ctx, v, _ in
                                        // Kamailio stores 0 when $null is assigned to a $var
                                        if id < ctx.worker.vars.count { ctx.worker.vars[id] = v.isNull ? .int(0) : v }
                                    })
        },
        "avp": { spec, _ throws(ScriptFixupError) in try avp(spec) },
        "xavp": { spec, _ throws(ScriptFixupError) in try ScriptXAVP.accessor(spec) },
        "sel": { spec, symbols throws(ScriptFixupError) in try select(spec, symbols.core) },
        "cfg": { spec, _ throws(ScriptFixupError) in
            switch spec.argument {
            case "line": return ScriptPVAccessor(get: { int($0.currentLocation?.line ?? 0) })
            case "file": return ScriptPVAccessor(get: { .string($0.currentLocation?.file ?? "") })
            case "name", "route": return ScriptPVAccessor(get: { .string($0.currentRoute) })
            default: throw ScriptFixupError("$cfg needs line, file or route")
            }
        },
    ]

    private static func destinationPart(_ ctx: ScriptContext, _ part: (SIPURI) -> ScriptValue) -> ScriptValue {
        guard let du = ctx.destinationURI, let uri = try? SIPURI(bytes: du[...]) else { return .null }
        return part(uri)
    }

    /// `$TV(s)`, `$TV(u)`, `$TV(sn)`, `$TV(un)`: wall-clock seconds and microseconds.
    /// (Kamailio caches `s`/`u` per message; we read the clock on each access.)
    private static func timeValue(_ spec: ScriptPVSpec) throws(ScriptFixupError) -> ScriptPVAccessor {
        let micro: Bool
        switch spec.argument {
        case "s", "sn": micro = false
        case "u", "un": micro = true
        default: throw ScriptFixupError("$TV needs s, u, sn or un")
        }
        return ScriptPVAccessor(get: { _ in
            var tv = timeval()
            gettimeofday(&tv, nil)
            return micro ? int(tv.tv_usec) : int(tv.tv_sec)
        })
    }

    /// `$time(name)`: a field of the local time (`sec`, `min`, `hour`, `mday`, `mon`
    /// 1-12, `year` full, `wday` 1-7, `yday` 1-366, `isdst`).
    private static func brokenDownTime(_ spec: ScriptPVSpec) throws(ScriptFixupError) -> ScriptPVAccessor {
        let fields: [String: @Sendable (tm) -> Int32] = [
            "sec": { $0.tm_sec }, "min": { $0.tm_min }, "hour": { $0.tm_hour }, "mday": { $0.tm_mday },
            "mon": { $0.tm_mon + 1 }, "year": { $0.tm_year + 1900 }, "wday": { $0.tm_wday + 1 },
            "yday": { $0.tm_yday + 1 }, "isdst": { $0.tm_isdst },
        ]
        guard let name = spec.argument, let field = fields[name] else {
            throw ScriptFixupError("unknown $time field")
        }
        return ScriptPVAccessor(get: { _ in
            var t = time(nil)
            var parts = tm()
            guard localtime_r(&t, &parts) != nil else { return .null }
            return .int(field(parts))
        })
    }

    /// `$sel(cfg_get.group.var)`: a custom cfg variable (`group.var = value desc "..."`).
    /// Only this select is supported; the value is the one of the message's cfg snapshot
    /// (so `cfg.set` changes show from the next message on), else the script's own.
    private static func select(_ spec: ScriptPVSpec, _ core: ScriptCoreConfig) throws(ScriptFixupError) -> ScriptPVAccessor {
        let parts = (spec.argument ?? "").split(separator: ".", maxSplits: 2).map(String.init)
        guard parts.count == 3, parts[0] == "cfg_get" else {
            throw ScriptFixupError("only $sel(cfg_get.group.var) is supported")
        }
        guard let v = core.customVars.first(where: { $0.group == parts[1] && $0.name == parts[2] }) else {
            throw ScriptFixupError("no cfg variable '\(parts[1]).\(parts[2])' is declared")
        }
        let value: ScriptValue
        switch v.value {
        case .int(let i): value = .int(Int32(truncatingIfNeeded: i))
        case .bool(let b): value = .int(b ? 1 : 0)
        case .string(let t), .token(let t): value = .string(t)
        }
        let (group, name) = (parts[1], parts[2])
        return ScriptPVAccessor(get: { ctx in
            switch ctx.cfg?.value(group: group, name: name) {
            case .int(let i)?: return .int(Int32(truncatingIfNeeded: i))
            case .string(let s)?: return s.map { .string($0) } ?? .null
            case nil: return value
            }
        })
    }

    private static func header(_ spec: ScriptPVSpec) throws(ScriptFixupError) -> ScriptPVAccessor {
        guard let name = spec.argument, !name.isEmpty else { throw ScriptFixupError("$hdr needs a header name") }
        let kind = SIPHeaderKind(name: name)
        let bytes = Array(name.utf8)
        let index: ScriptHeaderIndex
        switch spec.index {
        case nil: index = .first
        case .all: index = .all
        case .int(let i): index = .fixed(i)
        case .pv: index = .first // replaced by the symbol table, which can compile the index pv
        }
        return ScriptPVAccessor(get: { ScriptMessageAccess.header($0, name: bytes, kind: kind, index: index) })
    }

    /// `$hdr(name)[$pv]`: the index variable is compiled by the caller.
    static func header(_ spec: ScriptPVSpec, dynamicIndex: ScriptCompiledPV) throws(ScriptFixupError) -> ScriptPVAccessor {
        guard let name = spec.argument, !name.isEmpty else { throw ScriptFixupError("$hdr needs a header name") }
        let kind = SIPHeaderKind(name: name)
        let bytes = Array(name.utf8)
        return ScriptPVAccessor(get: {
            ScriptMessageAccess.header($0, name: bytes, kind: kind, index: .dynamic(dynamicIndex))
        })
    }

    /// `$avp(name)`: assignment pushes a new value (also with an index); `$null` removes
    /// the newest value; `:=` replaces all values.
    private static func avp(_ spec: ScriptPVSpec) throws(ScriptFixupError) -> ScriptPVAccessor {
        guard var name = spec.argument, !name.isEmpty else { throw ScriptFixupError("$avp needs a name") }
        if name.hasPrefix("s:") || name.hasPrefix("i:") { name = String(name.dropFirst(2)) }
        let key = name
        var position = 0
        var all = false
        switch spec.index {
        case .int(let i): position = i
        case .all: all = true
        case .pv, nil: break
        }
        let index = position
        let joinAll = all
        return ScriptPVAccessor(get: { ctx in
            guard let values = ctx.avps[key], !values.isEmpty else { return .null }
            if joinAll {
                var out: [UInt8] = []
                for (i, v) in values.enumerated() {
                    // Kamailio 5.6 joins AVP values with ", " (headers with ",")
                    if i > 0 { out += [UInt8(ascii: ","), UInt8(ascii: " ")] }
                    out += v.bytes
                }
                return .str(out)
            }
            let k = index < 0 ? values.count + index : index
            return k >= 0 && k < values.count ? values[k] : .null
        }, set: { ctx, v, isColon in
            if v.isNull {
                if ctx.avps[key]?.isEmpty == false { ctx.avps[key]?.removeFirst() }
                return
            }
            if isColon {
                ctx.avps[key] = [v]
            } else {
                ctx.avps[key, default: []].insert(v, at: 0)
            }
        })
    }
}
