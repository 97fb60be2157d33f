import Control
import Shared
import Testing
@testable import BuiltinModules

/// A registry holding the methods of every module the harness's script loaded.
func rpcRegistry(_ h: ModuleHarness) -> RPCRegistry {
    let env = ControlEnvironment(registry: RPCRegistry(), statistics: RPCStatistics(), transport: nil,
                                 script: h.script, arguments: ["kamailiod"])
    env.registerAll(sl: nil)
    return env.registry
}

/// The JSON-RPC result (or error) of one call, for comparing with the captures.
func rpc(_ r: RPCRegistry, _ method: String, _ params: RPCValue...) -> RPCOutcome {
    r.execute(method, params: params, transport: .jsonRPC)
}

@Suite("htable RPC")
struct HTableRPCTests {
    @Test("get, sets, seti, delete, flush: the captured replies and faults")
    func items() throws {
        let h = try ModuleHarness("loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"demo=>size=4;\")\n"
            + "modparam(\"htable\", \"htable\", \"ipban=>size=8;autoexpire=300\")\n"
            + "event_route[htable:mod-init] {\n $sht(demo=>greeting) = \"hello\";\n}\nrequest_route {\n}\n")
        let r = rpcRegistry(h)
        #expect(rpc(r, "htable.get", "demo", "greeting") == .values([.object(["item": .object([
            "name": "greeting", "value": "hello", "flags": .int(2), "expire": "NEVER"])])]))
        #expect(rpc(r, "htable.get", "demo", "nokey") == .fault(RPCFault(code: 500, message: "Key name doesn't exist in htable.")))
        #expect(rpc(r, "htable.get", "nosuch", "k") == .fault(RPCFault(code: 500, message: "No such htable")))
        // a missing or mistyped parameter is htable's own fault (ctl without autoconvert: keys are strings)
        #expect(r.execute("htable.get", params: ["demo", .int(101)], transport: .binrpc)
            == .fault(RPCFault(code: 500, message: "Not enough parameters (htable name and key name)")))
        #expect(rpc(r, "htable.sets", "demo", "k") == .fault(RPCFault(code: 500, message: "Not enough parameters (htable name, key name and value)")))
        #expect(rpc(r, "htable.dump") == .fault(RPCFault(code: 500, message: "No htable name given")))
        #expect(rpc(r, "htable.seti", "demo", "counter", .int(7)) == .values(["Ok. Key set to new value."]))
        #expect(rpc(r, "htable.get", "demo", "counter") == .values([.object(["item": .object([
            "name": "counter", "value": .int(7), "flags": .int(0), "expire": "NEVER"])])]))
        #expect(rpc(r, "htable.sets", "ipban", "10.0.0.1", "blocked") == .values(["Ok. Key set to new value."]))
        guard case .values(let v) = rpc(r, "htable.get", "ipban", "10.0.0.1"),
              case .struct(let outer) = v.first, case .struct(let item) = outer.first?.value else {
            Issue.record("no item")
            return
        }
        // an expiring item shows its local expiry time, "YYYY-MM-DD hh:mm:ss"
        #expect(item.first { $0.name == "expire" }?.value.stringValue?.count == 19)
        #expect(rpc(r, "htable.delete", "demo", "greeting") == .values(["Ok. Key deleted."]))
        #expect(rpc(r, "htable.get", "demo", "greeting") == .fault(RPCFault(code: 500, message: "Key name doesn't exist in htable.")))
        #expect(rpc(r, "htable.flush", "ipban") == .values(["Ok. Htable flushed."]))
        #expect(rpc(r, "htable.stats") == .values([
            .object(["name": "demo", "slots": .int(16), "all": .int(1), "min": .int(0), "max": .int(1)]),
            .object(["name": "ipban", "slots": .int(256), "all": .int(0), "min": .int(0), "max": .int(0)]),
        ]))
        #expect(rpc(r, "htable.listTables") == .values([
            .object(["name": "demo", "dbtable": "", "dbmode": .int(0), "expire": .int(0), "updateexpire": .int(1),
                     "size": .int(16), "dmqreplicate": .int(0)]),
            .object(["name": "ipban", "dbtable": "", "dbmode": .int(0), "expire": .int(300), "updateexpire": .int(1),
                     "size": .int(256), "dmqreplicate": .int(0)]),
        ]))
        let table = try #require(h.modules.all.compactMap { $0 as? HTableModule }.first?.table("demo"))
        let bucket = table.bucket("counter")
        #expect(rpc(r, "htable.dump", "demo") == .values([.object([
            "entry": .int(bucket), "size": .int(1),
            "slot": .array([.object(["name": "counter", "value": .int(7), "type": "int"])])])]))
    }
}
