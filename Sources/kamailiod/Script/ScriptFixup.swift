/// Load-time preparation of function arguments ("fixups" in Kamailio).

/// A function argument as written, handed to a fixup.
public enum ScriptArgument: Sendable {
    /// An integer literal (or a define that expanded to one, or a constant expression).
    case int(Int32)
    /// A string literal (or a bare word such as a route name).
    case string(String)
    /// Anything computed per message: a pseudo-variable, arithmetic, ...
    case expression(ScriptCompiledExpression)
}

/// One prepared argument, stored with the call site and handed to `run`.
public enum ScriptFixedArg: Sendable {
    /// A constant integer.
    case int(Int32)
    /// Constant text.
    case string([UInt8])
    /// Text with pseudo-variables, rendered per message.
    case format(ScriptFormat)
    /// A value computed per message.
    case expression(ScriptCompiledExpression)
    /// A compiled regular expression.
    case regex(ScriptRegex)
    /// A route resolved at load time.
    case route(ScriptRouteRef)
    /// A pseudo-variable the function reads or writes.
    case pv(ScriptCompiledPV)
    /// Anything a module pre-parsed for itself (a header name, a status code table...).
    case custom(any Sendable)
}

/// The prepared arguments of one call site.
public struct ScriptFixedArgs: Sendable {
    /// The arguments in order.
    public var values: [ScriptFixedArg]

    /// Wraps prepared arguments.
    public init(_ values: [ScriptFixedArg]) {
        self.values = values
    }

    /// Number of arguments.
    public var count: Int { values.count }

    /// The argument at `i`, or empty text when the call had fewer arguments (so an
    /// optional trailing argument can be read without a bounds check).
    public subscript(_ i: Int) -> ScriptFixedArg {
        i < values.count ? values[i] : .string([])
    }

    /// A module's own pre-parsed value at `i`.
    public func custom<T: Sendable>(_ i: Int, as type: T.Type) -> T? {
        if i < values.count, case .custom(let v) = values[i] { return v as? T }
        return nil
    }
}

/// What a fixup sees: the written arguments, where they are, and helpers that turn them
/// into prepared values or load-time errors pointing at the argument.
public final class ScriptFixupContext {
    /// The function (or `$name` for a pseudo-variable fixup).
    public let functionName: String
    /// The arguments as written.
    public let arguments: [ScriptArgument]
    /// Where the call is.
    public let location: ScriptSourceLocation
    /// Where each argument is (for errors; fixups that delegate pass them on).
    let argumentLocations: [ScriptSourceLocation]
    /// The load's symbol table.
    let symbols: ScriptSymbols

    /// Made by the compiler for each call site or pseudo-variable occurrence.
    init(functionName: String, arguments: [ScriptArgument], location: ScriptSourceLocation,
         argumentLocations: [ScriptSourceLocation], symbols: ScriptSymbols) {
        self.functionName = functionName
        self.arguments = arguments
        self.location = location
        self.argumentLocations = argumentLocations
        self.symbols = symbols
    }

    /// The core parameters (for modules whose fixups depend on them).
    public var core: ScriptCoreConfig { symbols.core }

    /// An error at argument `argument` (or at the call).
    public func error(_ message: String, argument: Int? = nil) -> ScriptError {
        let loc = argument.flatMap { $0 < argumentLocations.count ? argumentLocations[$0] : nil } ?? location
        return ScriptError(message, at: loc)
    }

    private func arg(_ i: Int) throws(ScriptError) -> ScriptArgument {
        guard i < arguments.count else { throw error("'\(functionName)' needs argument \(i + 1)") }
        return arguments[i]
    }

    /// A constant integer; a string of digits (`"404"`) is accepted as Kamailio does.
    public func fixupInt(_ i: Int) throws(ScriptError) -> Int32 {
        switch try arg(i) {
        case .int(let v): return v
        case .string(let s):
            if let v = ScriptValue.parseInt(Array(s.utf8)[...]) { return v }
            throw error("expected an integer as argument \(i + 1) of '\(functionName)', found \"\(s)\"", argument: i)
        case .expression:
            throw error("expected a constant integer as argument \(i + 1) of '\(functionName)'", argument: i)
        }
    }

