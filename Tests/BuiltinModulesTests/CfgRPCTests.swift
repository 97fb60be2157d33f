import Control
import SIPCore
import SIPTransport
import ScriptEngine
import Shared
import Testing
@testable import BuiltinModules

@Suite("cfg_rpc")
struct CfgRPCTests {
    private func registry() throws -> RPCRegistry {
        let h = try ModuleHarness("debug=2\nloadmodule \"cfg_rpc.so\"\nloadmodule \"maxfwd.so\"\n"
            + "app.greeting = \"hi\" desc \"what to say\"\napp.limit = 5\nrequest_route {\n}\n")
        return rpcRegistry(h)
    }

    private let setFailed = RPCOutcome.fault(RPCFault(code: 400, message: "Failed to set the variable"))

    @Test("get, list, help: the captured replies and faults")
    func reading() throws {
        let r = try registry()
        #expect(rpc(r, "cfg.get", "core", "debug") == .values([.int(2)]))
        #expect(rpc(r, "cfg.get", "maxfwd") == .values([.object(["max_limit": .int(70)])]))
        #expect(rpc(r, "cfg.get", "nogroup") == .values([.struct([])]))
        #expect(rpc(r, "cfg.get", "maxfwd", "nope") == .fault(RPCFault(code: 400, message: "Failed to get the variable")))
        #expect(rpc(r, "cfg.get", "app", "greeting") == .values(["hi"]))
        #expect(rpc(r, "cfg.list", "maxfwd") == .values(["maxfwd: max_limit"]))
        #expect(rpc(r, "cfg.list") == .values(["core: debug", "core: log_facility", "core: memdbg", "core: memlog",
                                                "core: max_while_loops", "maxfwd: max_limit", "app: greeting", "app: limit"]))
        #expect(rpc(r, "cfg.help", "app", "greeting") == .values(["what to say", "(parameter type is string)"]))
        #expect(rpc(r, "cfg.help", "core", "nonexist")
            == .fault(RPCFault(code: 400, message: "Failed to get the variable description")))
    }

    @Test("set now: range and type are checked; values can be read back")
    func settingNow() throws {
        let r = try registry()
        #expect(rpc(r, "cfg.seti", "maxfwd", "max_limit", .int(60)) == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(60)]))
        #expect(rpc(r, "cfg.set_now_int", "core", "debug", .int(3)) == .values([]))
        #expect(rpc(r, "cfg.get", "core", "debug") == .values([.int(3)]))
        #expect(rpc(r, "cfg.seti", "maxfwd", "max_limit", .int(1000)) == setFailed)
        #expect(rpc(r, "cfg.seti", "maxfwd", "nonexistent", .int(1)) == setFailed)
        #expect(rpc(r, "cfg.sets", "maxfwd", "max_limit", "abc") == setFailed)
        #expect(rpc(r, "cfg.sets", "maxfwd", "max_limit", "67") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(67)]))
        #expect(rpc(r, "cfg.set", "app", "greeting", "hello") == .values([]))
        #expect(rpc(r, "cfg.get", "app", "greeting") == .values(["hello"]))
        // jsonrpcs reads a string in an integer slot as 0 (observed on 5.6.3)
        #expect(rpc(r, "cfg.set", "maxfwd", "max_limit", "63") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(0)]))
        #expect(r.execute("cfg.set", params: ["maxfwd", "max_limit", "63"], transport: .binrpc) == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(63)]))
    }

    @Test("staged changes: diff, commit, rollback, reset to startup")
    func staging() throws {
        let r = try registry()
        #expect(rpc(r, "cfg.set_delayed_int", "maxfwd", "max_limit", .int(50)) == .values([]))
        #expect(rpc(r, "cfg.set_delayed_string", "app", "greeting", "later") == .values([]))
        #expect(rpc(r, "cfg.set_delayed_int", "maxfwd", "max_limit", .int(300)) == setFailed)
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(70)]))
        #expect(r.execute("cfg.diff", params: [], transport: .binrpc) == .values([
            .object(["group name": "maxfwd", "variable name": "max_limit", "old value": .int(70), "new value": .int(50)]),
            .object(["group name": "app", "variable name": "greeting", "old value": "hi", "new value": "later"]),
        ]))
        #expect(rpc(r, "cfg.commit") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(50)]))
        #expect(rpc(r, "cfg.get", "app", "greeting") == .values(["later"]))
        #expect(rpc(r, "cfg.diff") == .values([]))
        #expect(rpc(r, "cfg.set_delayed", "maxfwd", "max_limit", .int(40)) == .values([]))
        #expect(rpc(r, "cfg.rollback") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(50)]))
        #expect(rpc(r, "cfg.reset", "maxfwd") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(70)]))
        #expect(rpc(r, "cfg.reset", "nogroup") == .values([]))
    }

    @Test("registrar's limits: read, changed in range, refused out of range")
    func registrar() throws {
        let h = try ModuleHarness("loadmodule \"cfg_rpc.so\"\nloadmodule \"sl.so\"\nloadmodule \"usrloc.so\"\n"
            + "loadmodule \"registrar.so\"\nmodparam(\"registrar\", \"max_expires\", 600)\nrequest_route {\n}\n")
        let r = rpcRegistry(h)
        #expect(rpc(r, "cfg.get", "registrar", "max_expires") == .values([.int(600)]))
        #expect(rpc(r, "cfg.seti", "registrar", "max_expires", .int(120)) == .values([]))
        #expect(rpc(r, "cfg.get", "registrar", "max_expires") == .values([.int(120)]))
        #expect(rpc(r, "cfg.seti", "registrar", "default_q", .int(2000)) == setFailed)
        #expect(rpc(r, "cfg.reset", "registrar") == .values([]))
        #expect(rpc(r, "cfg.get", "registrar", "max_expires") == .values([.int(600)]))
    }

    @Test("tm's timers are unreadable as in Kamailio; restart-only parameters refuse a change")
    func unreadableAndRestart() throws {
        let h = try ModuleHarness("loadmodule \"cfg_rpc.so\"\nloadmodule \"tm.so\"\nloadmodule \"usrloc.so\"\n"
            + "modparam(\"tm\", \"fr_inv_timer\", 20000)\nrequest_route {\n}\n")
        let r = rpcRegistry(h)
        #expect(rpc(r, "cfg.get", "tm", "fr_timer")
            == .fault(RPCFault(code: 400, message: "Variable exists, but it is not readable via RPC interface")))
        #expect(rpc(r, "cfg.help", "tm", "fr_inv_timer") == .values([
            "timer which hits if no final reply for an INVITE arrives after a provisional message was received (in milliseconds)",
            "(parameter type is integer)"]))
        // the whole group shows only what is readable
        guard case .values(let all) = rpc(r, "cfg.get", "tm"), case .struct(let members) = all.first else {
            Issue.record("cfg.get tm gave no struct")
            return
        }
        #expect(!members.contains { $0.name == "fr_timer" })
        #expect(members.contains { $0.name == "auto_inv_100" })
        #expect(h.runtime.cfg.snapshot.value(try #require(h.runtime.cfg.param("tm", "fr_inv_timer"))) == .int(20000))
        #expect(rpc(r, "cfg.seti", "tm", "fr_inv_timer", .int(0)) == setFailed)
        #expect(rpc(r, "cfg.seti", "tm", "fr_inv_timer", .int(3000)) == .values([]))
        #expect(h.runtime.cfg.snapshot.value(try #require(h.runtime.cfg.param("tm", "fr_inv_timer"))) == .int(3000))
        #expect(rpc(r, "cfg.get", "usrloc", "db_mode") == .values([.int(0)]))
        #expect(rpc(r, "cfg.seti", "usrloc", "db_mode", .int(1)) == setFailed)
        #expect(h.modules.cfgRPC.registry.lastRefusal == "usrloc.db_mode needs a restart to change")
    }

    @Test("group instances: add, inherit, set apart from the main value, delete")
    func instances() throws {
        let r = try registry()
        #expect(rpc(r, "cfg.add_group_inst", "maxfwd[1]") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd[1]", "max_limit") == .values([.int(70)]))
        #expect(rpc(r, "cfg.seti", "maxfwd[1]", "max_limit", .int(33)) == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd[1]", "max_limit") == .values([.int(33)]))
        #expect(rpc(r, "cfg.get", "maxfwd", "max_limit") == .values([.int(70)]))
        #expect(rpc(r, "cfg.seti", "maxfwd[2]", "max_limit", .int(33)) == setFailed)
        #expect(rpc(r, "cfg.del", "maxfwd[1]", "max_limit") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd[1]", "max_limit") == .values([.int(70)]))
        #expect(rpc(r, "cfg.del_group_inst", "maxfwd[1]") == .values([]))
        #expect(rpc(r, "cfg.get", "maxfwd[1]", "max_limit") == .fault(RPCFault(code: 400, message: "Failed to get the variable")))
        #expect(rpc(r, "cfg.add_group_inst", "maxfwd")
            == .fault(RPCFault(code: 400, message: "Wrong group syntax. Use \"group[id]\"")))
        #expect(rpc(r, "cfg.add_group_inst", "nogroup[1]")
            == .fault(RPCFault(code: 400, message: "Failed to add the group instance")))
    }

    @Test("a commit is one new snapshot: a message holding the old one sees none of it")
    func atomicCommit() throws {
        let h = try ModuleHarness("loadmodule \"cfg_rpc.so\"\nloadmodule \"sl.so\"\nloadmodule \"usrloc.so\"\n"
            + "loadmodule \"registrar.so\"\nrequest_route {\n}\n")
        let r = rpcRegistry(h)
        let store = h.runtime.cfg
        let before = store.snapshot
        #expect(rpc(r, "cfg.set_delayed_int", "registrar", "max_expires", .int(100)) == .values([]))
        #expect(rpc(r, "cfg.set_delayed_int", "registrar", "min_expires", .int(10)) == .values([]))
        #expect(store.snapshot === before)
        #expect(rpc(r, "cfg.commit") == .values([]))
        let after = store.snapshot
        #expect(after.generation == before.generation + 1)
        let maxP = try #require(store.param("registrar", "max_expires")), minP = try #require(store.param("registrar", "min_expires"))
        #expect(before.value(maxP) == .int(0) && before.value(minP) == .int(60))
        #expect(after.value(maxP) == .int(100) && after.value(minP) == .int(10))
    }

    @Test("$sel(cfg_get.group.var) reads the message's snapshot: a cfg.set shows from the next message on")
    func selectSeesChanges() throws {
        let h = try ModuleHarness("loadmodule \"cfg_rpc.so\"\napp.limit = 5 desc \"a limit\"\n"
            + "request_route {\n    if ($sel(cfg_get.app.limit) == 9) { drop; }\n}\n")
        let r = rpcRegistry(h)
        func run() throws -> Bool {
            let msg = try SIPMessage(bytes: Array("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n".utf8))
            let any = try #require(SocketAddress(ip: "127.0.0.1", port: 5060))
            let ctx = ScriptContext(message: msg, receive: ReceiveInfo(proto: .udp, source: any, local: any, listenerIndex: 0),
                                    worker: h.script.makeWorkerState(worker: 0), services: h.services)
            ctx.cfg = h.runtime.cfg.snapshot
            return h.script.runRequestRoute(ctx).dropped || ctx.dropped
        }
        #expect(try !run())
        #expect(rpc(r, "cfg.help", "app", "limit") == .values(["a limit", "(parameter type is integer)"]))
        #expect(rpc(r, "cfg.seti", "app", "limit", .int(9)) == .values([]))
        #expect(try run())
    }

    @Test("cfg_select uses a group instance for the rest of the message, cfg_reset goes back; a missing instance is -1")
    func selectInstance() throws {
        let h = try ModuleHarness("loadmodule \"cfg_rpc.so\"\nloadmodule \"maxfwd.so\"\n"
            + "request_route {\n    if ($rU == \"inst\") { if (!cfg_select(\"maxfwd\", 1)) { drop; } }\n"
            + "    if ($rU == \"back\") { cfg_select(\"maxfwd\", 1); cfg_reset(\"maxfwd\"); }\n"
            + "    mf_process_maxfwd_header(\"10\");\n}\n")
        let r = rpcRegistry(h)
        func forwarded(_ user: String) throws -> String {
            let ctx = try h.run("OPTIONS sip:\(user)@b SIP/2.0\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\n"
                + "To: <sip:a@b>\nCall-ID: 1\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n")
            if ctx.dropped || h.lastResult?.dropped == true { return "dropped" }
            return String(decoding: ctx.serializeMessage(), as: UTF8.self)
        }
        #expect(try forwarded("inst") == "dropped")  // no instance yet
        #expect(rpc(r, "cfg.add_group_inst", "maxfwd[1]") == .values([]))
        #expect(try forwarded("inst").contains("Max-Forwards: 69\r\n"))  // follows the group (70)
        #expect(rpc(r, "cfg.seti", "maxfwd[1]", "max_limit", .int(33)) == .values([]))
        #expect(try forwarded("inst").contains("Max-Forwards: 33\r\n"))
        #expect(try forwarded("back").contains("Max-Forwards: 69\r\n"))
        #expect(try forwarded("plain").contains("Max-Forwards: 69\r\n"))
        #expect(rpc(r, "cfg.del_group_inst", "maxfwd[1]") == .values([]))
        #expect(try forwarded("inst") == "dropped")
    }
}
