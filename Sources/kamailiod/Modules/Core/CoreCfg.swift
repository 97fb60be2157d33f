import ScriptEngine

/// The core's runtime parameters (cfg group `core`, Kamailio's names and texts), with
/// start-up values from the script's core settings.
struct CoreCfg: Sendable {
    let debug, memdbg, memlog, maxWhileLoops: CfgIntKey
    let logFacility: CfgStringKey

    init(_ c: CfgStore) {
        let g = "core"
        // The daemon applies a committed debug level to its logger (CfgStore.onCommit).
        debug = c.declareInt(g, "debug", 2, "debug level")
        // syslog is opened once with the facility; Kamailio re-opens it, we need a restart.
        logFacility = c.declareString(g, "log_facility", "LOG_DAEMON", applies: .restart, readable: false,
                                      "syslog facility, see \"man 3 syslog\"")
        // Swift has no private memory pools to debug; kept so scripts and habits carry over.
        memdbg = c.declareInt(g, "memdbg", 3, "log level for memory debugging messages")
        memlog = c.declareInt(g, "memlog", 3, "log level for memory status/summary information")
        maxWhileLoops = c.declareInt(g, "max_while_loops", 100, "maximum iterations allowed for a while loop")
    }

    /// Start-up values from the script (`debug=`, `log_facility=`, `memdbg=`, ...).
    func load(_ core: ScriptCoreConfig, into c: CfgStore) {
        c.setInitial(debug, core.debug)
        c.setInitial(logFacility, core.logFacility)
        c.setInitial(memdbg, core.memdbg)
        c.setInitial(memlog, core.memlog)
        c.setInitial(maxWhileLoops, core.maxWhileLoops)
        // The script's own groups (`group.var = value desc "..."`): listed with the core's,
        // read by `$sel(cfg_get.group.var)` from the message's snapshot.
        for v in core.customVars {
            let text = v.description ?? ""
            switch v.value {
            case .int(let i): _ = c.declareInt(v.group, v.name, module: "core", i, text)
            case .bool(let b): _ = c.declareInt(v.group, v.name, module: "core", b ? 1 : 0, text)
            case .string(let t), .token(let t): _ = c.declareString(v.group, v.name, module: "core", t, text)
            }
        }
    }
}

extension CoreModule {
    /// `cfg_select("group", id)`: the rest of this message uses instance `id` of the group
    /// (`cfg.add_group_inst`); -1 when there is none. `cfg_reset("group")`: back to the
    /// group's own values. Both act on this message's snapshot only.
    static func cfgFunctions(_ store: CfgStore) -> [ScriptFunction] {
        [
            ScriptFunction("cfg_select", arity: 2...2) { ctx, args in
                guard let s = store.snapshot(for: ctx).selecting(ctx.string(args[0]), Int(ctx.int(args[1]))) else { return -1 }
                ctx.cfg = s
                return 1
            },
            ScriptFunction("cfg_reset", arity: 1...1) { ctx, args in
                guard let s = store.snapshot(for: ctx).selecting(ctx.string(args[0]), nil) else { return -1 }
                ctx.cfg = s
                return 1
            },
        ]
    }

    /// Takes the script's core settings as the start-up values of the `core` group.
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        cfg.load(context.script.core, into: runtime.cfg)
    }
}
