import BuiltinModules
import ScriptEngine
import Synchronization

/// `cfg.reload_script`: re-reads the routing script and, when it compiles and changes
/// nothing that needs a restart, makes it the one new messages run with.
enum DaemonScriptReload {
    /// One reload at a time (two at once would both compare against the same old script).
    private static let serial = Mutex(())

    /// Installs the reload behind `cfg.reload_script`. `file` is the loaded script's path
    /// (nil for the embedded default, which can only be replaced from a file given in the
    /// call); `defines` are the `-A` values it was loaded with.
    static func bind(_ modules: BuiltinModuleSet, handler: SIPMessageHandler, logger: DaemonLogger,
                     file: String?, defines: [String]) {
        modules.cfgRPC.bindScriptReload { path in
            serial.withLock { _ in
                guard let path = path ?? file else {
                    return .refused("the embedded default configuration has no file to re-read: give a path")
                }
                let old = handler.scripts.current.script
                do {
                    let new = try ScriptLoader.reload(path: path, defines: defines, replacing: old)
                    let n = handler.scripts.install(new)
                    for m in new.modules { m.scriptReloaded(new) }
                    logger.log(.notice, "core", "routing script reloaded from \(path) (generation \(n), "
                               + "\(new.allRoutes.count) routes); running transactions keep the previous one")
                    return .reloaded(file: path, routes: new.allRoutes.count, generation: n)
                } catch {
                    logger.log(.error, "core", "routing script reload refused, the running one is kept: \(error)")
                    return .refused("\(error)")
                }
            }
        }
    }
}
