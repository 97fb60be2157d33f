import ScriptEngine

/// Formatted logging from the script (Kamailio's `xlog`).
public final class XLogModule: ScriptModule {
    public let name = "xlog"
    public let parameters: [ScriptModuleParameter] = []
    let runtime: CoreRuntime

    public init(runtime: CoreRuntime) { self.runtime = runtime }

    public var functions: [ScriptFunction] {
        let rt = runtime
        @Sendable func write(_ level: CoreLogLevel, _ ctx: ScriptContext, _ fmt: ScriptFixedArg, line: Bool = false) {
            guard rt.logEnabled(level) else { return }
            // xlogl/xdbgl put the cfg line of the call in front, as Kamailio does
            var text = line ? Array("\(ctx.currentLocation?.line ?? 0): ".utf8) : []
            text += ctx.bytes(fmt)
            while let l = text.last, l == 10 || l == 13 { text.removeLast() }
            rt.log(level, "xlog", String(decoding: text, as: UTF8.self))
        }
        // xlog("fmt") logs at L_ERR, as Kamailio's default; xlog("L_X", "fmt") picks the level.
        let levelFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
                if f.arguments.count == 1 { return ScriptFixedArgs([.int(Int32(CoreLogLevel.error.rawValue)), .format(try f.fixupFormat(0))]) }
                let name = try f.fixupString(0)
                guard let l = CoreLogLevel(name: name) else {
                    throw f.error("unknown log level '\(name)' (L_ALERT, L_BUG, L_CRIT, L_ERR, L_WARN, L_NOTICE, L_INFO, L_DBG)", argument: 0)
                }
                return ScriptFixedArgs([.int(Int32(l.rawValue)), .format(try f.fixupFormat(1))])
        }
        var list: [ScriptFunction] = [
            ScriptFunction("xlog", arity: 1...2, fixup: levelFixup) { ctx, args in
                write(CoreLogLevel(rawValue: Int(ctx.int(args[0]))) ?? .error, ctx, args[1])
                return 1
            },
            ScriptFunction("xlogl", arity: 1...2, fixup: levelFixup) { ctx, args in
                write(CoreLogLevel(rawValue: Int(ctx.int(args[0]))) ?? .error, ctx, args[1], line: true)
                return 1
            },
            ScriptFunction("xdbgl", arity: 1...1, fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.format(try f.fixupFormat(0))])
            }) { ctx, args in
                write(.debug, ctx, args[0], line: true)
                return 1
            },
        ]
        let fixed: [(String, CoreLogLevel)] = [("xdbg", .debug), ("xinfo", .info), ("xnotice", .notice),
                                               ("xwarn", .warning), ("xerr", .error), ("xbug", .bug),
                                               ("xcrit", .critical), ("xalert", .alert)]
        for (name, level) in fixed {
            list.append(ScriptFunction(name, arity: 1...1, fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.format(try f.fixupFormat(0))])
            }) { ctx, args in
                write(level, ctx, args[0])
                return 1
            })
        }
        return list
    }
}
