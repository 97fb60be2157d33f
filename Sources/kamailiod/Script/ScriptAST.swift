/// The syntax tree of a kamailio.cfg script, as parsed; names are not resolved yet
/// (the compiler does that against the loaded modules). Every node has a location.

/// An index written after a pseudo-variable: `[0]`, `[-1]`, `[*]`, `[$var(i)]`.
public indirect enum ScriptPVIndex: Sendable, Hashable {
    /// A constant index; negative counts from the end.
    case int(Int)
    /// `[*]`: all values.
    case all
    /// An index taken from another pseudo-variable at run time.
    case pv(ScriptPVSpec)
}

/// One transformation `{class.name,param,...}`, e.g. `{s.len}`, `{s.substr,1,2}`.
public struct ScriptTransformSpec: Sendable, Hashable {
    /// `s`, `uri`, `nameaddr`, ...
    public var klass: String
    /// `len`, `int`, `tolower`, ...
    public var name: String
    /// Parameters as written (may contain pseudo-variables).
    public var params: [String]
}

/// A pseudo-variable as written: `$name(argument)[index]` plus transformations when it
/// was written in the `$(name(argument)[index]{tr}...)` form.
public struct ScriptPVSpec: Sendable, Hashable, CustomStringConvertible {
    /// `rU`, `hdr`, `var`, `avp`, `sht`, `T_branch_idx`, `null`, ...
    public var name: String
    /// Inner argument text, e.g. `Via` for `$hdr(Via)` or `t=>$rU` for `$sht(t=>$rU)`.
    public var argument: String?
    /// Optional index.
    public var index: ScriptPVIndex?
    /// Transformations to apply in order.
    public var transforms: [ScriptTransformSpec]

    /// Creates a spec; usually made by `ScriptPVSpec.parse`.
    public init(name: String, argument: String? = nil, index: ScriptPVIndex? = nil,
                transforms: [ScriptTransformSpec] = []) {
        self.name = name
        self.argument = argument
        self.index = index
        self.transforms = transforms
    }

    /// The canonical written form (`$hdr(Via)`, `$(hdr(Via)[1]{s.len})`).
    public var description: String {
        var core = name
        if let argument { core += "(\(argument))" }
        if index == nil, transforms.isEmpty { return "$" + core }
        switch index {
        case .int(let i): core += "[\(i)]"
        case .all: core += "[*]"
        case .pv(let p): core += "[\(p)]"
        case nil: break
        }
        for t in transforms {
            core += "{" + ([t.klass + "." + t.name] + t.params).joined(separator: ",") + "}"
        }
        return "$(" + core + ")"
    }
}

/// Operators of expressions, named after their spelling.
public enum ScriptBinaryOp: String, Sendable {
    case or = "||", and = "&&"
    case bitOr = "|", bitAnd = "&", bitXor = "^", shiftLeft = "<<", shiftRight = ">>"
    case equal = "==", notEqual = "!=", match = "=~"
    case strEqual = "eq", strNotEqual = "ne", intEqual = "ieq", intNotEqual = "ine"
    case less = "<", greater = ">", lessEqual = "<=", greaterEqual = ">="
    case plus = "+", minus = "-", times = "*", divide = "/", modulo = "mod"
}

/// Prefix operators.
public enum ScriptUnaryOp: String, Sendable {
    case not = "!", negate = "-", bitNot = "~"
}

/// A function call as written: `name(args)` or a bare `name`.
public struct ScriptCallSyntax: Sendable {
    /// Function name (`sl_send_reply`, `route`, ...).
    public var name: String
    /// Arguments as expressions (constant strings and ints in the common case).
    public var arguments: [ScriptExpression]
    /// Where the name starts.
    public var location: ScriptSourceLocation
}

