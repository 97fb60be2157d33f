#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SIPCore

/// More core pseudo-variables: the SIP version, content type, credentials (`$au`, `$ar`,
/// `$ad`, `$aU`), the original R-URI (`$ou`, `$oU`, `$od`, `$op`), identity headers
/// (`$ai`, `$di`, `$rt`), process facts (`$pp`, `$TS`, `$TF`) and `$msg(...)`.
enum ScriptCorePVsMore {
    private static func ro(_ get: @escaping @Sendable (ScriptContext) -> ScriptValue) -> ScriptCorePVs.Factory {
        { _, _ throws(ScriptFixupError) in ScriptPVAccessor(get: get) }
    }

    private static func str(_ b: some Collection<UInt8>) -> ScriptValue { .str(Array(b)) }

    /// When the engine was first used: `$TS`, Kamailio's start-up time.
    private static let startTime = Int32(truncatingIfNeeded: time(nil))

    /// The first header named `name`, unfolded.
    private static func header(_ ctx: ScriptContext, _ name: String) -> [UInt8]? {
        ctx.message.headers(named: name).first.map { ctx.message.unfoldedValue(of: $0) }
    }

    /// The URI of a name-addr value (`"A" <sip:a@b>;x=y` → `sip:a@b`).
    private static func addressURI(_ v: [UInt8]) -> ScriptValue {
        if let lt = v.firstIndex(of: UInt8(ascii: "<")), let gt = v[lt...].firstIndex(of: UInt8(ascii: ">")) {
            return str(v[(lt + 1)..<gt])
        }
        return str(v.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: ",") })
    }

    /// A parameter of the first Authorization or Proxy-Authorization header (quotes removed).
    static func credential(_ ctx: ScriptContext, _ name: String) -> [UInt8]? {
        guard let v = header(ctx, "authorization") ?? header(ctx, "proxy-authorization") else { return nil }
        // skip the scheme ("Digest ")
        var rest = v.drop { $0 != 32 && $0 != 9 }
        let key = Array(name.utf8)
        while !rest.isEmpty {
            rest = rest.drop { $0 == 32 || $0 == 9 || $0 == UInt8(ascii: ",") }
            let pname = rest.prefix { $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: ",") }
            rest = rest.dropFirst(pname.count)
            var value: ArraySlice<UInt8> = []
            if rest.first == UInt8(ascii: "=") {
                rest = rest.dropFirst().drop { $0 == 32 || $0 == 9 }
                if rest.first == UInt8(ascii: "\"") {
                    value = rest.dropFirst().prefix { $0 != UInt8(ascii: "\"") }
                    rest = rest.dropFirst(value.count + 2)
                } else {
                    value = rest.prefix { $0 != UInt8(ascii: ",") }
                    rest = rest.dropFirst(value.count)
                }
            }
            if SIPBytes.equalsIgnoringCase(pname.filter { $0 != 32 && $0 != 9 }, key) { return Array(value) }
        }
        return nil
    }

    private static func originalURI(_ part: ScriptMessageAccess.URIPart?) -> ScriptCorePVs.Factory {
        ro { ctx in
            guard ctx.message.isRequest else { return .null }
            guard let part else { return str(ctx.message.requestURIBytes) }
            guard let uri = try? ctx.message.requestURI else { return .null }
            switch part {
            case .user: return uri.user.map(str) ?? .null
            case .host: return uri.host.map { str($0.text) } ?? .null
            case .port: return .int(Int32(uri.port ?? 5060))
            case .scheme: return str(uri.schemeBytes)
            case .transport: return uri.transport.map(str) ?? .string("UDP")
            }
        }
    }

    static let table: [String: ScriptCorePVs.Factory] = [
        // $rv: the SIP version of the start line
        "rv": ro { ctx in
            let line = ctx.message.bytes[ctx.message.startLineRange]
            let words = line.split(separator: 32)
            return (ctx.message.isRequest ? words.last : words.first).map(str) ?? .null
        },
        "cT": ro { ctx in ctx.message.contentType.map(str) ?? .null },
        "pp": ro { _ in .int(Int32(getpid())) },
        "TS": ro { _ in .int(startTime) },
        "TF": ro { _ in
            var t = time(nil)
            var buf = [CChar](repeating: 0, count: 32)
            guard ctime_r(&t, &buf) != nil else { return .null }
            return .str(buf.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) })
        },
        // credentials: $aU the whole username, $au its user part, $ad its domain part
        // (empty without one, as 5.6 shows), $ar the realm
        "aU": ro { ctx in credential(ctx, "username").map(str) ?? .null },
        "au": ro { ctx in
            credential(ctx, "username").map { u in str(u.prefix { $0 != UInt8(ascii: "@") }) } ?? .null
        },
        "ad": ro { ctx in
            guard let u = credential(ctx, "username") else { return .null }
            guard let at = u.firstIndex(of: UInt8(ascii: "@")) else { return .str([]) }
            return str(u[(at + 1)...])
        },
        "ar": ro { ctx in credential(ctx, "realm").map(str) ?? .null },
        "ou": originalURI(nil), "oU": originalURI(.user), "od": originalURI(.host),
        "op": originalURI(.port), "oP": originalURI(.transport),
        "ai": ro { ctx in header(ctx, "p-asserted-identity").map(addressURI) ?? .null },
        "di": ro { ctx in header(ctx, "diversion").map(addressURI) ?? .null },
        "re": ro { ctx in header(ctx, "remote-party-id").map(addressURI) ?? .null },
        "rt": ro { ctx in header(ctx, "refer-to").map(addressURI) ?? .null },
        // advertised address: kamailiod advertises the address it listens on unless told
        // otherwise in `listen ... advertise`, which the engine does not see; the
        // receiving socket is the answer for the usual case
        "RAi": ro { .string($0.receive.local.ipString) },
        "RAp": ro { .int(Int32($0.receive.local.port)) },
        "msg": { spec, _ throws(ScriptFixupError) in
            let m: @Sendable (ScriptContext) -> ScriptValue
            switch spec.argument {
            case "len": m = { .int(Int32($0.message.bytes.count)) }
            case "buf": m = { str($0.message.bytes) }
            case "body": m = { str($0.message.body) }
            case "body_len": m = { .int(Int32($0.message.body.count)) }
            case "fline": m = { str($0.message.bytes[$0.message.startLineRange]) }
            case "hdrs": m = { str($0.message.bytes[$0.message.headersStart..<$0.message.headersEnd]) }
            case "hdrc": m = { .int(Int32($0.message.headers.count)) }
            default: throw ScriptFixupError("$msg needs len, buf, body, body_len, fline, hdrs or hdrc")
            }
            return ScriptPVAccessor(get: m)
        },
    ]
}
