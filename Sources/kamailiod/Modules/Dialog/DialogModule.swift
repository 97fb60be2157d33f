import SIPCore
import ScriptEngine

/// Dialog tracking (Kamailio's `dialog`).
public final class DialogModule: ScriptModule {
    public let name = "dialog"
    let tm: TMModule

    /// A dialog module whose dialogs follow the transactions of `tm`.
    public init(tm: TMModule) { self.tm = tm }

    public var parameters: [ScriptModuleParameter] {
        [ScriptModuleParameter("db_mode", .int) { _ throws(ScriptFixupError) in }]
    }

    public var functions: [ScriptFunction] {
        [ScriptFunction("dlg_manage", arity: 0...0, routes: [.request]) { _, _ in 1 }]
    }
}
