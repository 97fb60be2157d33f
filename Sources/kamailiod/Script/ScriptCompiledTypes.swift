/// The compiled form of a script: names resolved, constants folded, regexes compiled.
/// Values of these types are built once at load time and shared read-only by all workers.

/// A pseudo-variable occurrence with its accessor and transformations resolved.
public struct ScriptCompiledPV: Sendable {
    /// The occurrence as written.
    public let spec: ScriptPVSpec
    /// Read/write access.
    public let accessor: ScriptPVAccessor
    /// Transformations applied on read, in order.
    let transforms: [ScriptTransform]

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
    let function: ScriptFunction
    let args: ScriptFixedArgs

    init(function: ScriptFunction, args: ScriptFixedArgs) {
        self.function = function
        self.args = args
    }
}

/// A compiled expression node.
indirect enum ScriptExprNode: Sendable {
    case constant(ScriptValue)
    case pv(ScriptCompiledPV)
    case call(ScriptCallSite, ScriptSourceLocation)
    case route(Int, ScriptSourceLocation)
    case not(ScriptExprNode)
    case negate(ScriptExprNode)
    case bitNot(ScriptExprNode)
    case and(ScriptExprNode, ScriptExprNode)
    case or(ScriptExprNode, ScriptExprNode)
    case plus(ScriptExprNode, ScriptExprNode)
    case arithmetic(ScriptBinaryOp, ScriptExprNode, ScriptExprNode)
    /// `==`/`!=` (negated), following the left operand's type.
    case equal(ScriptExprNode, ScriptExprNode, negated: Bool)
    /// `eq`/`ne`: text comparison.
    case stringEqual(ScriptExprNode, ScriptExprNode, negated: Bool)
    /// `ieq`/`ine`: integer comparison.
    case intEqual(ScriptExprNode, ScriptExprNode, negated: Bool)
    case relational(ScriptBinaryOp, ScriptExprNode, ScriptExprNode)
    /// `=~` with a constant pattern compiled at load time.
    case match(ScriptExprNode, ScriptRegex)
    /// `=~` with a pattern computed per message.
    case matchDynamic(ScriptExprNode, ScriptExprNode)
    case defined(ScriptCompiledPV)
    /// `uri == myself` and friends.
    case myself(ScriptMyselfSubject, negated: Bool)
}

/// What `== myself` tests.
enum ScriptMyselfSubject: Sendable {
    case requestURI, fromURI, toURI, sourceIP, destinationIP
}

/// An expression usable by modules (a function argument that is not a constant).
public struct ScriptCompiledExpression: Sendable {
    let node: ScriptExprNode
    /// Where it was written.
    public let location: ScriptSourceLocation
}

/// One compiled `case` of a `switch`.
struct ScriptCompiledCase: Sendable {
    let label: ScriptCaseLabel
    let body: [ScriptAction]
}

/// A compiled statement.
indirect enum ScriptActionKind: Sendable {
    case call(ScriptCallSite)
    case route(Int)
    case assign(ScriptCompiledPV, ScriptExprNode, isColon: Bool)
    case ifElse(ScriptExprNode, [ScriptAction], [ScriptAction])
    case switchCase(ScriptExprNode, [ScriptCompiledCase])
    case whileLoop(ScriptExprNode, [ScriptAction])
    case returnValue(ScriptExprNode?)
    case exit
    case drop
    case breakLoop
    case block([ScriptAction])
}

/// A compiled statement with the place it was written: what trace, breakpoints and
/// `$cfg(line)` report.
struct ScriptAction: Sendable {
    let kind: ScriptActionKind
    let location: ScriptSourceLocation
}

/// A compiled route block.
struct ScriptCompiledRoute: Sendable {
    let type: ScriptRouteType
    let name: String
    var actions: [ScriptAction]
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
}
