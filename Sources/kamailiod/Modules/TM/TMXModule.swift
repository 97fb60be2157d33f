import ScriptEngine

/// Kamailio's `tmx`: tm extras. `t_precheck_trans` lives in tm here (tmx only adds it in
/// Kamailio); this module adds the route-type checks and `t_flush_flags`.
public final class TMXModule: ScriptModule {
    public let name = "tmx"
    /// No parameters.
    public let parameters: [ScriptModuleParameter] = []

    /// The module (stateless: it reads the tm state of each message).
    public init() {}

    /// tmx's script functions.
    public var functions: [ScriptFunction] {
        func routeCheck(_ name: String, _ type: ScriptRouteType) -> ScriptFunction {
            ScriptFunction(name, arity: 0...0) { ctx, _ in ctx.routeType == type ? 1 : -1 }
        }
        return [
            routeCheck("t_is_failure_route", .failure),
            routeCheck("t_is_branch_route", .branch),
            routeCheck("t_is_reply_route", .onreply),
            // message flags go into the transaction for failure_route
            ScriptFunction("t_flush_flags", arity: 0...0, routes: [.request, .branch]) { ctx, _ in
                ctx.tm.cell?.lock.withLock { ctx.tm.cell?.flags = ctx.flags }
                return 1
            },
        ]
    }
}
