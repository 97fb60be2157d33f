import SIPCore
import ScriptEngine

/// Why `t_relay()` could not send a branch, with Kamailio's error numbers (`$rc`) and the
/// reply tm answers the transaction with when the script does not (its delayed error
/// reply, "(7/TM)" and the like).
enum TMRelayError: Int32 {
    /// No socket of the destination's transport and address family (E_NO_SOCKET).
    case noSocket = -7
    /// The destination host does not resolve (E_BAD_ADDRESS).
    case badAddress = -478
    /// Anything else (E_UNSPEC).
    case unspecified = -1

    /// The reply tm sends upstream for it (Kamailio's text, with `-code/TM`).
    var reply: (code: Int, reason: String) {
        switch self {
        case .noSocket: return (500, "I'm terribly sorry, server error occurred (7/TM)")
        case .badAddress: return (478, "Unresolvable destination (478/TM)")
        case .unspecified: return (500, "I'm terribly sorry, server error occurred (1/TM)")
        }
    }
}

extension TMModule {
    /// Called when request_route has finished with the request in `ctx`: a transaction
    /// whose `t_relay()` sent nothing and that got no stateful reply from the script is
    /// answered with the relay error now, as Kamailio does (a stateless reply does not
    /// count; the transaction then ends as any answered one).
    public func requestRouteFinished(_ ctx: ScriptContext) {
        guard let t = ctx.userData.tm, case let s = unsafeDowncast(t, to: TMMessageState.self),
              let error = s.delayedError, let cell = s.cell else { return }
        s.delayedError = nil
        let answered = cell.lock.withLock { cell.server.hasFinal || !cell.branches.isEmpty }
        guard !answered else { return }
        let r = error.reply
        sendLocalReply(cell, code: r.code, reason: r.reason, ctx: ctx)
        finish(cell)
    }
}
