import SIPCore
import SIPTransport

/// What the daemon provides to the script engine and to module functions.
public protocol ScriptServices: AnyObject, Sendable {
    /// Writes a log line at a Kamailio level (L_ALERT -5 ... L_ERR -1, L_WARN 0,
    /// L_NOTICE 1, L_INFO 2, L_DBG 3), if the current `debug` level lets it through.
    func log(level: Int32, _ text: String)
    /// True when host (and port, when given) name this server: a listen address,
    /// an alias, or an auto-alias (`uri == myself`, `is_myself()`).
    func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool
}

/// Per-worker state that outlives one message: `$var` values, which in Kamailio live
/// in the process and keep their values from one message to the next.
///
/// `@unchecked Sendable` only so the daemon can create the states at start-up and hand
/// each to its worker thread; after that one worker uses it, never two at once.
public final class ScriptWorkerState: @unchecked Sendable {
    /// The worker index this state belongs to.
    public let worker: Int
    /// `$var` slots, indexed by the ids the compiler gave to the names.
    var vars: [ScriptValue]
    /// The script whose slot numbering `vars` follows (nil: any, as in tests).
    let owner: ObjectIdentifier?

    /// State with every `$var` at 0.
    init(worker: Int, varCount: Int, owner: ObjectIdentifier? = nil) {
        self.worker = worker
        self.owner = owner
        vars = Array(repeating: .int(0), count: varCount)
    }
}

/// Everything the script knows about the message being processed. One per message,
/// used only by the worker that handles it (hence not `Sendable`).
public final class ScriptContext {
    /// The message; replaced only by `applyChanges()` (`msg_apply_changes()`).
    public private(set) var message: SIPMessage
    /// Where it came from and on which socket.
    public let receive: ReceiveInfo
    /// The worker's persistent state (`$var`); swapped for a fresh one when a route of
    /// another script generation runs (a transaction's failure_route after a reload).
    public internal(set) var worker: ScriptWorkerState
    /// Logging and facts about this server.
    public let services: any ScriptServices
    /// The family of the route being run (functions check it; `$cfg(route)` shows it).
    public internal(set) var routeType: ScriptRouteType
    /// `$rc` / `$retcode`: the code of the last action.
    public var returnCode: Int32 = 1
    /// Message (transaction) flags, `setflag`/`isflagset`.
    public var flags: UInt32 = 0
    /// Flags of branch 0 (the R-URI branch), `setbflag`/`isbflagset`, `$bf`.
    public var branchFlags: UInt32 = 0
    /// Script flags, `setsflag`/`issflagset`, `$sf`: Kamailio keeps them per process
    /// and clears them for every message, so per message is the same thing.
    public var scriptFlags: UInt32 = 0
    /// `$du`: where to send instead of the R-URI; nil when not set.
    public var destinationURI: [UInt8]?
    /// Set by `drop`: do not forward / relay this message.
    public var dropped = false
    /// AVPs by name, newest value first; they live for this message only (modules that
    /// keep them with a transaction copy them out and back).
    public var avps: [String: [ScriptValue]] = [:]
    /// XAVPs by root name (see `ScriptXAVP`); per message, like AVPs.
    public var xavps: [String: [[(name: String, value: ScriptValue)]]] = [:]
    /// Module state attached to this message (a transaction, parsed credentials...).
    public var userData = ScriptStateTable()
    /// The runtime-configuration values this message is handled with: taken once when
    /// the message arrives, so a `cfg.commit` meanwhile is seen whole or not at all.
    public var cfg: CfgSnapshot?
    /// Set by the daemon to attach a step debugger to this message.
    public var debugHook: (any ScriptDebugHook)?
    /// Location of the action being executed (`$cfg(line)`, errors in module logs).
    public var currentLocation: ScriptSourceLocation? { currentAction?.location }
    /// The action being executed: one reference stored per action, cheaper than copying
    /// its location (which holds the file name) on every step. Not counted, since it is
    /// stored on every step: the action belongs to `actionsOwner`, which this context holds.
    unowned(unsafe) var currentAction: ScriptAction?
    /// The script whose actions `currentAction` points into, held strongly (`script` is
    /// weak) so the action outlives a reload for as long as this context can read it.
    private(set) var actionsOwner: LoadedScript?
    /// Identity of `actionsOwner`, compared per run without touching its reference count
    /// (it cannot be reused while `actionsOwner` holds the script).
    private var actionsOwnerID: ObjectIdentifier?
    /// Name of the route being executed.
    public internal(set) var currentRoute = ""
    /// The script the context is running in (set on entry), for modules that start
    /// other routes (`t_on_failure` and friends run through `LoadedScript.run`).
    public internal(set) weak var script: LoadedScript?
    /// How deep `route()` calls are nested (Kamailio stops at `max_recursive_level`);
    /// the step debugger reads it for step over/out.
    public internal(set) var routeDepth = 0
    /// Locks shared with other workers that are held while this context runs script
    /// actions (a transaction's lock around failure/branch/onreply routes, `sht_lock`).
    /// Modules count them up and down; the debugger never parks a worker while it is > 0,
    /// since every other worker needing that lock would stall behind the breakpoint.
    public var heldLocks = 0
    /// Set by `exit`, `drop`, `return 0` and functions returning 0: unwind everything.
    var stopped = false
    /// Value of the last simple action: what a route that ends without `return` gives.
    var lastValue: Int32 = 1

