import Control
import Shared
import Testing

/// A registry with small methods that exercise scanning the way Kamailio's core ones do.
func testRegistry() -> RPCRegistry {
    let r = RPCRegistry()
    r.register([
        RPCMethod("t.echo", help: "echo", returnsArray: true) { call in
            while let s = call.optionalString(convertNumbers: true) { call.add(.string(s)) }
        },
        RPCMethod("t.seti", help: "three params") { call throws(RPCFault) in
            let g = try call.string()
            let n = try call.string()
            let v = try call.int()
            call.add(.string("\(g).\(n)=\(v)"))
        },
        RPCMethod("t.two", help: "two values") { call in
            call.add(1)
            call.add("last")
        },
        RPCMethod("t.fail", help: "fails after output") { call throws(RPCFault) in
            call.add(1)
            throw RPCFault(code: 404, message: "Dialog not found")
        },
        RPCMethod("t.optional", help: "optional int, falls back to a listing") { call in
            if let pid = call.optionalInt() { call.add(.int(pid)) } else { call.add(.object(["all": 1])) }
        },
    ])
    return r
}

@Suite("RPC registry and parameter scanning")
struct RPCRegistryTests {
    let registry = testRegistry()

    @Test("system.listMethods lists every method sorted, including the system ones")
    func listMethods() {
        guard case .values(let v) = registry.execute("system.listMethods", params: [], transport: .binrpc) else {
            Issue.record("no values")
            return
        }
        let names = v.compactMap(\.stringValue)
        #expect(names == names.sorted())
        #expect(names.contains("system.methodHelp") && names.contains("t.echo"))
        #expect(registry.method(named: "system.listMethods")?.returnsArray == true)
    }

    @Test("system.methodHelp answers the help text and Kamailio's two faults")
    func methodHelp() {
        #expect(registry.execute("system.methodHelp", params: ["t.two"], transport: .jsonRPC) == .values(["two values"]))
        #expect(registry.execute("system.methodHelp", params: [], transport: .binrpc)
            == .fault(RPCFault(code: 400, message: "Method Name Expected")))
        #expect(registry.execute("system.methodHelp", params: ["no.such"], transport: .jsonRPC)
            == .fault(RPCFault(code: 400, message: "command not found")))
        #expect(registry.execute("system.methodSignature", params: ["t.two"], transport: .jsonRPC)
            == .fault(RPCFault(code: 500, message: "Not Implemented Yet")))
    }

    @Test("an unknown method is 'command X not found' over binrpc and 'Method Not Found' over JSON-RPC")
    func unknownMethod() {
        let outcome = registry.execute("no.such.method", params: [], transport: .binrpc)
        #expect(outcome.binrpcBody == .fault(RPCFault(code: 500, message: "command no.such.method not found")))
        #expect(outcome.jsonOutcome(returnsArray: false) == .error(.methodNotFound))
    }

    @Test("a missing parameter is a 400 over binrpc and an empty success over JSON-RPC")
    func missingParameter() {
        let b = registry.execute("t.seti", params: ["maxfwd"], transport: .binrpc)
        #expect(b == .fault(RPCFault(code: 400, message: "error at parameter 1: expected string type but end of packet encountered")))
        let j = registry.execute("t.seti", params: ["maxfwd"], transport: .jsonRPC)
        #expect(j == .values([]))
        #expect(j.jsonOutcome(returnsArray: false) == .result(.struct([])))
    }

    @Test("binrpc wants the record type; JSON-RPC reads a string in an int slot as 0")
    func typeMismatch() {
        #expect(registry.execute("t.seti", params: ["a", "b", "63"], transport: .binrpc)
            == .fault(RPCFault(code: 400, message: "error at parameter 2: expected integer type but record doesn't match type")))
        #expect(registry.execute("t.seti", params: ["a", "b", "63"], transport: .jsonRPC) == .values(["a.b=0"]))
        #expect(registry.execute("t.seti", params: ["a", "b", 4_294_967_296], transport: .jsonRPC) == .values(["a.b=-2147483648"]))
    }

    @Test("echo converts numbers to unsigned text and stops at the first other value")
    func echoConversion() {
        #expect(registry.execute("t.echo", params: ["x", 300, -1], transport: .binrpc)
            == .values(["x", "300", "18446744073709551615"]))
        #expect(registry.execute("t.echo", params: ["hello", 42, 3.5], transport: .jsonRPC) == .values(["hello", "42", "3"]))
        #expect(registry.execute("t.echo", params: ["12", "abc", 1.5, -5], transport: .binrpc) == .values(["12", "abc"]))
        #expect(registry.execute("t.echo", params: ["a", true, nil], transport: .jsonRPC) == .values(["a"]))
        #expect(registry.execute("t.echo", params: [1.5], transport: .binrpc)
            == .fault(RPCFault(code: 400, message: "error at parameter 0: expected string type but record doesn't match type")))
    }

    @Test("a prepared scan fault is dropped when the method produced output")
    func preparedFault() {
        #expect(registry.execute("t.optional", params: ["5716"], transport: .binrpc) == .values([.object(["all": 1])]))
        #expect(registry.execute("t.optional", params: [7], transport: .binrpc) == .values([7]))
    }

    @Test("JSON keeps only the last value unless the method returns an array; a fault is final")
    func resultShapes() {
        let two = registry.execute("t.two", params: [], transport: .jsonRPC)
        #expect(two.jsonOutcome(returnsArray: false) == .result("last"))
        #expect(two.binrpcBody == .reply([1, "last"]))
        #expect(RPCOutcome.values([.object(["total": 25_276_510_208, "free": -5])]).binrpcBody
            == .reply([.object(["total": "25276510208", "free": -5])]))
        let echo = registry.execute("t.echo", params: [], transport: .jsonRPC)
        #expect(echo.jsonOutcome(returnsArray: true) == .result([]))
        #expect(registry.execute("t.fail", params: [], transport: .binrpc) == .fault(RPCFault(code: 404, message: "Dialog not found")))
    }
}

