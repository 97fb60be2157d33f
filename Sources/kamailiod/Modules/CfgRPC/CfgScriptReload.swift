import Control
import Shared

/// What a routing-script reload came to (`cfg.reload_script`).
public enum CfgScriptReloadResult: Sendable, Equatable {
    /// The new script runs for new messages: its file, how many routes it has and the
    /// reload count (1 for the first reload).
    case reloaded(file: String, routes: Int, generation: Int)
    /// Nothing changed: why (`file:line:col: message` for a script error, or what would
    /// need a restart).
    case refused(String)
}

extension CfgRPCMethods {
    /// `cfg.reload_script [path]` (kamailiod's): re-reads the routing script (the loaded
    /// file by default), checks it fully and switches new messages to it. Transactions and
    /// dialogs already running keep the script they started with.
    static func reloadScript(_ reloader: @escaping @Sendable () -> (@Sendable (String?) -> CfgScriptReloadResult)?) -> RPCMethod {
        RPCMethod("cfg.reload_script",
                  help: "Re-read the routing script (default: the loaded file), check it and run it for new messages.",
                  signature: "[path:s]") { call throws(RPCFault) in
            guard let reload = reloader() else {
                throw RPCFault(code: 500, message: "script reload is not available")
            }
            switch reload(call.optionalString()) {
            case .reloaded(let file, let routes, let generation):
                call.add(.object(["file": .string(file), "routes": .int(routes), "generation": .int(generation)]))
            case .refused(let reason):
                throw RPCFault(code: 500, message: reason)
            }
        }
    }
}
