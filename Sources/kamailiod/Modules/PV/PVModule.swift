import ScriptEngine
import Synchronization

/// Kamailio's `pv` module. The core pseudo-variables live in the script engine; this
/// module adds shared variables (`$shv`, `modparam("pv", "shvset", "name=i:1")`) and
/// the pseudo-variable tests (`pv_isset`, `pv_unset`, `is_int`, `typeof`, `not_empty`,
/// and avpops' `is_avp_set`, which kamailiod offers here).
public final class PVModule: ScriptModule {
    public let name = "pv"
    /// `$shv` values, shared by every worker; one lock, since each access is one
    /// dictionary operation.
    private let shared = Mutex<[String: ScriptValue]>([:])

    /// The module.
    public init() {}

    /// The current value of `$shv(name)`; 0 when never set, as Kamailio reads an unset one.
    public func sharedValue(_ name: String) -> ScriptValue { shared.withLock { $0[name] } ?? .int(0) }

    public var parameters: [ScriptModuleParameter] {
        [
            // shvset: "name=i:12" or "name=s:text"
            ScriptModuleParameter("shvset", .string) { [self] v throws(ScriptFixupError) in
                let (n, value) = try Self.parseSet(v.stringValue)
                self.shared.withLock { $0[n] = value }
            },
            // varset: "name=i:12" sets the initial $var value; kamailiod starts every $var
            // at 0, so only the syntax is checked.
            ScriptModuleParameter("varset", .string) { v throws(ScriptFixupError) in _ = try Self.parseSet(v.stringValue) },
        ]
    }

    static func parseSet(_ text: String) throws(ScriptFixupError) -> (String, ScriptValue) {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty else { throw ScriptFixupError("expected 'name=i:number' or 'name=s:text'") }
        let v = parts[1]
        if v.hasPrefix("i:"), let n = Int32(v.dropFirst(2)) { return (parts[0], .int(n)) }
        if v.hasPrefix("s:") { return (parts[0], .string(String(v.dropFirst(2)))) }
        throw ScriptFixupError("expected 'name=i:number' or 'name=s:text', found '\(text)'")
    }

    public var pseudoVariables: [ScriptPVDefinition] {
        [
            ScriptPVDefinition("shv") { [self] spec, f throws(ScriptError) in
                guard let n = spec.argument, !n.isEmpty else { throw f.error("$shv needs a name") }
                return ScriptPVAccessor(get: { _ in self.sharedValue(n) },
                                        set: { _, v, _ in self.shared.withLock { $0[n] = v.isNull ? nil : v } })
            },
        ]
    }

    public var functions: [ScriptFunction] {
        let pvFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            var out: [ScriptFixedArg] = [.pv(try f.fixupPV(0))]
            if f.arguments.count > 1 { out.append(.string(Array(try f.fixupString(1).utf8))) }
            return ScriptFixedArgs(out)
        }
        @Sendable func value(_ ctx: ScriptContext, _ args: ScriptFixedArgs) -> ScriptValue {
            if case .pv(let pv) = args[0] { return pv.get(ctx) }
            return .null
        }
        return [
            ScriptFunction("pv_isset", arity: 1...1, fixup: pvFixup) { ctx, args in value(ctx, args).isNull ? -1 : 1 },
            ScriptFunction("is_avp_set", arity: 1...1, fixup: pvFixup) { ctx, args in value(ctx, args).isNull ? -1 : 1 },
            // pv_unset: assigns $null, with the variable's own rules for it (a $var
            // becomes 0, an AVP loses its newest value)
            ScriptFunction("pv_unset", arity: 1...1, fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.pv(try f.fixupPV(0, writable: true))])
            }) { ctx, args in
                guard case .pv(let pv) = args[0] else { return -1 }
                pv.accessor.set?(ctx, .null, false)
                return 1
            },
            ScriptFunction("is_int", arity: 1...1, fixup: pvFixup) { ctx, args in
                if case .int = value(ctx, args) { return 1 }
                return -1
            },
            ScriptFunction("not_empty", arity: 1...1, fixup: pvFixup) { ctx, args in
                if case .str(let b) = value(ctx, args), !b.isEmpty { return 1 }
                return -1
            },
            // typeof($x, "int" | "str" | "null")
            ScriptFunction("typeof", arity: 2...2, fixup: pvFixup) { ctx, args in
                let want = ctx.string(args[1])
                switch value(ctx, args) {
                case .int: return want == "int" ? 1 : -1
                case .str: return want == "str" ? 1 : -1
                case .null: return want == "null" ? 1 : -1
                }
            },
        ]
    }
}
