import SIPCore
import SIPTransport
import Synchronization

/// A script ready to run: core parameters, enabled modules and compiled routes.
/// Shared read-only by all workers; per-message state lives in `ScriptContext`,
/// per-worker state (`$var`) in `ScriptWorkerState`.
public final class LoadedScript: Sendable {
    /// Typed core parameters.
    public let core: ScriptCoreConfig
    /// Enabled modules in load order (core modules first).
    public let modules: [any ScriptModule]
    /// `loadpath`/`mpath` directories as written (informational).
    public let loadPaths: [String]
    /// Compiled routes, indexed like `routeRefs`.
    let routes: [ScriptCompiledRoute]
    /// Route references in table order.
    let routeRefs: [ScriptRouteRef]
    /// `$var` names by slot.
    let varNames: [String]
    /// `max_while_loops`, read per loop.
    let maxWhileLoops: Int
    /// Module pseudo-variables, for formats compiled after load.
    let modulePVs: [String: ScriptPVDefinition]
    /// Functions by name, for expressions compiled after load (the debugger's `eval`).
    let functionTable: [String: [ScriptFunction]]
    /// The files the script was read from, main file first, then included files in the
    /// order they were read (what the debugger can show as source).
    public let sourceFiles: [String]
    /// Whether a hook provider is installed: one relaxed load per message when not.
    private let hookEnabled = Atomic<Bool>(false)
    private let hookProvider = Mutex<(any ScriptDebugHookProvider)?>(nil)
    private let lookup: [ScriptRouteType: [String: Int]]
    /// The main `request_route` and `reply_route`, looked up once: every message needs
    /// one of them, and a lookup by name builds and hashes a String.
    private let mainRequest: ScriptRouteRef?
    private let mainReply: ScriptRouteRef?
    /// Core settings, modules and modparams as loaded: what a reload may not change.
    let restartSignature: ScriptRestartSignature

    /// Made by `ScriptLoader`.
    init(core: ScriptCoreConfig, modules: [any ScriptModule], loadPaths: [String],
         routes: [ScriptCompiledRoute], refs: [ScriptRouteRef], varNames: [String],
         modulePVs: [String: ScriptPVDefinition], functionTable: [String: [ScriptFunction]] = [:],
         sourceFiles: [String] = [], restartSignature: ScriptRestartSignature = ScriptRestartSignature()) {
        self.restartSignature = restartSignature
        self.core = core
        self.modules = modules
        self.loadPaths = loadPaths
        self.routes = routes
        self.routeRefs = refs
        self.varNames = varNames
        self.modulePVs = modulePVs
        self.functionTable = functionTable
        self.sourceFiles = sourceFiles
        maxWhileLoops = core.maxWhileLoops
        var lookup: [ScriptRouteType: [String: Int]] = [:]
        for r in refs { lookup[r.type, default: [:]][r.name] = r.index }
        self.lookup = lookup
        mainRequest = lookup[.request]?[""].map { refs[$0] }
        mainReply = lookup[.onreply]?[""].map { refs[$0] }
    }

    /// The route of a family and name (`""` for the main block), if the script has it.
    public func route(_ type: ScriptRouteType, _ name: String = "") -> ScriptRouteRef? {
        lookup[type]?[name].map { routeRefs[$0] }
    }

    /// True when the script defines that route.
    public func hasRoute(_ type: ScriptRouteType, _ name: String = "") -> Bool {
        route(type, name) != nil
    }

    /// All routes, in file order (for the debugger and RPC listings).
    public var allRoutes: [ScriptRouteRef] { routeRefs }

    /// Compiles a format string after load (the core's `log_prefix`, RPC-driven logging).
    /// `$var` names not used by the script read as 0.
    public func compileFormat(_ text: String) throws(ScriptError) -> ScriptFormat {
        let symbols = ScriptSymbols(core: core)
        for name in varNames { _ = symbols.varID(name) }
        symbols.modulePVs = modulePVs
        return try ScriptFormat.compile(text, symbols: symbols)
    }

    /// The module with this name, if enabled.
    public func module(named name: String) -> (any ScriptModule)? {
        modules.first { $0.name == name }
    }

    /// Calls every enabled module's `workerInit` for worker `worker`, in load order; run it
    /// on the worker's thread before it takes traffic.
    public func initializeWorker(_ worker: Int) {
        for module in modules { module.workerInit(worker: worker) }
    }

    /// Fresh per-worker state; create one per worker thread and reuse it for every message.
    public func makeWorkerState(worker: Int) -> ScriptWorkerState {
        ScriptWorkerState(worker: worker, varCount: varNames.count, owner: ObjectIdentifier(self))
    }

    /// Runs `request_route` for a request.
    public func runRequestRoute(_ ctx: ScriptContext) -> ScriptRunResult {
        guard let r = mainRequest else { return ScriptRunResult(code: 1, exited: false, dropped: false) }
        return run(r, ctx)
    }

    /// Runs the top-level `reply_route {}` / `onreply_route {}` for a reply that is being
    /// relayed statelessly; a script without one lets every reply through.
    public func runReplyRoute(_ ctx: ScriptContext) -> ScriptRunResult {
        guard let r = mainReply else { return ScriptRunResult(code: 1, exited: false, dropped: false) }
        return run(r, ctx)
    }

