import ScriptEngine
import Synchronization

/// Shared in-memory hash tables (Kamailio's `htable`): tables defined with
/// `modparam("htable", "htable", "name=>size=4;autoexpire=60;initval=0")`, read and written
/// through `$sht(name=>key)`, counted with `$shtinc`/`$shtdec`, filled at start-up by
/// `event_route[htable:mod-init]`. Database loading (`dbtable`) is accepted and ignored.
public final class HTableModule: ScriptModule {
    public let name = "htable"
    private let runtime: CoreRuntime
    private let state = Mutex<[String: HTable]>([:])
    /// Table names in definition order, so `htable.listTables` and `htable.stats` list
    /// them the way the script declared them.
    private let order = Mutex<[String]>([])

    /// A module without tables; `modparam` lines add them.
    public init(runtime: CoreRuntime) { self.runtime = runtime }

    /// The table with this name, if defined.
    public func table(_ name: String) -> HTable? { state.withLock { $0[name] } }

    /// Every table, in definition order.
    public var tables: [HTable] {
        let names = order.withLock { $0 }
        return state.withLock { t in names.compactMap { t[$0] } }
    }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("htable", .string) { [self] v throws(ScriptFixupError) in
                let def = try HTableDefinition(parsing: v.stringValue)
                try self.state.withLock { tables throws(ScriptFixupError) in
                    guard tables[def.name] == nil else { throw ScriptFixupError("table '\(def.name)' is defined twice") }
                    tables[def.name] = HTable(def)
                }
                self.order.withLock { $0.append(def.name) }
            },
            // Accepted so that scripts written for Kamailio load; expiry is checked on access.
            ScriptModuleParameter("timer_interval", .int) { _ in },
            ScriptModuleParameter("db_url", .string) { _ in },
            ScriptModuleParameter("enable_dmq", .int) { _ in },
        ]
    }

    /// `t=>key` split at load time: the table resolved, the key compiled as a format.
    struct Reference: Sendable {
        let table: HTable
        let key: ScriptFormat

        func key(_ ctx: ScriptContext) -> String { key.string(ctx) }
    }

    private func reference(_ text: String, _ f: ScriptFixupContext, argument: Int? = nil) throws(ScriptError) -> Reference {
        guard let arrow = text.range(of: "=>") else {
            throw f.error("expected 'table=>key', found '\(text)'", argument: argument)
        }
        let tname = String(text[..<arrow.lowerBound])
        guard let table = table(tname) else {
            throw f.error("htable '\(tname)' is not defined (modparam(\"htable\", \"htable\", \"\(tname)=>...\"))",
                          argument: argument)
        }
        return Reference(table: table, key: try f.compileFormat(String(text[arrow.upperBound...]), argument: argument))
    }

    private func pv(_ pvName: String,
                    _ make: @escaping @Sendable (Reference) -> ScriptPVAccessor) -> ScriptPVDefinition {
        ScriptPVDefinition(pvName) { [self] spec, f throws(ScriptError) in
            make(try reference(spec.argument ?? "", f))
        }
    }

    public var pseudoVariables: [ScriptPVDefinition] {
        [
            pv("sht") { r in
                ScriptPVAccessor(get: { r.table.get(r.key($0)) }, set: { ctx, v, _ in r.table.set(r.key(ctx), v) })
            },
            pv("shtex") { r in
                ScriptPVAccessor(get: { .int(r.table.expiresIn(r.key($0))) },
                                 set: { ctx, v, _ in r.table.setExpires(r.key(ctx), v.intValue) })
            },
            pv("shtinc") { r in ScriptPVAccessor(get: { r.table.add(r.key($0), 1) }) },
            pv("shtdec") { r in ScriptPVAccessor(get: { r.table.add(r.key($0), -1) }) },
            // $shtcn(t=>regex): how many item names match (POSIX extended; "**" counts all)
            ScriptPVDefinition("shtcn") { [self] spec, f throws(ScriptError) in
                let r = try reference(spec.argument ?? "", f)
                return ScriptPVAccessor(get: { ctx in
                    let pattern = r.key(ctx)
                    if pattern == "**" { return .int(Int32(truncatingIfNeeded: r.table.count { _ in true })) }
                    guard let re = try? ScriptRegex(pattern, caseInsensitive: false) else { return .null }
                    return .int(Int32(truncatingIfNeeded: r.table.count { re.matches(Array($0.utf8)) }))
                })
            },
        ]
    }

    public var functions: [ScriptFunction] {
        let refFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { [self] f throws(ScriptError) in
            ScriptFixedArgs([.custom(try reference(try f.fixupString(0), f, argument: 0))])
        }
        let tableFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { [self] f throws(ScriptError) in
            let tname = try f.fixupString(0)
            guard let t = table(tname) else { throw f.error("htable '\(tname)' is not defined", argument: 0) }
            var out: [ScriptFixedArg] = [.custom(t)]
            for i in 1..<f.arguments.count { out.append(.format(try f.fixupFormat(i))) }
            return ScriptFixedArgs(out)
        }
        return [
            // sht_rm("t", "key"): 1 when removed, -1 when absent
            ScriptFunction("sht_rm", arity: 2...2, fixup: tableFixup) { ctx, args in
                guard let t = args.custom(0, as: HTable.self) else { return -1 }
                return t.remove(ctx.string(args[1])) ? 1 : -1
            },
            ScriptFunction("sht_reset", arity: 1...1, fixup: tableFixup) { _, args in
                args.custom(0, as: HTable.self)?.reset()
                return 1
            },
            ScriptFunction("sht_lock", arity: 1...1, fixup: refFixup) { ctx, args in
                guard let r = args.custom(0, as: Reference.self) else { return -1 }
                r.table.lock(r.key(ctx))
                ctx.heldLocks += 1  // the debugger must not park while a bucket is locked
                return 1
            },
            ScriptFunction("sht_unlock", arity: 1...1, fixup: refFixup) { ctx, args in
                guard let r = args.custom(0, as: Reference.self) else { return -1 }
                r.table.unlock(r.key(ctx))
                ctx.heldLocks = max(0, ctx.heldLocks - 1)
                return 1
            },
            // sht_rm_name_re("t=>regex") / sht_rm_value_re("t=>regex")
            ScriptFunction("sht_rm_name_re", arity: 1...1, fixup: refFixup) { ctx, args in
                Self.removeMatching(ctx, args, names: true)
            },
            ScriptFunction("sht_rm_value_re", arity: 1...1, fixup: refFixup) { ctx, args in
                Self.removeMatching(ctx, args, names: false)
            },
            // sht_setxi/sht_setxs("t", "key", value, expire). Kamailio 5.6 returns 0 from
            // them, which ends the script: an obvious defect, so we return 1.
            ScriptFunction("sht_setxi", arity: 4...4, fixup: tableFixup) { ctx, args in
                Self.setWithExpiry(ctx, args, .int(ScriptValue.parseInt(ctx.bytes(args[2])[...]) ?? 0))
            },
            ScriptFunction("sht_setxs", arity: 4...4, fixup: tableFixup) { ctx, args in
                Self.setWithExpiry(ctx, args, .str(ctx.bytes(args[2])))
            },
        ]
    }

    private static func removeMatching(_ ctx: ScriptContext, _ args: ScriptFixedArgs, names: Bool) -> Int32 {
        guard let r = args.custom(0, as: Reference.self),
              let re = try? ScriptRegex(r.key(ctx), caseInsensitive: false) else { return -1 }
        r.table.removeAll { key, value in re.matches(names ? Array(key.utf8) : value.bytes) }
        return 1
    }

    private static func setWithExpiry(_ ctx: ScriptContext, _ args: ScriptFixedArgs, _ value: ScriptValue) -> Int32 {
        guard let t = args.custom(0, as: HTable.self) else { return -1 }
        let key = ctx.string(args[1])
        t.set(key, value)
        t.setExpires(key, ScriptValue.parseInt(ctx.bytes(args[3])[...]) ?? 0)
        return 1
    }

    /// Runs `event_route[htable:mod-init]` once, where the script fills its tables.
    /// The daemon does not hand services to the loader, so without them the route runs
    /// over services made from the runtime (logging and `myself` are all it can need).
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        guard context.script.hasRoute(.event, "htable:mod-init") else { return }
        let services = context.services ?? HTableInitServices(runtime: runtime)
        _ = context.script.runEventRoute("htable:mod-init", services: services,
                                         worker: context.script.makeWorkerState(worker: -1))
    }
}

/// Services for routes run at start-up when the daemon gave none.
final class HTableInitServices: ScriptServices {
    let runtime: CoreRuntime

    init(runtime: CoreRuntime) { self.runtime = runtime }

    func log(level: Int32, _ text: String) {
        let l = CoreLogLevel(rawValue: Int(level)) ?? .error
        if runtime.logEnabled(l) { runtime.log(l, "htable", text) }
    }

    func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool {
        runtime.isMyself(host: host, port: port)
    }
}
