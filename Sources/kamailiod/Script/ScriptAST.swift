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
    // Cases are listed by family; the raw value is the spelling in the script.
    case or = "||", and = "&&"
    case bitOr = "|", bitAnd = "&", bitXor = "^", shiftLeft = "<<", shiftRight = ">>"
    case equal = "==", notEqual = "!=", match = "=~"
    case strEqual = "eq", strNotEqual = "ne", intEqual = "ieq", intNotEqual = "ine"
    case less = "<", greater = ">", lessEqual = "<=", greaterEqual = ">="
    case plus = "+", minus = "-", times = "*", divide = "/", modulo = "mod"
}

/// Prefix operators.
public enum ScriptUnaryOp: String, Sendable {
    // `!` (also `not`), unary minus, bitwise not and the `(int)`/`(str)` casts.
    case not = "!", negate = "-", bitNot = "~", intCast = "(int)", strCast = "(str)"
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
    /// An integer literal as written (wrapped to 32 bits by the compiler).
    case integer(Int64)
    /// A string literal, escapes resolved.
    case string(String)
    /// A pseudo-variable read.
    case pseudoVariable(ScriptPVSpec)
    /// A bare word used as a value: `myself`, `uri`, `method`, `status`, a route or flag name.
    case word(String)
    /// A function call (or `route(NAME)`) used as a value.
    case call(ScriptCallSyntax)
    /// A prefix operator.
    case unary(ScriptUnaryOp, ScriptExpression)
    /// An infix operator.
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
    /// `case 1:` / `case -2:`.
    case integer(Int64)
    /// `case "INVITE":`.
    case string(String)
    /// `default:`.
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
    /// `name(args);`, `name;` or `route(NAME);`.
    case call(ScriptCallSyntax)
    /// `$pv = e` (`isColon` for `:=`).
    case assign(ScriptPVSpec, ScriptExpression, isColon: Bool)
    /// `if (c) ... else ...` (`else if` nests in the else branch).
    case ifElse(ScriptExpression, [ScriptStatement], [ScriptStatement]?)
    /// `switch (e) { case ...: ... }`.
    case switchCase(ScriptExpression, [ScriptSwitchCase])
    /// `while (c) ...`.
    case whileLoop(ScriptExpression, [ScriptStatement])
    /// `return;` / `return e;`.
    case returnValue(ScriptExpression?)
    /// `exit;`
    case exit
    /// `drop;`
    case drop
    /// `break;`
    case breakLoop
    /// `{ ... }` used as a statement.
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
    /// `failure_route[NAME]`.
    case failure = "failure_route"
    /// `branch_route[NAME]`.
    case branch = "branch_route"
    /// `onreply_route[NAME]` armed by `t_on_reply`, and the top-level `onreply_route {}`.
    case onreply = "onreply_route"
    /// `onsend_route {}`.
    case onsend = "onsend_route"
    /// `event_route[module:event]`.
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
    /// Module name.
    public var module: String
    /// Parameter name.
    public var name: String
    /// The value expression (a constant after folding).
    public var value: ScriptExpression
    /// Where `modparam` is.
    public var location: ScriptSourceLocation
}

/// `loadmodule "x.so"`.
public struct ScriptLoadModuleDecl: Sendable {
    /// The path as written (`tm.so`, `/usr/lib/.../tm.so`).
    public var path: String
    /// Where `loadmodule` is.
    public var location: ScriptSourceLocation
}

/// A parsed script: the global section and the routes, in file order.
public struct ScriptSyntaxTree: Sendable {
    /// `name = value` lines.
    public var globals: [ScriptGlobalAssign] = []
    /// `loadpath "dir"` directories.
    public var loadPaths: [String] = []
    /// `loadmodule` lines.
    public var loadModules: [ScriptLoadModuleDecl] = []
    /// `modparam` lines.
    public var modParams: [ScriptModParamDecl] = []
    /// Route blocks in file order.
    public var routes: [ScriptRouteDecl] = []
    /// Files read, main file first (filled by `ScriptFrontEnd`).
    public var sourceFiles: [String] = []
}
