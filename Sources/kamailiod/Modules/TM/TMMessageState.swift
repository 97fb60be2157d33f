import SIPCore
import ScriptEngine

/// A target added with `append_branch()` (or by a module such as registrar's lookup):
/// the Request-URI of the branch and, optionally, where to send it.
public struct TMBranchTarget: Sendable, Equatable {
    /// Request-URI of the branch.
    public var uri: [UInt8]
    /// Destination URI (`$du` of the branch); nil: the Request-URI.
    public var destination: [UInt8]?
    /// q-value times 1000 (1000 when not given).
    public var q: Int
    /// Listener the branch must leave on (`force_send_socket` when it was added); -1: any.
    public var socket: Int
    /// usrloc record id of the contact the branch came from (`$T(ruid)`); nil: none.
    public var ruid: [UInt8]?

    /// Creates a branch target.
    public init(uri: [UInt8], destination: [UInt8]? = nil, q: Int = 1000, socket: Int = -1, ruid: [UInt8]? = nil) {
        self.uri = uri
        self.destination = destination
        self.q = q
        self.socket = socket
        self.ruid = ruid
    }
}

/// Per-message tm state, kept in the script context: the routes armed with
/// `t_on_*`, the timers set with `t_set_fr`, the extra branches, and the transaction
/// once there is one.
public final class TMMessageState {
    /// failure_route armed with `t_on_failure`.
    var onFailure: ScriptRouteRef?
    /// onreply_route armed with `t_on_reply`.
    var onReply: ScriptRouteRef?
    /// branch_route armed with `t_on_branch`.
    var onBranch: ScriptRouteRef?
    /// `t_set_fr` final-reply timeout (ms) for non-INVITE / INVITE before a provisional.
    var fr: UInt64?
    /// `t_set_fr` INVITE timeout (ms) after a provisional.
    var frInv: UInt64?
    /// The transaction of this message, once created or matched.
    var cell: TMCell?
    /// True inside failure_route: the transaction's lock is held by the caller.
    var cellLocked = false
    /// `$T_reply_code`: the reply being handled (onreply) or the winning one (failure).
    var replyCode = 0
    /// The winning branch's reply in failure_route (nil: tm's own 408/487), for `$T_rpl`.
    var replyBytes: [UInt8]?
    /// The received request's match key, built once (t_check_trans and t_relay both need it).
    var matchKey: TMMatchKey??
    /// `$T_branch_idx`.
    var branchIndex = 0
    /// failure_route: the branch whose reply won (`$T(ruid)`); -1 elsewhere.
    var pickedBranch = -1
    /// usrloc record id of the contact now in the Request-URI (registrar `lookup`), which
    /// the main branch carries for `$T(ruid)`; nil: none.
    public var ruid: [UInt8]?
    /// Branches added with `append_branch()`, served by the next `t_relay()`.
    public var branches: [TMBranchTarget] = []
    /// Contact groups of `t_load_contacts`, highest q first, for `t_next_contacts`.
    var contactGroups: [[TMBranchTarget]] = []
    /// Why the last branch `t_relay()` tried could not be sent.
    var relayError: TMRelayError?
    /// `t_relay()` sent nothing: the error to answer the transaction with when
    /// request_route ends without a stateful reply.
    var delayedError: TMRelayError?
    /// A reply went out from failure_route (`t_reply`).
    var repliedInFailure = false
    /// Set when a new branch was started from failure_route.
    var relayedInFailure = false
    /// Callbacks another module (dialog) wants run on each reply sent upstream (not 100).
    public var replyCallbacks: [@Sendable (Int, SIPMessage?) -> Void] = []

    init() {}
}

extension ScriptContext {
    /// The tm module's per-message state, created on first use.
    public var tm: TMMessageState {
        if let s = userData.tm { return unsafeDowncast(s, to: TMMessageState.self) }
        let s = TMMessageState()
        userData.tm = s
        return s
    }
}
