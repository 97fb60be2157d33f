import SIPCore
import ScriptEngine

/// siputils' URI and string checks. Codes follow Kamailio 5.6, where "false" is not
/// always -1 (`is_numeric` gives -2, `is_alphanum` -3).
extension SipUtilsModule {
    /// `+` and 2 to 15 digits (ITU-T E.164 as siputils checks it).
    static func isE164<C: Collection<UInt8>>(_ s: C) -> Bool {
        guard s.first == UInt8(ascii: "+"), (3...16).contains(s.count) else { return false }
        return s.dropFirst().allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    private static func formats(_ f: ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        var out: [ScriptFixedArg] = []
        for i in f.arguments.indices { out.append(.format(try f.fixupFormat(i))) }
        return ScriptFixedArgs(out)
    }

    /// The username of the first Authorization or Proxy-Authorization header.
    static func credentialsUser(_ msg: SIPMessage) -> [UInt8]? {
        let fields = msg.headers(named: "authorization") + msg.headers(named: "proxy-authorization")
        guard let field = fields.first else { return nil }
        let v = Array(msg.value(of: field))
        let key = Array("username".utf8)
        var i = 0
        while i + key.count < v.count {
            if v[i..<(i + key.count)].map({ $0 | 0x20 }).elementsEqual(key) {
                var j = i + key.count
                while j < v.count, v[j] == 32 || v[j] == 9 { j += 1 }
                if j < v.count, v[j] == UInt8(ascii: "=") {
                    j += 1
                    while j < v.count, v[j] == 32 || v[j] == 9 { j += 1 }
                    if j < v.count, v[j] == UInt8(ascii: "\"") {
                        let start = j + 1
                        let end = v[start...].firstIndex(of: UInt8(ascii: "\"")) ?? v.count
                        return Array(v[start..<end])
                    }
                    return Array(v[j...].prefix { $0 != UInt8(ascii: ",") && $0 != 32 })
                }
            }
            i += 1
        }
        return nil
    }

    /// The checks, appended to the module's functions.
    static var checkFunctions: [ScriptFunction] {
        let fx: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            try formats(f)
        }
        return [
            ScriptFunction("is_e164", arity: 1...1, fixup: fx) { ctx, args in isE164(ctx.bytes(args[0])) ? 1 : -1 },
            // is_uri_user_e164(uri): the user part of a SIP/tel URI is E.164
            ScriptFunction("is_uri_user_e164", arity: 1...1, fixup: fx) { ctx, args in
                guard let uri = try? SIPURI(bytes: ctx.bytes(args[0])[...]), let u = uri.user else { return -1 }
                return isE164(u) ? 1 : -1
            },
            ScriptFunction("is_numeric", arity: 1...1, fixup: fx) { ctx, args in
                let s = ctx.bytes(args[0])
                return !s.isEmpty && s.allSatisfy { $0 >= 48 && $0 <= 57 } ? 1 : -2
            },
            ScriptFunction("is_alphanum", arity: 1...1, fixup: fx) { ctx, args in
                let s = ctx.bytes(args[0])
                let ok = !s.isEmpty && s.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) }
                return ok ? 1 : -3
            },
            ScriptFunction("is_uri", arity: 1...1, fixup: fx) { ctx, args in
                (try? SIPURI(bytes: ctx.bytes(args[0])[...])) == nil ? -1 : 1
            },
            // is_user("alice"): the username in the credentials
            ScriptFunction("is_user", arity: 1...1, routes: [.request, .failure], fixup: fx) { ctx, args in
                guard let u = credentialsUser(ctx.message) else { return -1 }
                return u == ctx.bytes(args[0]) ? 1 : -1
            },
            // uri_param("name"[, "value"]): the R-URI has the parameter (with that value)
            ScriptFunction("uri_param", arity: 1...2, routes: [.request, .failure, .branch], fixup: fx) { ctx, args in
                guard let uri = ctx.requestURI else { return -1 }
                let name = ctx.bytes(args[0])
                guard let p = uri.params.first(where: { SIPBytes.equalsIgnoringCase($0.name, name) }) else { return -1 }
                // Observed on 5.6: the one-argument form matches only a parameter
                // without a value (";lr"), not ";transport=udp"
                guard args.count > 1 else { return p.value == nil ? 1 : -1 }
                return p.value.map { $0.elementsEqual(ctx.bytes(args[1])) } ?? false ? 1 : -1
            },
            // add_uri_param("name=value"): appended to the R-URI, refused when it has headers
            ScriptFunction("add_uri_param", arity: 1...1, routes: [.request], fixup: fx) { ctx, args in
                let p = ctx.bytes(args[0])
                guard !p.isEmpty, ctx.message.isRequest else { return -1 }
                let uri = ctx.requestURIBytes
                guard !uri.contains(UInt8(ascii: "?")) else { return -1 }
                ctx.setRequestURI(uri + [UInt8(ascii: ";")] + p)
                return 1
            },
            // cmp_uri(a, b): equal by RFC 3261 §19.1.4 rules; -1 different, -2 unparsable
            ScriptFunction("cmp_uri", arity: 2...2, fixup: fx) { ctx, args in
                guard let a = try? SIPURI(bytes: ctx.bytes(args[0])[...]),
                      let b = try? SIPURI(bytes: ctx.bytes(args[1])[...]) else { return -2 }
                return a.isEquivalent(to: b) ? 1 : -1
            },
            // is_uri_host_local(): Kamailio's domain module checks the R-URI host against its
            // domain table; kamailiod has no domain table, so the host must name this server
            ScriptFunction("is_uri_host_local", arity: 0...0, routes: [.request, .failure, .branch]) { ctx, _ in
                guard let host = ctx.requestURI?.host else { return -1 }
                return ctx.services.isMyself(host: host.text, port: nil) ? 1 : -1
            },
            ScriptFunction("is_request", arity: 0...0) { ctx, _ in ctx.message.isRequest ? 1 : -1 },
            ScriptFunction("is_reply", arity: 0...0) { ctx, _ in ctx.message.isRequest ? -1 : 1 },
        ]
    }
}
