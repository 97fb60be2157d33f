import ScriptEngine

/// Every module built into kamailiod, wired to one runtime. `loadmodule "x.so"` picks
/// from this list; the core module is always on.
public struct BuiltinModuleSet: Sendable {
    public let runtime: CoreRuntime
    public let core: CoreModule
    public let sl: SLModule
    /// ctl (binrpc control socket) settings, read by the daemon to open its servers.
    public let ctl: CtlModule
    /// jsonrpcs (FIFO and datagram) settings, read by the daemon to open its servers.
    public let jsonrpcs: JSONRPCSModule
    /// tm (transactions): the daemon hands it replies first and starts its timers.
    public let tm: TMModule
    /// usrloc: the location tables, for the control interface (`ul.*`).
    public let usrloc: UsrlocModule
    /// cfg_rpc: the runtime-configuration table; the daemon binds `core.debug` to its logger.
    public let cfgRPC: CfgRPCModule
    /// tls: the daemon registers its stream factory for `listen=tls:`.
    public let tls: TLSModule
    /// debugger: the step debugger and per-module log levels (`levels` feeds the logger).
    public let debugger: DebuggerModule
    public let all: [any ScriptModule]

    public init(runtime: CoreRuntime, logLevels: ModuleLogLevels = ModuleLogLevels()) {
        self.runtime = runtime
        core = CoreModule(runtime: runtime)
        sl = SLModule(runtime: runtime)
        ctl = CtlModule()
        jsonrpcs = JSONRPCSModule()
        tm = TMModule(runtime: runtime)
        usrloc = UsrlocModule(runtime: runtime)
        cfgRPC = CfgRPCModule(runtime: runtime)
        tls = TLSModule(runtime: runtime)
        debugger = DebuggerModule(runtime: runtime, levels: logLevels)
        let auth = AuthModule(runtime: runtime, sl: sl)
        let rr = RRModule(runtime: runtime)
        all = [
            core, sl,
            MaxFwdModule(cfg: runtime.cfg),
            SanityModule(runtime: runtime, sl: sl),
            SipUtilsModule(),
            TextOpsModule(),
            XLogModule(runtime: runtime),
            PVModule(),
            rr,
            usrloc, RegistrarModule(runtime: runtime, sl: sl, usrloc: usrloc), DBSQLiteModule(),
            auth, AuthDBModule(runtime: runtime, auth: auth),
            ctl, jsonrpcs, KexModule(), CorexModule(),
            tm, DialogModule(tm: tm, rr: rr), TMXModule(),
            HTableModule(runtime: runtime), TextOpsXModule(),
            cfgRPC, tls, ConnectionAliasModule(runtime: runtime), debugger,
        ]
    }
}
