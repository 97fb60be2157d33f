/// The compiled form of a script: names resolved, constants folded, regexes compiled.
/// Values of these types are built once at load time and shared read-only by all workers.

/// A pseudo-variable occurrence with its accessor and transformations resolved.
///
/// A class, not a struct: occurrences are handed around by every expression evaluation,
/// and copying one reference is much cheaper than copying the spec, the closures and the
/// transformation list (measured in the bench's expressions case).
public final class ScriptCompiledPV: Sendable {
    /// The occurrence as written.
    public let spec: ScriptPVSpec
    /// Read/write access.
    public let accessor: ScriptPVAccessor
    /// Transformations applied on read, in order.
    let transforms: [ScriptTransform]

    /// Binds an occurrence to its accessor and transformations.
    init(spec: ScriptPVSpec, accessor: ScriptPVAccessor, transforms: [ScriptTransform]) {
        self.spec = spec
        self.accessor = accessor
        self.transforms = transforms
    }

    /// Reads the value and applies the transformations.
    public func get(_ ctx: ScriptContext) -> ScriptValue {
        var v = accessor.get(ctx)
        for t in transforms { v = t.apply(v, ctx) }
        return v
    }

    /// True when assignment is possible.
    public var isWritable: Bool { accessor.set != nil }
}

/// A call of a module function at one place in the script.
final class ScriptCallSite: Sendable {
    /// The resolved function.
    let function: ScriptFunction
    /// Its arguments as prepared by the fixup.
    let args: ScriptFixedArgs

    /// Binds a function to its prepared arguments.
    init(function: ScriptFunction, args: ScriptFixedArgs) {
        self.function = function
        self.args = args
    }
}

/// A compiled expression node.
indirect enum ScriptExprNode: Sendable {
    /// A folded constant.
    case constant(ScriptValue)
    /// A pseudo-variable read.
    case pv(ScriptCompiledPV)
    /// A function call: 1 when its code is > 0, else 0.
    case call(ScriptCallSite, ScriptSourceLocation)
    /// `route(NAME)`: 1 when the route's value is > 0, else 0.
    case route(Int, ScriptSourceLocation)
    /// `!x`.
    case not(ScriptExprNode)
    /// `-x`.
    case negate(ScriptExprNode)
    /// `~x`.
    case bitNot(ScriptExprNode)
    /// `(int)x`.
    case toInt(ScriptExprNode)
    /// `(str)x`.
    case toStr(ScriptExprNode)
    /// `a && b` (short-circuit, 1 or 0).
    case and(ScriptExprNode, ScriptExprNode)
    /// `a || b` (short-circuit, 1 or 0).
    case or(ScriptExprNode, ScriptExprNode)
    /// `a + b`, typed by the left operand.
    case plus(ScriptExprNode, ScriptExprNode)
    /// Integer operators other than `+`.
    case arithmetic(ScriptBinaryOp, ScriptExprNode, ScriptExprNode)
    /// `==`/`!=` (negated), following the left operand's type.
    case equal(ScriptExprNode, ScriptExprNode, negated: Bool)
    /// `eq`/`ne`: text comparison.
    case stringEqual(ScriptExprNode, ScriptExprNode, negated: Bool)
    /// `ieq`/`ine`: integer comparison.
    case intEqual(ScriptExprNode, ScriptExprNode, negated: Bool)
    /// `< > <= >=` on integers.
    case relational(ScriptBinaryOp, ScriptExprNode, ScriptExprNode)
    /// `=~` with a constant pattern compiled at load time.
    case match(ScriptExprNode, ScriptRegex)
    /// `=~` with a pattern computed per message.
    case matchDynamic(ScriptExprNode, ScriptExprNode)
    /// `defined $x`.
    case defined(ScriptCompiledPV)
    /// `uri == myself` and friends.
    case myself(ScriptMyselfSubject, negated: Bool)
}

/// What `== myself` tests.
enum ScriptMyselfSubject: Sendable {
    // uri, from_uri, to_uri, src_ip, dst_ip
    case requestURI, fromURI, toURI, sourceIP, destinationIP
}

/// An expression usable by modules (a function argument that is not a constant).
public struct ScriptCompiledExpression: Sendable {
    /// The compiled tree.
    let node: ScriptExprNode
    /// Where it was written.
    public let location: ScriptSourceLocation
}

