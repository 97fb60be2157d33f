import Control
import ScriptEngine
import Shared
import Synchronization

/// `cfg_rpc`: the `cfg.*` control methods over the runtime-configuration table
/// (Kamailio's cfg framework): read, change now, stage and commit, reset to startup.
///
/// Groups: `core` (`debug`, bound to the daemon's log level by the App), `maxfwd`
/// (`max_limit`) when maxfwd is loaded, and every custom group the script declares
/// with `group.var = value desc "..."`.
public final class CfgRPCModule: ScriptModule, RPCMethodProvider {
    public let name = "cfg_rpc"
    public let parameters: [ScriptModuleParameter] = []
    public let functions: [ScriptFunction] = []
    /// The table; shared by every transport.
    public let registry = CfgRegistry()
    /// `core.debug`: its value and what applies a change (the daemon's logger).
    private let coreDebug = CoreDebugBinding()

    /// `core.debug`'s level and what applies a change; a class of its own so the
    /// variable's closures can hold it without holding the module.
    final class CoreDebugBinding: Sendable {
        let state = Mutex<(level: Int, apply: (@Sendable (Int) -> Void)?)>((0, nil))
    }

    /// The module.
    public init() {}

    /// Binds `core.debug` to the daemon's log level: `level` is the level in force now,
    /// `apply` is called with each new level set over RPC.
    public func bindCoreDebug(level: Int, apply: @escaping @Sendable (Int) -> Void) {
        coreDebug.state.withLock { $0 = (level, apply) }
    }

    /// Declares the groups of the loaded script and returns the `cfg.*` methods.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        declareGroups(environment.script)
        return CfgRPCMethods.methods(registry)
    }

    /// Fills the table from the script: core, the modules that expose variables, custom groups.
    func declareGroups(_ script: LoadedScript) {
        let debug = coreDebug
        if debug.state.withLock({ $0.apply == nil }) {
            // not started by the daemon (tests): the script's own level is the one in force
            debug.state.withLock { $0.level = script.core.debug }
        }
        registry.declare(CfgGroup("core", [
            CfgVariable("debug", kind: .int, description: "debug level",
                        read: { .int(debug.state.withLock { $0.level }) },
                        write: { v in
                            guard case .int(let l) = v else { return }
                            let apply = debug.state.withLock { s in
                                s.level = l
                                return s.apply
                            }
                            apply?(l)
                        }),
        ]))
        if let maxfwd = script.modules.lazy.compactMap({ $0 as? MaxFwdModule }).first {
            registry.declare(CfgGroup("maxfwd", [
                CfgVariable("max_limit", kind: .int, min: 0, max: 255, description: "Max. maxfwd limit",
                            read: { .int(maxfwd.maxLimit.load(ordering: .relaxed)) },
                            write: { v in if case .int(let i) = v { maxfwd.maxLimit.store(i, ordering: .relaxed) } }),
            ]))
        }
        if let registrar = script.modules.lazy.compactMap({ $0 as? RegistrarModule }).first {
            registry.declare(Self.registrarGroup(registrar))
        }
        var custom: [String: [CfgVariable]] = [:]
        var order: [String] = []
        for v in script.core.customVars {
            let value: CfgValue = if case .int(let i) = v.value { .int(i) } else { .string(v.value.text) }
            if custom[v.group] == nil { order.append(v.group) }
            custom[v.group, default: []].append(.stored(v.name, value, description: v.description ?? ""))
        }
        for g in order { registry.declare(CfgGroup(g, custom[g] ?? [])) }
    }

    /// registrar's limits. Its settings sit behind a mutex that `save()` and `lookup()`
    /// read once per message, so a change applies from the next REGISTER on.
    static func registrarGroup(_ registrar: RegistrarModule) -> CfgGroup {
        func int(_ name: String, min: Int = 0, max: Int = 0, _ description: String,
                 _ path: WritableKeyPath<RegistrarModule.Settings, Int> & Sendable) -> CfgVariable {
            CfgVariable(name, kind: .int, min: min, max: max, description: description,
                        read: { .int(registrar.settings.withLock { $0[keyPath: path] }) },
                        write: { v in if case .int(let i) = v { registrar.settings.withLock { $0[keyPath: path] = i } } })
        }
        return CfgGroup("registrar", [
            int("default_expires", "Expiry in seconds of a contact that asks for none", \.defaultExpires),
            int("min_expires", "Shortest accepted contact expiry in seconds (0: unchecked)", \.minExpires),
            int("max_expires", "Longest accepted contact expiry in seconds (0: unchecked)", \.maxExpires),
            int("max_contacts", "Most contacts kept per address-of-record (0: unlimited)", \.maxContacts),
            int("default_q", min: -1, max: 1000, "q value of a contact that gives none (-1: unset)", \.defaultQ),
            CfgVariable("append_branches", kind: .int, description: "1: lookup() adds every contact as a branch",
                        read: { .int(registrar.settings.withLock { $0.appendBranches } ? 1 : 0) },
                        write: { v in if case .int(let i) = v { registrar.settings.withLock { $0.appendBranches = i != 0 } } }),
        ])
    }
}