    /// Runs any route as a top-level route (failure, branch, event routes started by modules).
    public func run(_ ref: ScriptRouteRef, _ ctx: ScriptContext) -> ScriptRunResult {
        guard ref.index < routes.count else { return ScriptRunResult(code: -1, exited: false, dropped: false) }
        // `$var` slots are numbered per script: a state made for another generation of
        // the script (after cfg.reload_script) would show this script's names the other's
        // values, so such a run gets fresh `$var`s.
        if let owner = ctx.worker.owner, owner != ObjectIdentifier(self) {
            ctx.worker = makeWorkerState(worker: ctx.worker.worker)
        }
        if ctx.debugHook == nil, hookEnabled.load(ordering: .relaxed) {
            ctx.debugHook = hookProvider.withLock { $0 }?.hook(for: ctx)
        }
        let result = ScriptInterpreter.run(ref.index, in: self, ctx)
        if let hook = ctx.debugHook { hook.runFinished(context: ctx) }
        return result
    }

    /// A context over a locally made request, for routes that run without a received
    /// message (`event_route[htable:mod-init]`, timer routes), as Kamailio runs them over
    /// a faked OPTIONS request.
    public func makeLocalContext(services: any ScriptServices, worker: ScriptWorkerState,
                                 routeType: ScriptRouteType = .event) -> ScriptContext? {
        let text = "OPTIONS sip:local@localhost SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKlocal\r\n"
            + "From: <sip:local@localhost>;tag=local\r\nTo: <sip:local@localhost>\r\nCall-ID: local\r\n"
            + "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        guard let message = try? SIPMessage(text),
              let loopback = SocketAddress(ip: "127.0.0.1", port: 5060) else { return nil }
        let info = ReceiveInfo(proto: .udp, source: loopback, local: loopback, listenerIndex: -1)
        return ScriptContext(message: message, receive: info, worker: worker, services: services, routeType: routeType)
    }

    /// Runs `event_route[name]` over a local context, if the script has that route.
    public func runEventRoute(_ name: String, services: any ScriptServices,
                              worker: ScriptWorkerState) -> ScriptRunResult? {
        guard let ref = route(.event, name), let ctx = makeLocalContext(services: services, worker: worker) else {
            return nil
        }
        return run(ref, ctx)
    }

    /// Installs (or, with nil, removes) a provider asked for a hook at the start of every
    /// route run whose context has none: how a debugger or `cfgtrace` attaches to all
    /// traffic without the daemon's help.
    public func setDebugHookProvider(_ provider: (any ScriptDebugHookProvider)?) {
        hookProvider.withLock { $0 = provider }
        hookEnabled.store(provider != nil, ordering: .releasing)
    }

    /// The installed hook provider (a reloaded script takes it over).
    var debugHookProvider: (any ScriptDebugHookProvider)? { hookProvider.withLock { $0 } }

    /// Every place an action starts, in file order per route: where breakpoints can go.
    public var actionLocations: [ScriptSourceLocation] {
        var out: [ScriptSourceLocation] = []
        func walk(_ actions: [ScriptAction]) {
            for a in actions {
                out.append(a.location)
                switch a.kind {
                case .ifElse(let i): walk(i.then); walk(i.otherwise)
                case .switchCase(_, let cases): cases.forEach { walk($0.body) }
                case .whileLoop(_, let body), .block(let body): walk(body)
                default: break
                }
            }
        }
        routes.forEach { walk($0.actions) }
        return out
    }
}

/// Loads kamailio.cfg scripts: preprocess, parse, check core parameters, enable modules,
/// apply `modparam`s, compile the routes and initialise the modules.
public enum ScriptLoader {
    /// Loads the file at `path`. `defines` are `-A` values (`NAME`, `NAME=VALUE`).
    /// `services`, when given, is handed to the modules' `initialize`.
    public static func load(path: String, defines: [String] = [], modules: [any ScriptModule],
                            services: (any ScriptServices)? = nil) throws(ScriptError) -> LoadedScript {
        try load(tree: try ScriptFrontEnd.parse(path: path, defines: defines), modules: modules, services: services)
    }

    /// Loads in-memory text (the embedded default config, tests); `name` is used in locations.
    public static func load(text: String, name: String = "<script>", defines: [String] = [],
                            modules: [any ScriptModule],
                            services: (any ScriptServices)? = nil) throws(ScriptError) -> LoadedScript {
        try load(tree: try ScriptFrontEnd.parse(text: text, name: name, defines: defines), modules: modules,
                 services: services)
    }

    /// The module name in `loadmodule "dir/tm.so"`: `tm`.
    static func moduleName(_ path: String) -> String {
        var name = Substring(path)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        if name.hasSuffix(".so") { name = name.dropLast(3) }
        return String(name)
    }

