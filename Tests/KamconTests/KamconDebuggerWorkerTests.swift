import Foundation
import Shared
import Synchronization
import Testing
@testable import kamcon

/// A stand-in for Kamailio's debugger as seen over JSON-RPC: `dbg.ls` without a pid gives
/// only the last process (spec §2), one worker (pid 7) steps through a fixed script.
final class FakeKamailioDebugger: Sendable {
    struct State: Sendable {
        var set = 1
        var state = 0
        var line = 30
        var n = 0
        var calls: [String] = []
    }

    let s = Mutex(State())
    /// Seconds each `dbg.bp next` takes (Kamailio can take 20 s).
    let nextDelay: Double

    init(nextDelay: Double = 0) { self.nextDelay = nextDelay }
    /// Lines the worker stops at, in order, and the value of `$var(n)` after each.
    let path = [30, 31, 32, 38]

    func connect() throws(RPCClientError) -> any RPCClient { Client(server: self) }

    /// A SIP request arrives: an armed worker parks at its first action.
    func request() { s.withLock { if $0.set & 2 != 0 { $0.state = 1 } } }

    final class Client: RPCClient {
        let server: FakeKamailioDebugger
        init(server: FakeKamailioDebugger) { self.server = server }
        func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue] {
            let words = params.map(RPCTextRender.scalarText)
            if method == "dbg.bp", words.first == "next", server.nextDelay > 0 { usleep(UInt32(server.nextDelay * 1_000_000)) }
            return try server.s.withLock { (st: inout State) throws(RPCClientError) -> [RPCValue] in
                st.calls.append(([method] + words).joined(separator: " "))
                func ls(_ pid: Int) -> RPCValue {
                    let mine = pid == 7
                    return .object(["entry": .int(pid), "pid": .int(pid), "set": .int(mine ? st.set : 1), "state": .int(mine ? st.state : 0),
                                    "in.pid": 0, "in.cmd": 0])
                }
                switch (method, words.first) {
                case ("system.listMethods", _): return [.array(["core.psx", "dbg.ls", "dbg.bp"])]
                case ("core.psx", _):
                    return [.array([.object(["IDX": 1, "PID": 7, "DSC": "udp receiver"]), .object(["IDX": 2, "PID": 8, "DSC": "timer"])])]
                case ("dbg.ls", nil): return [ls(8)]
                case ("dbg.ls", let pid?): return [ls(Int(pid) ?? 0)]
                case ("dbg.bp", "on"): st.set |= 2; return ["200 ok"]
                case ("dbg.bp", "release"): return ["200 ok"]
                case ("dbg.bp", "show"):
                    return [.string(st.state != 0 ? "at bkp [/k.cfg:\(st.line)] a=63 n=assign" : "200 ok")]
                case ("dbg.bp", "next"):
                    let at = st.line
                    if let i = server.path.firstIndex(of: at), i + 1 < server.path.count { st.line = server.path[i + 1] }
                    st.n += 1
                    st.state = 2
                    return [.string("exec [/k.cfg:\(at)] a=63 n=assign")]
                case ("dbg.bp", "move"):
                    st.set &= ~2
                    st.state = 0
                    return ["200 ok"]
                case ("dbg.bp", "eval"):
                    let pv = words.count > 2 ? words[2] : ""
                    if pv == "$mb" { return ["$mb : t=str v=OPTIONS sip:bp@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n"] }
                    return [.string("\(pv) : t=int v=\(st.n)")]
                default: throw .fault(RPCFault(code: 500, message: "Unknown inner command"))
                }
            }
        }
    }
}

@Suite("Debugger thread logic against a fake Kamailio")
struct KamconDebuggerWorkerTests {
    @Test("arm, first stop releases the others and shows the position, watches and $mb; steps move; continue frees")
    func session() throws {
        let k = FakeKamailioDebugger()
        let worker = ModelDebuggerWorker(connect: k.connect, readFile: { _ in ["a", "b"] }, publish: { _ in })
        worker.watches = ["$var(n)"]
        worker.poll(now: 1)
        #expect(worker.snap.flavor == .kamailio)
        #expect(worker.snap.workers.map(\.pid) == [7, 8], "JSON dbg.ls is asked per pid")
        worker.perform(.arm, now: 2)
        k.request()
        worker.poll(now: 3)
        let stop = try #require(worker.snap.stops[7])
        #expect(stop.position?.line == 30)
        #expect(stop.watches["$var(n)"] == .value(DebuggerValue(label: "$var(n)", kind: .int, value: "0")))
        #expect(stop.message?.hasPrefix("OPTIONS sip:bp@127.0.0.1") == true)
        #expect(worker.snap.sources["/k.cfg"] == ["a", "b"])
        #expect(k.s.withLock { $0.calls }.contains("dbg.bp release"))
        for expected in [31, 32, 38] {
            worker.perform(.step(pid: 7, kind: .over), now: 4)
            #expect(worker.snap.stops[7]?.position?.line == expected)
        }
        #expect(k.s.withLock { $0.calls }.filter { $0 == "dbg.bp next 7" }.count == 3, "Kamailio has no over: next is sent")
        #expect(worker.snap.stops[7]?.watches["$var(n)"] != worker.snap.stops[7]?.previous["$var(n)"])
        worker.perform(.step(pid: 7, kind: .out), now: 5)
        #expect(worker.snap.log.last?.text.contains("no such command") == true)
        worker.perform(.resume(pid: 7), now: 6)
        #expect(worker.snap.stops[7] == nil)
        #expect(worker.snap.workers.first?.stopped == false)
        worker.perform(.toggleBreakpoint(file: nil, line: 3), now: 7)
        #expect(worker.snap.log.last?.text.contains("no line breakpoints") == true)
    }

    @Test("a slow step runs on the debugger thread: the UI reads the snapshot meanwhile and sees what is awaited")
    func slowStepDoesNotBlock() throws {
        let k = FakeKamailioDebugger(nextDelay: 1.5)
        let runner = ModelDebuggerRunner(interval: 0.2, connect: k.connect, readFile: { _ in nil }, notify: {})
        runner.start()
        defer { runner.stop() }
        runner.setActive(true)
        runner.enqueue(.arm)
        _ = eventuallyValue(10) { k.s.withLock { $0.set & 2 != 0 ? true : nil } }
        k.request()
        let parked = eventuallyValue(10) { runner.snapshot.stops[7]?.position?.line }
        #expect(parked == 30)
        runner.enqueue(.step(pid: 7, kind: .into))
        let clock = ContinuousClock()
        // the step keeps the runner busy for 1.5 s once it starts, however late that is
        let seen = eventuallyValue(10) { runner.snapshot.busy?.what }
        #expect(seen == "dbg.bp next 7")
        // Reading the snapshot while the call is in flight is immediate.
        let t = clock.measure { _ = runner.snapshot }
        #expect(t < .milliseconds(300))  // a blocked read would wait out most of the 1.5 s step
        let moved = eventuallyValue(10) { runner.snapshot.stops[7]?.position?.line == 31 ? true : nil }
        #expect(moved == true)
        #expect(runner.snapshot.busy == nil)
    }

    private func eventuallyValue<T>(_ seconds: Double, _ check: () -> T?) -> T? {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let v = check() { return v }
            usleep(10_000)
        }
        return check()
    }
}