/// One compiled `case` of a `switch`.
struct ScriptCompiledCase: Sendable {
    /// The label.
    let label: ScriptCaseLabel
    /// Statements up to the next label.
    let body: [ScriptAction]
}

/// A compiled `if`: one object, so running the most common statement there is copies
/// one reference out of the action instead of the condition and both branches.
final class ScriptCompiledIf: Sendable {
    /// The condition.
    let condition: ScriptExprNode
    /// Run when it holds.
    let then: [ScriptAction]
    /// Run when it does not; empty without `else`.
    let otherwise: [ScriptAction]

    init(condition: ScriptExprNode, then: [ScriptAction], otherwise: [ScriptAction]) {
        self.condition = condition
        self.then = then
        self.otherwise = otherwise
    }
}

/// A compiled statement. Not `indirect` (it holds no ScriptActionKind itself): the
/// payload sits in the action, so switching on it does not retain and release a box.
enum ScriptActionKind: Sendable {
    /// A module function call.
    case call(ScriptCallSite)
    /// `route(NAME)` by route index.
    case route(Int)
    /// `$pv = e` / `$pv := e`.
    case assign(ScriptCompiledPV, ScriptExprNode, isColon: Bool)
    /// `if`.
    case ifElse(ScriptCompiledIf)
    /// `switch` with its cases in order.
    case switchCase(ScriptExprNode, [ScriptCompiledCase])
    /// `while`.
    case whileLoop(ScriptExprNode, [ScriptAction])
    /// `return` (nil value: 1).
    case returnValue(ScriptExprNode?)
    /// `exit`.
    case exit
    /// `drop`.
    case drop
    /// `break`.
    case breakLoop
    /// A nested block.
    case block([ScriptAction])
}

/// A compiled statement with the place it was written: what trace, breakpoints and
/// `$cfg(line)` report.
///
/// A class so that walking a route copies one reference per action instead of the
/// action's payload and location.
final class ScriptAction: Sendable {
    /// What to do.
    let kind: ScriptActionKind
    /// Where it was written.
    let location: ScriptSourceLocation

    /// An action at `location`.
    init(kind: ScriptActionKind, location: ScriptSourceLocation) {
        self.kind = kind
        self.location = location
    }

    // The payload of the two most common statements, unretained. Binding it in a `switch`
    // retains it for the whole case (the optimizer does not borrow from `kind`); here the
    // copy ends where it is made, so its retain and release cancel out. `kind` holds the
    // object as long as the action lives.

    /// The call site of a `.call`.
    var unretainedCallSite: Unmanaged<ScriptCallSite>? {
        if case .call(let site) = kind { .passUnretained(site) } else { nil }
    }

    /// The parts of an `.ifElse`.
    var unretainedIf: Unmanaged<ScriptCompiledIf>? {
        if case .ifElse(let branch) = kind { .passUnretained(branch) } else { nil }
    }
}

/// A compiled route block.
struct ScriptCompiledRoute: Sendable {
    /// Route family.
    let type: ScriptRouteType
    /// Name (empty for a main block).
    let name: String
    /// Body.
    var actions: [ScriptAction]
    /// Where the block starts.
    let location: ScriptSourceLocation
}

/// A reference to a route, resolved at load time (for `t_on_failure("X")` and friends).
public struct ScriptRouteRef: Sendable, Hashable {
    /// Index in the program's route table.
    public let index: Int
    /// The route's family.
    public let type: ScriptRouteType
    /// The route's name (empty for a main block).
    public let name: String
}

/// Hook called before every action when a debugger is attached to a context.
/// Implementations live in the worker (not shared), so they need not be `Sendable`.
public protocol ScriptDebugHook: AnyObject {
    /// About to run the action at `location` in route `route` (name, or the family for main blocks).
    func willExecute(at location: ScriptSourceLocation, route: String, context: ScriptContext)
    /// A route run started through `LoadedScript.run` on `context` has ended (a module's
    /// nested run ends inside an action of the outer one).
    func runFinished(context: ScriptContext)
}

extension ScriptDebugHook {
    /// Most hooks only look at actions.
    public func runFinished(context: ScriptContext) {}
}

/// Makes hooks for route runs (see `LoadedScript.setDebugHookProvider`). Called on the
/// worker that runs the message; return nil to leave that message alone.
public protocol ScriptDebugHookProvider: Sendable {
    /// A hook for the run that is starting on `context`, or nil.
    func hook(for context: ScriptContext) -> (any ScriptDebugHook)?
}
