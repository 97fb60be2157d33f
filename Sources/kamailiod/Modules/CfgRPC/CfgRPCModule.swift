import Control
import ScriptEngine
import Shared
import Synchronization

/// `cfg_rpc`: the `cfg.*` control methods over the runtime-configuration table
/// (Kamailio's cfg framework): read, change now, stage and commit, reset to startup.
///
/// Groups: every parameter the core and the loaded modules declared in the `CfgStore`
/// (`core.debug` is bound to the daemon's log level by the App), groups other modules
/// declare with closures (`registry.declare`), and every custom group the script
/// declares with `group.var = value desc "..."`. `cfg.reload_script` (kamailiod's) swaps
/// in a re-read routing script through the daemon.
public final class CfgRPCModule: ScriptModule, RPCMethodProvider {
    public let name = "cfg_rpc"
    public let parameters: [ScriptModuleParameter] = []
    public let functions: [ScriptFunction] = []
    /// The table; shared by every transport.
    public let registry = CfgRegistry()
    /// The parameters of the core and the modules.
    public let store: CfgStore
    /// Where refusals are logged (Kamailio logs the reason, the fault only says "Failed").
    let log: @Sendable (String) -> Void
    /// `cfg.reload_script`'s worker, installed by the daemon.
    let reloader = Mutex<(@Sendable (String?) -> CfgScriptReloadResult)?>(nil)

    /// The module over `runtime`'s parameters (a store of its own without one: tests).
    public init(runtime: CoreRuntime? = nil) {
        store = runtime?.cfg ?? CfgStore()
        if let runtime {
            log = { text in if runtime.logEnabled(.error) { runtime.log(.error, "cfg_rpc", text) } }
        } else {
            log = { _ in }
        }
    }

    /// Binds `core.debug` to the daemon's log level: `level` is the level in force now,
    /// `apply` is called with each committed level.
    public func bindCoreDebug(level: Int, apply: @escaping @Sendable (Int) -> Void) {
        guard let p = store.param("core", "debug") else { return }
        store.setInitial(p.slot, .int(level))
        store.onCommit { snap, changed in
            if changed.contains(where: { $0.slot == p.slot }) { apply(snap.value(p).intValue) }
        }
    }

    /// Installs what `cfg.reload_script` runs (the daemon's script switch).
    public func bindScriptReload(_ reload: @escaping @Sendable (String?) -> CfgScriptReloadResult) {
        reloader.withLock { $0 = reload }
    }

    /// Declares the groups of the loaded script and returns the `cfg.*` methods.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        declareGroups(environment.script)
        return CfgRPCMethods.methods(registry, log: log) + [CfgRPCMethods.reloadScript { [self] in reloader.withLock { $0 } }]
    }

    /// Fills the table with the core's and the loaded modules' parameters; the script's
    /// custom groups (`group.var = value desc "..."`) are in the store with the core's.
    func declareGroups(_ script: LoadedScript) {
        registry.declare(store: store) { script.module(named: $0) != nil }
    }
}