/// The `cfg.*` methods: names, parameters, replies and fault texts of Kamailio 5.6.3
/// (`rpc-examples/cfg.*.json`).
enum CfgRPCMethods {
    static let setFailed = RPCFault(code: 400, message: "Failed to set the variable")

    /// A value as the RPC shows it: a missing string is null.
    static func rpc(_ v: CfgValue) -> RPCValue {
        switch v {
        case .int(let i): return .int(i)
        case .string(let s): return s.map { .string($0) } ?? .null
        }
    }

    /// Reads the value parameter of `cfg.set`/`cfg.set_delayed`: its kind follows the
    /// parameter's own type. Over JSON-RPC a string for an integer variable reads as 0,
    /// as jsonrpcs' numeric scan does (observed).
    static func anyValue(_ call: RPCCall, for variable: CfgVariable?) throws(RPCFault) -> CfgValue {
        let index = call.nextParameter
        if index < call.params.count, case .string = call.params[index] {
            let s = try call.string()
            if call.transport == .jsonRPC, variable?.kind == .int { return .int(0) }
            return .string(s)
        }
        return .int(try call.int())
    }

    /// Every method.
    static func methods(_ r: CfgRegistry) -> [RPCMethod] {
        typealias Reader = @Sendable (RPCCall, CfgVariable?) throws(RPCFault) -> CfgValue
        let readInt: Reader = { call, _ throws(RPCFault) in .int(try call.int()) }
        let readString: Reader = { call, _ throws(RPCFault) in .string(try call.string(convertNumbers: true)) }
        let readAny: Reader = { call, v throws(RPCFault) in try anyValue(call, for: v) }
        func setter(_ name: String, _ help: String, _ type: String, delayed: Bool, _ read: @escaping Reader) -> RPCMethod {
            RPCMethod(name, help: help, signature: "<group:s> <var:s> <value:\(type)>") { call throws(RPCFault) in
                let group = try call.string()
                let variable = try call.string()
                let value = try read(call, r.variable(group, variable))
                let ok = delayed ? r.stage(group, variable, value) : r.set(group, variable, value)
                guard ok else { throw setFailed }
            }
        }
        let now = "Set the value of a configuration variable and commit the change immediately."
        let later = "Prepare the change of a configuration variable, but does not commit the new value yet."
        // Kamailio's names: each kind under a long and (for "now") a short name.
        let setters: [(String, String, String, Bool, Reader)] = [
            ("cfg.set_now_int", now, "i", false, readInt), ("cfg.seti", now, "i", false, readInt),
            ("cfg.set_now_string", now, "s", false, readString), ("cfg.sets", now, "s", false, readString),
            ("cfg.set", now, "i|s", false, readAny),
            ("cfg.set_delayed_int", later, "i", true, readInt), ("cfg.set_delayed_string", later, "s", true, readString),
            ("cfg.set_delayed", later, "i|s", true, readAny),
        ]
        return setters.map { setter($0.0, $0.1, $0.2, delayed: $0.3, $0.4) } + [
            RPCMethod("cfg.list", help: "List the configuration variables.", signature: "[group:s]",
                      returnsArray: true) { call throws(RPCFault) in
                let only = call.optionalString()
                for g in r.groups where only == nil || only == g.name {
                    for v in g.variables { call.add(.string("\(g.name): \(v.name)")) }
                }
            },
            RPCMethod("cfg.get", help: "Get the value of a configuration variable.",
                      signature: "<group:s> [var:s]") { call throws(RPCFault) in
                let group = try call.string()
                guard let name = call.optionalString() else {
                    // the whole group; an unknown group is an empty struct, not an error
                    let vars = r.group(group)?.variables ?? []
                    call.add(.struct(vars.map { RPCMember($0.name, rpc($0.read())) }))
                    return
                }
                guard let v = r.variable(group, name) else { throw RPCFault(code: 400, message: "Failed to get the variable") }
                call.add(rpc(v.read()))
            },
            RPCMethod("cfg.help", help: "Print the description of a configuration variable.",
                      signature: "<group:s> <var:s>") { call throws(RPCFault) in
                let group = try call.string()
                let name = try call.string()
                guard let v = r.variable(group, name) else {
                    throw RPCFault(code: 400, message: "Failed to get the variable description")
                }
                call.add(.string(v.description))
                call.add(.string(v.kind == .int ? "(parameter type is integer)" : "(parameter type is string)"))
            },
            RPCMethod("cfg.commit", help: "Commit the previously prepared configuration changes.") { _ in r.commit() },
            RPCMethod("cfg.rollback", help: "Drop the prepared configuration changes.") { _ in r.rollback() },
            RPCMethod("cfg.diff", help: "List the pending configuration changes that have not been committed yet.") { call in
                for c in r.staged {
                    let old = r.variable(c.group, c.variable)?.read() ?? .string(nil)
                    call.add(.object(["group name": .string(c.group), "variable name": .string(c.variable),
                                      "old value": rpc(old), "new value": rpc(c.value)]))
                }
            },
            RPCMethod("cfg.reset", help: "Reset all the values in the configuration group to the startup values.",
                      signature: "<group:s>") { call throws(RPCFault) in
                // an unknown group has nothing to reset: Kamailio answers it with success too
                r.reset(try call.string())
            },
        ]
    }
}
