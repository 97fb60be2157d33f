/// The module interface: what a built-in module exports to the script language.
/// Kamailio's `sr_module` exports become this protocol; `loadmodule "tm.so"` enables
/// the module whose `name` is `tm` from the set the daemon passes to the loader.
public protocol ScriptModule: AnyObject, Sendable {
    /// Module name as in `loadmodule "<name>.so"` and `modparam("<name>", ...)`.
    var name: String { get }
    /// `modparam` parameters.
    var parameters: [ScriptModuleParameter] { get }
    /// Script functions.
    var functions: [ScriptFunction] { get }
    /// Pseudo-variables the module provides (`$sht(...)`, `$T_branch_idx`, ...).
    var pseudoVariables: [ScriptPVDefinition] { get }
    /// True for the core's own functions (`setflag`, `isflagset`, `forward`, ...): such a
    /// module is enabled without `loadmodule`.
    var isCore: Bool { get }
    /// Called once after the whole script is compiled (Kamailio's `mod_init`), with
    /// every module parameter set. A thrown error stops the start-up.
    func initialize(_ context: ScriptModuleInitContext) throws(ScriptError)
    /// Called once in each worker before it handles traffic (Kamailio's `child_init`).
    func workerInit(worker: Int)
    /// Called after `cfg.reload_script` made `script` the one new messages run with: a
    /// module that runs routes by itself (event routes, timers) switches to it here.
    /// Modules are not initialised again.
    func scriptReloaded(_ script: LoadedScript)
    /// Called on the daemon's idle ticks, just before the heap is trimmed: a module
    /// lets go of the spare capacity its tables kept from the last burst (an empty
    /// hash bucket that still holds storage pins a heap page the trim cannot return).
    func releaseIdleMemory()
}

extension ScriptModule {
    /// Most modules have no pseudo-variables.
    public var pseudoVariables: [ScriptPVDefinition] { [] }
    /// Modules are enabled by `loadmodule` unless they say otherwise.
    public var isCore: Bool { false }
    /// Nothing to do by default.
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {}
    /// Nothing to do by default.
    public func workerInit(worker: Int) {}
    /// Nothing to do by default.
    public func scriptReloaded(_ script: LoadedScript) {}
    /// Nothing to do by default.
    public func releaseIdleMemory() {}
}

/// What `initialize` gets: the loaded script (routes, core params, other modules).
public struct ScriptModuleInitContext: Sendable {
    /// The script being started.
    public let script: LoadedScript
    /// The daemon's services when the loader was given them: lets a module run an
    /// `event_route` at start-up (`script.runEventRoute(name, services:worker:)`).
    public let services: (any ScriptServices)?
    /// Shortcut to the core parameters.
    public var core: ScriptCoreConfig { script.core }
}

/// A `modparam` parameter.
public struct ScriptModuleParameter: Sendable {
    /// The value type Kamailio declares for the parameter.
    public enum Kind: Sendable {
        /// An integer; `yes`/`no`-style words are accepted as 1/0.
        case int
        /// A string.
        case string
    }

    /// Name as in `modparam("mod", "<name>", value)`.
    public var name: String
    /// Declared type; a value of the other type is a load-time error.
    public var kind: Kind
    /// Stores a value (called once per `modparam` line, in file order). Throw a
    /// `ScriptFixupError` to reject a value; the loader adds the location.
    public var set: @Sendable (ScriptValue) throws(ScriptFixupError) -> Void

    /// Creates a parameter.
    public init(_ name: String, _ kind: Kind, set: @escaping @Sendable (ScriptValue) throws(ScriptFixupError) -> Void) {
        self.name = name
        self.kind = kind
        self.set = set
    }
}

/// The route families a function may be used in (Kamailio's REQUEST_ROUTE, ...).
public struct ScriptRouteMask: OptionSet, Sendable, Hashable {
    /// The bits.
    public let rawValue: UInt8
    /// Creates a mask from bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `request_route` and sub-routes called from it.
    public static let request = ScriptRouteMask(rawValue: 1)
    /// `failure_route[...]`.
    public static let failure = ScriptRouteMask(rawValue: 2)
    /// `onreply_route` / `reply_route`.
    public static let onreply = ScriptRouteMask(rawValue: 4)
    /// `branch_route[...]`.
    public static let branch = ScriptRouteMask(rawValue: 8)
    /// `onsend_route`.
    public static let onsend = ScriptRouteMask(rawValue: 16)
    /// `event_route[...]`.
    public static let event = ScriptRouteMask(rawValue: 32)
    /// Everywhere.
    public static let any: ScriptRouteMask = [.request, .failure, .onreply, .branch, .onsend, .event]