@Suite("Statistics table")
struct RPCStatisticsTests {
    @Test("selectors pick all, a group, group:name or a bare name; resets use a baseline; gauges stay")
    func selectAndReset() {
        let stats = RPCStatistics()
        let counter = Counter()
        stats.register(group: "sl", name: "200_replies") { counter.value }
        stats.register(group: "sl", name: "1xx_replies") { 2 }
        stats.register(group: "tcp", name: "current_opened_connections", resettable: false) { 3 }
        counter.value = 13
        #expect(stats.select(["all"]).map(\.name) == ["1xx_replies", "200_replies", "current_opened_connections"])
        #expect(stats.select(["tcp:"]).map(\.value) == [3])
        #expect(stats.select(["200_replies"]).map(\.value) == [13])
        #expect(stats.select(["sl:200_replies"]).map(\.value) == [13])
        #expect(stats.select(["nosuch:"]).isEmpty)
        let cleared = stats.reset(["sl:", "tcp:"])
        #expect(cleared.map(\.value) == [2, 13, 3])
        #expect(stats.value(group: "sl", name: "200_replies") == 0)
        #expect(stats.value(group: "tcp", name: "current_opened_connections") == 3)
        counter.value = 15
        #expect(stats.value(group: "sl", name: "200_replies") == 2)
    }

    @Test("stats methods answer Kamailio's shapes and faults")
    func methods() {
        let stats = RPCStatistics()
        stats.register(group: "sl", name: "200_replies") { 7 }
        let r = RPCRegistry()
        r.register(stats.methods())
        #expect(r.execute("stats.get_statistics", params: ["sl:"], transport: .jsonRPC) == .values(["sl:200_replies = 7"]))
        #expect(r.execute("stats.fetch", params: ["all"], transport: .jsonRPC) == .values([.object(["sl.200_replies": "7"])]))
        #expect(r.execute("stats.get_statistics", params: [], transport: .binrpc)
            == .fault(RPCFault(code: 400, message: "Please provide which stats to retrieve")))
        #expect(r.execute("stats.reset_statistics", params: [], transport: .binrpc)
            == .fault(RPCFault(code: 400, message: "Please provide stats name")))
        #expect(r.execute("stats.clear_statistics", params: ["sl:"], transport: .binrpc) == .values(["sl:200_replies = 7"]))
        #expect(r.execute("stats.fetch", params: ["sl:"], transport: .binrpc) == .values([.object(["sl.200_replies": "0"])]))
    }
}

/// A mutable test counter readable from a `@Sendable` closure.
final class Counter: @unchecked Sendable {
    var value = 0
}
