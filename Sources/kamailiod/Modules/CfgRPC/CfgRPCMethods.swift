import Control
import ScriptEngine
import Shared
import Synchronization

/// The `cfg.*` methods: names, parameters, replies and fault texts of Kamailio 5.6.3
/// (`rpc-examples/cfg.*.json`). A refused change answers Kamailio's fault text; the
/// reason (range, type, restart needed) goes to the log, as Kamailio logs it.
enum CfgRPCMethods {
    static let setFailed = RPCFault(code: 400, message: "Failed to set the variable")
    static let badInstance = RPCFault(code: 400, message: "Wrong group syntax. Use \"group[id]\"")

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
    static func methods(_ r: CfgRegistry, log: @escaping @Sendable (String) -> Void) -> [RPCMethod] {
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
                guard ok else {
                    log("\(name): \(r.lastRefusal ?? "refused")")
                    throw setFailed
                }
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
        return setters.map { setter($0.0, $0.1, $0.2, delayed: $0.3, $0.4) } + reading(r) + staging(r) + instances(r)
    }

    /// `cfg.list`, `cfg.get`, `cfg.help`.
    static func reading(_ r: CfgRegistry) -> [RPCMethod] {
        [
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
                    // the whole group's readable variables; an unknown group is an empty struct
                    let vars = r.group(CfgRegistry.instance(group)?.group ?? group)?.variables ?? []
                    call.add(.struct(vars.filter(\.readable).compactMap { v in
                        r.value(group, v.name).map { RPCMember(v.name, rpc($0)) }
                    }))
                    return
                }
                guard let v = r.variable(group, name), let value = r.value(group, name) else {
                    throw RPCFault(code: 400, message: "Failed to get the variable")
                }
                guard v.readable else {
                    throw RPCFault(code: 400, message: "Variable exists, but it is not readable via RPC interface")
                }
                call.add(rpc(value))
            },
            // kamailiod's: everything kamcon's Parameters screen shows, in one call
            // (Kamailio's cfg.help gives no range and no "needs a restart").
            RPCMethod("cfg.info", help: "List every variable with type, range, readability, restart need and description.",
                      signature: "[group:s]", returnsArray: true) { call throws(RPCFault) in
                let only = call.optionalString()
                for g in r.groups where only == nil || only == g.name {
                    for v in g.variables {
                        call.add(.object([
                            "group": .string(g.name), "name": .string(v.name),
                            "type": .string(v.kind == .int ? "int" : "string"),
                            "min": .int(v.min), "max": .int(v.max), "readable": .int(v.readable ? 1 : 0),
                            "restart": .int(v.applies == .restart ? 1 : 0), "description": .string(v.description),
                        ]))
                    }
                }
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
        ]
    }

    /// `cfg.commit`, `cfg.rollback`, `cfg.diff`, `cfg.reset`.
    static func staging(_ r: CfgRegistry) -> [RPCMethod] {
        [
            RPCMethod("cfg.commit", help: "Commit the previously prepared configuration changes.") { _ in r.commit() },
            RPCMethod("cfg.rollback", help: "Drop the prepared configuration changes.") { _ in r.rollback() },
            RPCMethod("cfg.diff", help: "List the pending configuration changes that have not been committed yet.") { call in
                for c in r.staged {
                    let old = r.value(c.group, c.variable) ?? .string(nil)
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

    /// The `group[id]` parameter of an instance method.
    @Sendable static func instanceName(_ call: RPCCall) throws(RPCFault) -> String {
        let text = try call.string()
        guard let (_, id) = CfgRegistry.instance(text), id != nil else { throw badInstance }
        return text
    }

    /// Group instances: `cfg.add_group_inst`, `cfg.del_group_inst`, `cfg.del`, `cfg.del_delayed`.
    static func instances(_ r: CfgRegistry) -> [RPCMethod] {
        func delete(_ name: String, _ help: String) -> RPCMethod {
            RPCMethod(name, help: help, signature: "<group[id]:s> <var:s>") { call throws(RPCFault) in
                let inst = try instanceName(call)
                guard r.deleteInstanceValue(inst, try call.string()) else {
                    throw RPCFault(code: 400, message: "Failed to delete the value")
                }
            }
        }
        return [
            RPCMethod("cfg.add_group_inst", help: "Add a new instance to an existing configuration group.",
                      signature: "<group[id]:s>") { call throws(RPCFault) in
                guard r.addInstance(try instanceName(call)) else {
                    throw RPCFault(code: 400, message: "Failed to add the group instance")
                }
            },
            RPCMethod("cfg.del_group_inst", help: "Delete an instance of a configuration group.",
                      signature: "<group[id]:s>") { call throws(RPCFault) in
                guard r.deleteInstance(try instanceName(call)) else {
                    throw RPCFault(code: 400, message: "Failed to delete the group instance")
                }
            },
            // kamailiod applies instance values at once, so "delayed" deletes at once too
            delete("cfg.del", "Delete the value of a configuration variable from a group instance and commit the change immediately."),
            delete("cfg.del_delayed", "Prepare the deletion of the value of a configuration variable from a group instance."),
        ]
    }
}
