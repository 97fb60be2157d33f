import ScriptEngine

/// Per-message state of the core and the stateless modules, kept in the script context:
/// what `force_rport()` asked for, headers queued by `append_to_reply()`, and the error
/// the last failing function left for `sl_reply_error()`.
public final class CoreMessageState {
    /// Replies go to the source port (`force_rport()`).
    public var forceRport = false
    /// Header lines (without the final CRLF) for the next local reply.
    public var replyHeaders: [[UInt8]] = []
    /// Status and reason of the last error, for `sl_reply_error()`.
    public var lastError: (code: Int, reason: String)?
    /// Set once a stateless reply was sent for this request.
    public var replied = false
    /// Module states with edits to apply before the request is built
    /// (`applyPendingEdits`); registered when they are created, so no per-message cast.
    public var pendingEdits: [any CorePendingEdit] = []
    /// Module states whose edits depend on the socket each branch leaves on
    /// (`adjustEditsForBranch`), registered the same way.
    public var branchEdits: [any CoreBranchEdit] = []
    /// Listener index chosen by `force_send_socket`/`$fs`; -1: none (the usual choice).
    public var forcedSocket = -1

    init() {}
}

extension ScriptContext {
    /// The core's per-message state, created on first use.
    public var core: CoreMessageState {
        if let s = userData.core { return unsafeDowncast(s, to: CoreMessageState.self) }
        let s = CoreMessageState()
        userData.core = s
        return s
    }
}
