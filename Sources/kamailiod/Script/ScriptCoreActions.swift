import SIPCore

/// The core's own script functions that need nothing but the message context: flags,
/// R-URI rewriting and `log()`. Kamailio builds them into the core (no `loadmodule`),
/// so the loader always offers them, before any module's functions.
enum ScriptCoreActions {
    /// Which flag word a flag function works on.
    private enum FlagSet {
        case message, branch, script
    }

    private static func read(_ set: FlagSet, _ ctx: ScriptContext) -> UInt32 {
        switch set {
        case .message: return ctx.flags
        case .branch: return ctx.branchFlags
        case .script: return ctx.scriptFlags
        }
    }

    private static func write(_ set: FlagSet, _ ctx: ScriptContext, _ value: UInt32) {
        switch set {
        case .message: ctx.flags = value
        case .branch: ctx.branchFlags = value
        case .script: ctx.scriptFlags = value
        }
    }

    /// A flag number fixed at load time: Kamailio accepts 0...31 and rejects the rest
    /// when the script loads.
    private static let flagFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
        var out: [ScriptFixedArg] = []
        if case .expression(let e) = f.arguments[0] {
            out.append(.expression(e))
        } else {
            let n = try f.fixupInt(0)
            guard (0...31).contains(n) else { throw f.error("flag \(n) is out of range (0-31)", argument: 0) }
            out.append(.int(n))
        }
        // setbflag(flag, branch): only branch 0 exists before tm forks
        if f.arguments.count > 1 { out.append(.int(try f.fixupInt(1))) }
        return ScriptFixedArgs(out)
    }

    private static func flagFunctions(_ suffix: String, _ set: FlagSet, testName: String) -> [ScriptFunction] {
        let maxArgs = set == .branch ? 2 : 1
        @Sendable func bit(_ ctx: ScriptContext, _ args: ScriptFixedArgs) -> UInt32? {
            let n = ctx.int(args[0])
            guard (0...31).contains(n), args.count < 2 || ctx.int(args[1]) == 0 else { return nil }
            return UInt32(1) << UInt32(n)
        }
        return [
            ScriptFunction("set" + suffix, arity: 1...maxArgs, fixup: flagFixup) { ctx, args in
                guard let b = bit(ctx, args) else { return -1 }
                write(set, ctx, read(set, ctx) | b)
                return 1
            },
            ScriptFunction("reset" + suffix, arity: 1...maxArgs, fixup: flagFixup) { ctx, args in
                guard let b = bit(ctx, args) else { return -1 }
                write(set, ctx, read(set, ctx) & ~b)
                return 1
            },
            // Observed on 5.6: isflagset() as a plain statement leaves $rc as it was.
            ScriptFunction(testName, arity: 1...maxArgs, updatesReturnCode: false, fixup: flagFixup) { ctx, args in
                guard let b = bit(ctx, args) else { return -1 }
                return read(set, ctx) & b != 0 ? 1 : -1
            },
        ]
    }

    /// A `km_append_branch` call site bound to the module function that does the work.
    private struct BranchCall: Sendable {
        let function: ScriptFunction
        let args: ScriptFixedArgs
    }

    /// The R-URI split into scheme, user part and host part (the user part is `user[:password]`,
    /// the host part `host[:port]`), as byte offsets into `bytes`.
    struct URIParts {
        /// The URI text.
        var bytes: [UInt8]
        /// End of the scheme (index of the first `:`).
        var schemeEnd: Int
        /// The user part, nil when the URI has no `@`.
        var user: Range<Int>?
        /// `host[:port]`.
        var hostPort: Range<Int>

        init?(_ bytes: [UInt8]) {
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            self.bytes = bytes
            schemeEnd = colon
            let start = colon + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: ";"), bytes[end] != UInt8(ascii: "?") { end += 1 }
            if let at = bytes[start..<end].lastIndex(of: UInt8(ascii: "@")) {
                user = start..<at
                hostPort = (at + 1)..<end
            } else {
                hostPort = start..<end
            }
        }

        /// The host part without the port.
        var host: Range<Int> {
            let hp = bytes[hostPort]
            if hp.first == UInt8(ascii: "[") , let close = hp.firstIndex(of: UInt8(ascii: "]")) {
                return hostPort.lowerBound..<(close + 1)
            }
            return hostPort.lowerBound..<(hp.firstIndex(of: UInt8(ascii: ":")) ?? hostPort.upperBound)
        }

        /// The user name without a password.
        var userName: Range<Int>? {
            guard let user else { return nil }
            return user.lowerBound..<(bytes[user].firstIndex(of: UInt8(ascii: ":")) ?? user.upperBound)
        }

        /// The URI with `range` replaced.
        func replacing(_ range: Range<Int>, with new: [UInt8]) -> [UInt8] {
            Array(bytes[..<range.lowerBound]) + new + Array(bytes[range.upperBound...])
        }

        /// The URI with the user part set (or removed when `new` is empty).
        func withUser(_ new: [UInt8]) -> [UInt8] {
            if let user {
                if new.isEmpty { return replacing(user.lowerBound..<(user.upperBound + 1), with: []) }
                return replacing(user, with: new)
            }
            guard !new.isEmpty else { return bytes }
            return replacing((schemeEnd + 1)..<(schemeEnd + 1), with: new + [UInt8(ascii: "@")])
        }
    }

    private static func rewrite(_ name: String, _ alias: String?, arity: ClosedRange<Int> = 1...1,
                                _ edit: @escaping @Sendable (URIParts, [UInt8]) -> [UInt8]?) -> [ScriptFunction] {
        let fn: @Sendable (ScriptContext, ScriptFixedArgs) -> Int32 = { ctx, args in
            guard ctx.message.isRequest, let parts = URIParts(ctx.requestURIBytes),
                  let out = edit(parts, args.count > 0 ? ctx.bytes(args[0]) : []) else { return -1 }
            ctx.setRequestURI(out)
            return 1
        }
        let routes: ScriptRouteMask = [.request, .failure, .branch]
        var list = [ScriptFunction(name, arity: arity, routes: routes, run: fn)]
        if let alias { list.append(ScriptFunction(alias, arity: arity, routes: routes, run: fn)) }
        return list
    }

    /// Every core action, registered by the loader before module functions.
    static let functions: [ScriptFunction] = {
        var list: [ScriptFunction] = []
        list += flagFunctions("flag", .message, testName: "isflagset")
        list += flagFunctions("bflag", .branch, testName: "isbflagset")
        list += flagFunctions("sflag", .script, testName: "issflagset")
        list += rewrite("rewriteuser", "setuser") { p, v in p.withUser(v) }
        // rewriteuserpass("user:pw") replaces user and password together (observed on 5.6)
        list += rewrite("rewriteuserpass", "setuserpass") { p, v in p.withUser(v) }
        list += rewrite("rewritehost", "sethost") { p, v in v.isEmpty ? nil : p.replacing(p.host, with: v) }
        list += rewrite("rewritehostport", "sethostport") { p, v in v.isEmpty ? nil : p.replacing(p.hostPort, with: v) }
        list += rewrite("rewriteport", "setport") { p, v in
            let h = p.host
            return p.replacing(h.upperBound..<p.hostPort.upperBound, with: v.isEmpty ? [] : [UInt8(ascii: ":")] + v)
        }
        list += rewrite("rewriteuri", "seturi") { _, v in v.isEmpty ? nil : v }
        // prefix("00"): put text in front of the user part; strip(n)/strip_tail(n) cut it
        list += rewrite("prefix", nil) { p, v in
            let u = p.userName.map { Array(p.bytes[$0]) } ?? []
            return p.userName.map { p.replacing($0, with: v + u) } ?? p.withUser(v)
        }
        list += rewrite("strip", nil) { p, v in
            guard let u = p.userName else { return nil }
            let n = Int(ScriptValue.parseInt(v[...]) ?? 0)
            return p.replacing(u, with: Array(p.bytes[u].dropFirst(max(0, n))))
        }
        list += rewrite("strip_tail", nil) { p, v in
            guard let u = p.userName else { return nil }
            let n = Int(ScriptValue.parseInt(v[...]) ?? 0)
            return p.replacing(u, with: Array(p.bytes[u].dropLast(max(0, n))))
        }
        // is_myself("sip:host:port"): kex's function; offered by the core here, because the
        // kex module object belongs to the control interface
        list.append(ScriptFunction("is_myself", arity: 1...1, fixup: { f throws(ScriptError) in
            ScriptFixedArgs([.format(try f.fixupFormat(0))])
        }) { ctx, args in
            let text = ctx.bytes(args[0])
            if let uri = try? SIPURI(bytes: text[...]), let host = uri.host {
                return ctx.services.isMyself(host: host.text, port: uri.port) ? 1 : -1
            }
            return ctx.services.isMyself(host: text[...], port: nil) ? 1 : -1
        })
        // km_append_branch([uri[, q]]): kex's name for append_branch, which tm provides
        // here; the call goes to whichever append_branch the loaded modules export.
        list.append(ScriptFunction("km_append_branch", arity: 0...2, routes: [.request, .failure],
                                   fixup: { f throws(ScriptError) in
            let n = f.arguments.count
            guard let target = f.symbols.functions["append_branch"]?.first(where: { $0.minArgs <= n && n <= $0.maxArgs })
            else { throw f.error("km_append_branch needs append_branch (loadmodule \"tm.so\")") }
            let inner = ScriptFixupContext(functionName: "append_branch", arguments: f.arguments, location: f.location,
                                           argumentLocations: f.argumentLocations, symbols: f.symbols)
            let args: ScriptFixedArgs
            if let fixup = target.fixup { args = try fixup(inner) } else { args = try inner.defaultArgs() }
            return ScriptFixedArgs([.custom(BranchCall(function: target, args: args))])
        }) { ctx, args in
            guard let call = args.custom(0, as: BranchCall.self) else { return -1 }
            return call.function.run(ctx, call.args)
        })
        list.append(ScriptFunction("setdsturi", arity: 1...1, routes: [.request, .failure, .branch]) { ctx, args in
            let d = ctx.bytes(args[0])
            guard (try? SIPURI(bytes: d[...])) != nil else { return -1 }
            ctx.destinationURI = d
            return 1
        })
        list.append(ScriptFunction("resetdsturi", arity: 0...0, routes: [.request, .failure, .branch]) { ctx, _ in
            ctx.destinationURI = nil
            return 1
        })
        list.append(ScriptFunction("isdsturiset", arity: 0...0) { ctx, _ in ctx.destinationURI == nil ? -1 : 1 })
        // TCP connection controls: kamailiod closes nothing early, so these only succeed
        for name in ["set_reply_close", "set_forward_close", "set_reply_no_connect", "set_forward_no_connect"] {
            list.append(ScriptFunction(name, arity: 0...0) { _, _ in 1 })
        }
        list.append(ScriptFunction("revert_uri", arity: 0...0, routes: [.request, .failure, .branch]) { ctx, _ in
            ctx.revertRequestURI()
            return 1
        })
        // log("text") logs at L_ERR like Kamailio; log(level, "text") takes the numeric level.
        // The text is not a format: pseudo-variables stay as written.
        list.append(ScriptFunction("log", arity: 1...2, fixup: { f throws(ScriptError) in
            if f.arguments.count == 1 { return ScriptFixedArgs([.int(-1), .string(Array(try f.fixupString(0).utf8))]) }
            return ScriptFixedArgs([.int(try f.fixupInt(0)), .string(Array(try f.fixupString(1).utf8))])
        }) { ctx, args in
            var text = ctx.bytes(args[1])
            while let l = text.last, l == 10 || l == 13 { text.removeLast() }
            ctx.log(level: ctx.int(args[0]), String(decoding: text, as: UTF8.self))
            return 1
        })
        return list
    }()
}