    /// A constant string (integers are accepted as their decimal text).
    public func fixupString(_ i: Int) throws(ScriptError) -> String {
        switch try arg(i) {
        case .int(let v): return String(v)
        case .string(let s): return s
        case .expression:
            throw error("expected a constant string as argument \(i + 1) of '\(functionName)'", argument: i)
        }
    }

    /// Text that may contain pseudo-variables (`"From $fu to $ru"`), compiled once.
    /// A non-constant argument becomes a format that prints its value.
    public func fixupFormat(_ i: Int) throws(ScriptError) -> ScriptFormat {
        switch try arg(i) {
        case .int(let v): return ScriptFormat(constant: String(v))
        case .string(let s): return try compileFormat(s, argument: i)
        case .expression(let e): return ScriptFormat(expression: e)
        }
    }

    /// Compiles `text` as a format string; errors point at argument `argument`.
    public func compileFormat(_ text: String, argument: Int? = nil) throws(ScriptError) -> ScriptFormat {
        do {
            return try ScriptFormat.compile(text, symbols: symbols)
        } catch {
            throw self.error(error.message, argument: argument)
        }
    }

    /// A constant POSIX extended, case-insensitive regular expression.
    public func fixupRegex(_ i: Int, caseInsensitive: Bool = true) throws(ScriptError) -> ScriptRegex {
        let pattern = try fixupString(i)
        do {
            return try ScriptRegex(pattern, caseInsensitive: caseInsensitive)
        } catch {
            throw self.error(error.message, argument: i)
        }
    }

    /// A route of family `type` named by a constant argument; an undefined route is an error.
    public func fixupRoute(_ i: Int, _ type: ScriptRouteType) throws(ScriptError) -> ScriptRouteRef {
        let name = try fixupString(i)
        guard let ref = symbols.routeRef(type, name) else {
            throw error("\(type.rawValue)[\(name)] is not defined", argument: i)
        }
        return ref
    }

    /// A pseudo-variable named by the argument (`"$avp(x)"` or `$avp(x)` written bare).
    public func fixupPV(_ i: Int, writable: Bool = false) throws(ScriptError) -> ScriptCompiledPV {
        let pv: ScriptCompiledPV
        switch try arg(i) {
        case .expression(let e):
            guard case .pv(let p) = e.node else { throw error("expected a pseudo-variable as argument \(i + 1)", argument: i) }
            pv = p
        case .string(let s) where s.hasPrefix("$"):
            do {
                pv = try symbols.compilePV(try ScriptPVSpec.parse(String(s.dropFirst())), at: argLocation(i))
            } catch let e as ScriptPVSyntaxError {
                throw error(e.message, argument: i)
            } catch let e as ScriptError {
                throw e
            } catch {
                throw self.error("expected a pseudo-variable", argument: i)
            }
        default:
            throw error("expected a pseudo-variable as argument \(i + 1) of '\(functionName)'", argument: i)
        }
        if writable, !pv.isWritable { throw error("'\(pv.spec)' cannot be assigned", argument: i) }
        return pv
    }

    private func argLocation(_ i: Int) -> ScriptSourceLocation {
        i < argumentLocations.count ? argumentLocations[i] : location
    }

    /// The fixup used when a function declares none: integers stay integers, strings
    /// with `$` become formats, other strings stay text, expressions stay expressions.
    public func defaultArgs() throws(ScriptError) -> ScriptFixedArgs {
        var out: [ScriptFixedArg] = []
        for i in arguments.indices {
            switch arguments[i] {
            case .int(let v): out.append(.int(v))
            case .string(let s):
                if s.utf8.contains(UInt8(ascii: "$")) {
                    out.append(.format(try compileFormat(s, argument: i)))
                } else {
                    out.append(.string(Array(s.utf8)))
                }
            case .expression(let e): out.append(.expression(e))
            }
        }
        return ScriptFixedArgs(out)
    }
}