    /// Loads a parsed tree.
    static func load(tree: ScriptSyntaxTree, modules available: [any ScriptModule],
                     services: (any ScriptServices)?) throws(ScriptError) -> LoadedScript {
        let core = try ScriptCoreParams.build(tree.globals)
        var enabled: [any ScriptModule] = available.filter(\.isCore)
        // Every missing module is reported in one go (an operator porting a config fixes
        // them together), and nothing else: later errors would only be noise about
        // functions of the missing modules.
        var missing: [ScriptError] = []
        for decl in tree.loadModules {
            let name = moduleName(decl.path)
            guard let module = available.first(where: { $0.name == name }) else {
                missing.append(ScriptError("module '\(name)' is not available in kamailiod", at: decl.location))
                continue
            }
            if !enabled.contains(where: { $0 === module }) { enabled.append(module) }
        }
        if let error = ScriptError(collecting: missing) { throw error }
        let symbols = makeSymbols(core: core, enabled: enabled, available: available)
        var compiler = ScriptCompiler(symbols: symbols)
        for decl in tree.modParams { try applyModParam(decl, enabled, &compiler) }
        let routes = try compiler.compile(tree)
        let script = LoadedScript(core: core, modules: enabled, loadPaths: tree.loadPaths, routes: routes,
                                  refs: symbols.routes, varNames: symbols.varNames, modulePVs: symbols.modulePVs,
                                  functionTable: symbols.functions, sourceFiles: tree.sourceFiles,
                                  restartSignature: ScriptRestartSignature(tree))
        for module in enabled { try module.initialize(ScriptModuleInitContext(script: script, services: services)) }
        return script
    }

    /// The names a script compiles against: core actions, the enabled modules' functions
    /// and pseudo-variables, and which module a function of an unloaded one needs.
    static func makeSymbols(core: ScriptCoreConfig, enabled: [any ScriptModule],
                            available: [any ScriptModule]) -> ScriptSymbols {
        let symbols = ScriptSymbols(core: core)
        for fn in ScriptCoreActions.functions { symbols.functions[fn.name, default: []].append(fn) }
        for module in enabled {
            for fn in module.functions { symbols.functions[fn.name, default: []].append(fn) }
            for pv in module.pseudoVariables where symbols.modulePVs[pv.name] == nil { symbols.modulePVs[pv.name] = pv }
        }
        for module in available where !enabled.contains(where: { $0 === module }) {
            for fn in module.functions where symbols.unloadedFunctions[fn.name] == nil {
                symbols.unloadedFunctions[fn.name] = module.name
            }
        }
        return symbols
    }

    private static func applyModParam(_ decl: ScriptModParamDecl, _ enabled: [any ScriptModule],
                                      _ compiler: inout ScriptCompiler) throws(ScriptError) {
        var targets: [(any ScriptModule, ScriptModuleParameter)] = []
        if let module = enabled.first(where: { $0.name == decl.module }) {
            guard let param = module.parameters.first(where: { $0.name == decl.name }) else {
                throw ScriptError("module '\(decl.module)' has no parameter '\(decl.name)'", at: decl.location)
            }
            targets = [(module, param)]
        } else {
            // Kamailio treats the module name as a regular expression
            // (`modparam("nathelper|registrar", "received_avp", ...)`)
            if let regex = try? ScriptRegex("^(" + decl.module + ")$"), decl.module.contains(where: { "|*+?[(.^$".contains($0) }) {
                for module in enabled where regex.matches(Array(module.name.utf8)) {
                    if let param = module.parameters.first(where: { $0.name == decl.name }) { targets.append((module, param)) }
                }
            }
            guard !targets.isEmpty else {
                throw ScriptError("modparam for module '\(decl.module)', which is not loaded", at: decl.location)
            }
        }
        for (module, param) in targets {
            try applyModParam(decl, module, param, &compiler)
        }
    }

    private static func applyModParam(_ decl: ScriptModParamDecl, _ module: any ScriptModule,
                                      _ param: ScriptModuleParameter,
                                      _ compiler: inout ScriptCompiler) throws(ScriptError) {
        let value: ScriptValue
        if case .word(let w) = decl.value.kind {
            switch (param.kind, w.lowercased()) {
            case (.int, "yes"), (.int, "on"), (.int, "true"): value = .int(1)
            case (.int, "no"), (.int, "off"), (.int, "false"): value = .int(0)
            default: value = .string(w)
            }
        } else {
            guard case .constant(let v) = try compiler.expression(decl.value) else {
                throw ScriptError("expected a constant value for modparam '\(module.name)'/'\(decl.name)'",
                                  at: decl.value.location)
            }
            value = v
        }
        switch (param.kind, value) {
        case (.int, .int), (.string, .str): break
        case (.int, _):
            throw ScriptError("modparam '\(module.name)'/'\(decl.name)' expects an integer, found \(value.debugShown)",
                              at: decl.value.location)
        case (.string, _):
            throw ScriptError("modparam '\(module.name)'/'\(decl.name)' expects a string, found \(value.debugShown)",
                              at: decl.value.location)
        }
        do {
            try param.set(value)
        } catch {
            throw ScriptError("modparam '\(module.name)'/'\(decl.name)': \(error.message)", at: decl.value.location)
        }
    }
}
