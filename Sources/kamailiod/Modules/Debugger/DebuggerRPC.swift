import Control
import SIPTransport
import ScriptEngine
import Shared
import Synchronization

/// One row of the process table as the debugger sees it.
struct DebuggerProcess {
    var entry: Int
    var pid: Int
    /// SIP worker index; nil for threads that never stop (main, timer, control).
    var worker: Int?
}

/// The `dbg.*` control methods: Kamailio 5.6.3's names, parameters, replies and faults
/// (`rpc-examples/dbg.*.json`), with the fixes and extensions of DBG-CONTRACT.md.
extension DebuggerModule: RPCMethodProvider {
    static func fault(_ text: String) -> RPCFault { RPCFault(code: 500, message: text) }

    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        declareCfgGroup(environment)
        let control = DebuggerControl(engine: engine, environment: environment)
        var list = [
            RPCMethod("dbg.ls", help: "List debugging process array", signature: "[pid:d]") { call throws(RPCFault) in
                try control.list(call)
            },
            RPCMethod("dbg.bp", help: "Breakpoint command", signature: "<cmd:s> [pid:d] [pv:s]") { call throws(RPCFault) in
                try control.breakpoint(call)
            },
            RPCMethod("dbg.trace", help: "Config trace command", signature: "<on|off:s> [pid:d]") { call throws(RPCFault) in
                try control.trace(call)
            },
            RPCMethod("dbg.bp_add", help: "Add a line breakpoint (file:line, line or route:NAME)",
                      signature: "<location:s>") { call throws(RPCFault) in
                try control.addBreakpoint(call)
            },
            RPCMethod("dbg.bp_del", help: "Delete a line breakpoint by id or location",
                      signature: "<id:d|location:s>") { call throws(RPCFault) in
                try control.deleteBreakpoint(call)
            },
            RPCMethod("dbg.bp_list", help: "List the line breakpoints", returnsArray: true) { call in
                control.listBreakpoints(call)
            },
            RPCMethod("dbg.source", help: "Lines of a loaded script file", signature: "[file:s]",
                      returnsArray: true) { call throws(RPCFault) in
                try control.source(call)
            },
            RPCMethod("dbg.get_mod_level", help: "Get module log level", signature: "<module:s>") { call throws(RPCFault) in
                try control.getModLevel(call)
            },
            RPCMethod("dbg.set_mod_facility", help: "Specify module log facility",
                      signature: "<module:s> <facility:s>") { call throws(RPCFault) in
                try control.setModFacility(call)
            },
            RPCMethod("dbg.get_mod_facility", help: "Get module log facility", signature: "<module:s>") { call throws(RPCFault) in
                try control.getModFacility(call)
            },
            RPCMethod("dbg.reset_msgid", help: "Reset msgid on all process") { call throws(RPCFault) in
                try control.resetMsgid(call)
            },
        ]
        // Kamailio documents dbg.mod_level but registers only dbg.set_mod_level; we have both.
        for name in ["dbg.set_mod_level", "dbg.mod_level"] {
            list.append(RPCMethod(name, help: "Specify module log level", signature: "<module:s> <level:d>") { call throws(RPCFault) in
                try control.setModLevel(call)
            })
        }
        return list
    }

    /// cfg group `dbg` (cfg.get dbg mod_level_mode ...), when cfg_rpc is loaded.
    private func declareCfgGroup(_ environment: ControlEnvironment) {
        guard let cfg = environment.script.module(named: "cfg_rpc") as? CfgRPCModule else { return }
        let levels = engine.levels
        let settings = engine.settings
        func mode(_ name: String, facility: Bool, _ description: String) -> CfgVariable {
            CfgVariable(name, kind: .int, min: 0, max: 1, description: description,
                        read: { .int(facility ? levels.facilityMode.load(ordering: .relaxed) : levels.levelMode.load(ordering: .relaxed)) },
                        write: { v in
                            guard case .int(let i) = v else { return }
                            if facility { levels.facilityMode.store(i, ordering: .relaxed) } else { levels.levelMode.store(i, ordering: .relaxed) }
                            levels.refresh()
                        })
        }
        // mod_hash_size is fixed at start: its range admits only -1, which is ignored, so
        // cfg.set answers 400 as Kamailio's read-only variable does.
        cfg.registry.declare(CfgGroup("dbg", [
            mode("mod_level_mode", facility: false, "Enable or disable per module log level (0 - disabled, 1 - enabled)"),
            mode("mod_facility_mode", facility: true,
                 "Enable or disable per module log facility (0 - disabled, 1 - enabled)"),
            CfgVariable("mod_hash_size", kind: .int, min: -1, max: -1,
                        description: "power of two as size of internal hash table to store levels per module",
                        read: { .int(settings.modHashSize.load(ordering: .relaxed)) }, write: { _ in }),
        ]))
    }
}