/// An expression node.
public indirect enum ScriptExpressionKind: Sendable {
    case integer(Int64)
    case string(String)
    case pseudoVariable(ScriptPVSpec)
    /// A bare word used as a value: `myself`, `uri`, `method`, `status`, a route or flag name.
    case word(String)
    case call(ScriptCallSyntax)
    case unary(ScriptUnaryOp, ScriptExpression)
    case binary(ScriptBinaryOp, ScriptExpression, ScriptExpression)
    /// `defined $x`.
    case defined(ScriptPVSpec)
}

/// An expression with its location.
public struct ScriptExpression: Sendable {
    /// What it is.
    public var kind: ScriptExpressionKind
    /// Where it starts.
    public var location: ScriptSourceLocation
}

/// A `case`/`default` label of a `switch`.
public enum ScriptCaseLabel: Sendable, Hashable {
    case integer(Int64)
    case string(String)
    case defaultLabel
}

/// One label and the statements after it (up to the next label; control falls through).
public struct ScriptSwitchCase: Sendable {
    /// The label.
    public var label: ScriptCaseLabel
    /// Statements under it.
    public var body: [ScriptStatement]
    /// Where the label is.
    public var location: ScriptSourceLocation
}

/// A statement node.
public indirect enum ScriptStatementKind: Sendable {
    case call(ScriptCallSyntax)
    /// `$pv = e` (`isColon` for `:=`).
    case assign(ScriptPVSpec, ScriptExpression, isColon: Bool)
    case ifElse(ScriptExpression, [ScriptStatement], [ScriptStatement]?)
    case switchCase(ScriptExpression, [ScriptSwitchCase])
    case whileLoop(ScriptExpression, [ScriptStatement])
    case returnValue(ScriptExpression?)
    case exit
    case drop
    case breakLoop
    case block([ScriptStatement])
}

/// A statement with its location.
public struct ScriptStatement: Sendable {
    /// What it is.
    public var kind: ScriptStatementKind
    /// Where it starts.
    public var location: ScriptSourceLocation
}

/// The kinds of route blocks.
public enum ScriptRouteType: String, Sendable, Hashable, CaseIterable {
    /// `request_route` / `route` / `route[NAME]` (sub-routes are also of this family).
    case request = "route"
    case failure = "failure_route"
    case branch = "branch_route"
    /// `onreply_route[NAME]` armed by `t_on_reply`, and the top-level `onreply_route {}`.
    case onreply = "onreply_route"
    case onsend = "onsend_route"
    case event = "event_route"
}

/// One route block.
public struct ScriptRouteDecl: Sendable {
    /// Which family.
    public var type: ScriptRouteType
    /// The name; empty for the main block of the family (`request_route`, `onreply_route {}`).
    public var name: String
    /// The statements.
    public var body: [ScriptStatement]
    /// Where the route keyword is.
    public var location: ScriptSourceLocation
}

/// A top-level `name = value` (core parameter or custom `group.var = value desc "..."`).
public struct ScriptGlobalAssign: Sendable {
    /// Parameter name, possibly `group.var`.
    public var name: String
    /// The raw value text.
    public var rawValue: String
    /// Where the name is.
    public var location: ScriptSourceLocation
    /// Where the value starts.
    public var valueLocation: ScriptSourceLocation
}

/// `modparam("module", "name", value)`.
public struct ScriptModParamDecl: Sendable {
    public var module: String
    public var name: String
    public var value: ScriptExpression
    public var location: ScriptSourceLocation
}

/// `loadmodule "x.so"`.
public struct ScriptLoadModuleDecl: Sendable {
    public var path: String
    public var location: ScriptSourceLocation
}

/// A parsed script: the global section and the routes, in file order.
public struct ScriptSyntaxTree: Sendable {
    public var globals: [ScriptGlobalAssign] = []
    public var loadPaths: [String] = []
    public var loadModules: [ScriptLoadModuleDecl] = []
    public var modParams: [ScriptModParamDecl] = []
    public var routes: [ScriptRouteDecl] = []
}