    /// The mask bit of a route family.
    public init(_ type: ScriptRouteType) {
        switch type {
        case .request: self = .request
        case .failure: self = .failure
        case .onreply: self = .onreply
        case .branch: self = .branch
        case .onsend: self = .onsend
        case .event: self = .event
        }
    }

    /// Names for error messages (`request, failure`).
    var names: String {
        let all: [(ScriptRouteMask, String)] = [(.request, "request"), (.failure, "failure"), (.onreply, "onreply"),
                                                (.branch, "branch"), (.onsend, "onsend"), (.event, "event")]
        return all.filter { contains($0.0) }.map(\.1).joined(separator: ", ")
    }
}

/// A script function exported by a module.
///
/// `fixup` runs once per call site at load time and turns the written arguments into
/// `ScriptFixedArgs` (parsed ints, compiled formats, regexes, route references, or a
/// module's own pre-parsed value); `run` runs per message and returns Kamailio's code:
/// > 0 true, < 0 false, 0 ends the script.
public struct ScriptFunction: Sendable {
    /// Function name.
    public var name: String
    /// Fewest arguments accepted.
    public var minArgs: Int
    /// Most arguments accepted.
    public var maxArgs: Int
    /// Route families where the function may appear (checked at load).
    public var allowedRoutes: ScriptRouteMask
    /// False for functions that, like core `isflagset()` as a statement, leave `$rc` alone.
    public var updatesReturnCode: Bool
    /// Load-time argument preparation; nil uses `ScriptFixupContext.defaultArgs()`.
    public var fixup: (@Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs)?
    /// The per-message work.
    public var run: @Sendable (ScriptContext, ScriptFixedArgs) -> Int32

    /// Creates a function; `arity` gives min and max argument counts.
    public init(_ name: String, arity: ClosedRange<Int>, routes: ScriptRouteMask = .any,
                updatesReturnCode: Bool = true,
                fixup: (@Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs)? = nil,
                run: @escaping @Sendable (ScriptContext, ScriptFixedArgs) -> Int32) {
        self.name = name
        self.minArgs = arity.lowerBound
        self.maxArgs = arity.upperBound
        self.allowedRoutes = routes
        self.updatesReturnCode = updatesReturnCode
        self.fixup = fixup
        self.run = run
    }
}

/// A pseudo-variable class exported by a module (`$sht`, `$T_branch_idx`, ...).
public struct ScriptPVDefinition: Sendable {
    /// The name after `$` (`sht` for `$sht(t=>k)`).
    public var name: String
    /// Builds the accessor for one written occurrence; the spec has the argument and
    /// index. Throw for a malformed argument (the compiler adds the location).
    public var fixup: @Sendable (ScriptPVSpec, ScriptFixupContext) throws(ScriptError) -> ScriptPVAccessor

    /// Creates a definition.
    public init(_ name: String,
                fixup: @escaping @Sendable (ScriptPVSpec, ScriptFixupContext) throws(ScriptError) -> ScriptPVAccessor) {
        self.name = name
        self.fixup = fixup
    }
}

/// Read and (optionally) write access to one pseudo-variable occurrence.
public struct ScriptPVAccessor: Sendable {
    /// Reads the value for the current message.
    public var get: @Sendable (ScriptContext) -> ScriptValue
    /// Writes (`$x = v`); nil for read-only variables (assignment is a load error).
    /// `isColon` is true for `:=`.
    public var set: (@Sendable (ScriptContext, ScriptValue, _ isColon: Bool) -> Void)?

    /// Creates an accessor.
    public init(get: @escaping @Sendable (ScriptContext) -> ScriptValue,
                set: (@Sendable (ScriptContext, ScriptValue, _ isColon: Bool) -> Void)? = nil) {
        self.get = get
        self.set = set
    }
}

/// A rejected value or argument, without location (the loader knows where it was).
public struct ScriptFixupError: Error, Sendable {
    /// What was expected.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
}