    private var newRequestURI: [UInt8]?
    private var parsedRequestURI: SIPURI??

    /// Creates a context for a message received on `receive`.
    public init(message: SIPMessage, receive: ReceiveInfo, worker: ScriptWorkerState,
                services: any ScriptServices, routeType: ScriptRouteType = .request) {
        self.message = message
        self.receive = receive
        self.worker = worker
        self.services = services
        self.routeType = routeType
    }

    /// Called as a run of `script` starts: forgets an action of another script, so
    /// `currentAction` only ever points into the script held by `actionsOwner`.
    func runningScript(_ script: LoadedScript) {
        if actionsOwnerID != ObjectIdentifier(script) { setCurrentAction(nil, of: script) }
    }

    /// Sets `currentAction` to `action`, an action of `owner` (nil: none).
    func setCurrentAction(_ action: ScriptAction?, of owner: LoadedScript?) {
        currentAction = action
        actionsOwner = owner
        actionsOwnerID = owner.map { ObjectIdentifier($0) }
    }

    /// The current Request-URI text: the rewritten one after `$ru`/`$rU`/`$rd` writes
    /// (Kamailio shows a new R-URI to later reads at once), else the received one.
    public var requestURIBytes: [UInt8] { newRequestURI ?? Array(message.requestURIBytes) }

    /// True once the script rewrote the Request-URI.
    public var requestURIChanged: Bool { newRequestURI != nil }

    /// The current Request-URI parsed (cached until the next rewrite); nil for replies
    /// and unparsable URIs.
    public var requestURI: SIPURI? {
        if let cached = parsedRequestURI { return cached }
        guard message.isRequest else { return nil }
        let parsed: SIPURI?
        if let newRequestURI {
            parsed = try? SIPURI(bytes: newRequestURI[...])
        } else {
            parsed = try? message.requestURI
        }
        parsedRequestURI = .some(parsed)
        return parsed
    }

    /// Rewrites the Request-URI. The edit is applied when the message is serialized
    /// (`serializeMessage()`), so several rewrites leave one edit, not a pile of them.
    public func setRequestURI(_ bytes: [UInt8]) {
        newRequestURI = bytes
        parsedRequestURI = nil
    }

    /// Sets the user part of the R-URI (removes it, with its `@`, when empty); false for
    /// a reply or an R-URI that does not parse.
    public func setRequestUserPart(_ user: [UInt8]) -> Bool {
        guard message.isRequest, requestURI != nil else { return false }
        ScriptMessageAccess.setRequestUser(self, user)
        return true
    }

    /// Undoes R-URI rewrites (`revert_uri()`).
    public func revertRequestURI() {
        newRequestURI = nil
        parsedRequestURI = nil
    }

    /// The message bytes with all recorded edits plus the current Request-URI applied.
    /// The message's own edit list is left as it was.
    public func serializeMessage() -> [UInt8] {
        guard let newRequestURI, message.isRequest else { return message.serialize() }
        let saved = message.edits
        message.setRequestURI(newRequestURI)
        let out = message.serialize()
        message.edits = saved
        return out
    }

    /// Makes the recorded edits and the new R-URI part of the message, so later reads
    /// (`$hdr`, `is_present_hf`, `$fU`) see them, as Kamailio's `msg_apply_changes()`.
    /// False (message unchanged) when the edited text no longer parses.
    public func applyChanges() -> Bool {
        guard let edited = try? SIPMessage(bytes: serializeMessage()) else { return false }
        message = edited
        newRequestURI = nil
        parsedRequestURI = nil
        return true
    }

    /// Reads a prepared argument as bytes (formats rendered, expressions evaluated).
    public func bytes(_ arg: ScriptFixedArg) -> [UInt8] {
        switch arg {
        case .int(let v): return ScriptValue.decimal(v)
        case .string(let b): return b
        case .format(let f): return f.render(self)
        case .expression(let e): return (try? ScriptEvaluator.value(e.node, self))?.bytes ?? []
        case .pv(let pv): return pv.get(self).bytes
        case .regex(let r): return Array(r.pattern.utf8)
        case .route(let r): return Array(r.name.utf8)
        case .custom: return []
        }
    }

    /// Reads a prepared argument as a Swift string.
    public func string(_ arg: ScriptFixedArg) -> String {
        String(decoding: bytes(arg), as: UTF8.self)
    }

    /// Reads a prepared argument as an integer (text converted like the language does).
    public func int(_ arg: ScriptFixedArg) -> Int32 {
        switch arg {
        case .int(let v): return v
        case .expression(let e): return (try? ScriptEvaluator.value(e.node, self))?.intValue ?? 0
        case .pv(let pv): return pv.get(self).intValue
        default: return ScriptValue.parseInt(bytes(arg)[...]) ?? 0
        }
    }

    /// Evaluates a compiled expression (nil when evaluation fails, e.g. division by zero).
    public func evaluate(_ e: ScriptCompiledExpression) -> ScriptValue? {
        try? ScriptEvaluator.value(e.node, self)
    }

    /// Logs through the services at `level`.
    public func log(level: Int32, _ text: String) {
        services.log(level: level, text)
    }
}
