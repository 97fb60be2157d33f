import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Global breakpoints (`dbg.bp on`), `release`, `keep`, `off`, step over/into/out and
/// auto-release after `bp_timeout`, over RPC against the running daemon.
@Suite("daemon debugger stepping", .serialized)
struct DaemonDebuggerSteppingTests {
    static let config = DaemonDebuggerTests.config + "\nmodparam(\"debugger\", \"bp_timeout\", 3)\n"

    /// Arms every worker, sends a REGISTER and returns the pid that stopped (after
    /// releasing the others) and the sipsak run.
    static func stopOne(_ s: DebuggerSession, callID: String) throws -> (pid: Int, sipsak: SipsakRequest) {
        #expect(s.text("dbg.bp", "on") == "200 ok")
        let sipsak = try SipsakRequest(debuggerRegister(port: s.daemon.port, callID: callID), port: s.daemon.port,
                                       dir: s.daemon.dir, name: callID + ".txt")
        var stopped = try #require(s.waitForStoppedWorker(), "no worker stopped; log:\n\(s.daemon.log)")
        // Armed while a worker was still finishing the start-up probe (its `exit` comes after
        // the reply the probe waited for), that worker stops in the OPTIONS branch: let it
        // go, arm again, and wait for the REGISTER.
        for _ in 0..<3 {
            guard [9, 10].contains(stopped["line"]?.intValue ?? 0), let stray = stopped["pid"]?.intValue else { break }
            #expect(s.text("dbg.bp", "move", .int(stray)) == "200 ok")
            #expect(s.waitUntilRunning(stray))
            #expect(s.text("dbg.bp", "on") == "200 ok")
            stopped = try #require(s.waitForStoppedWorker(), "no worker stopped; log:\n\(s.daemon.log)")
        }
        let pid = try #require(stopped["pid"]?.intValue)
        #expect(stopped["state"]?.intValue == 1 && stopped["line"]?.intValue == 8, "\(stopped)")
        #expect(s.text("dbg.bp", "release") == "200 ok")
        return (pid, sipsak)
    }

    @Test("on/release/keep/off; over skips a called route, into enters it, out returns; bp_timeout releases",
          .enabled(if: which("sipsak") != nil))
    func stepping() throws {
        let s = try DebuggerSession(config: Self.config)
        defer { s.stop() }
        let workers = s.workerPIDs()
        try #require(workers.count == 2)
        let at = { (line: Int, code: Int, name: String) in "at bkp [\(s.cfgPath):\(line)] a=\(code) n=\(name)" }

        // keep: only the given worker keeps its breakpoint bit
        #expect(s.text("dbg.bp", "on") == "200 ok")
        #expect(workers.allSatisfy { s.call("dbg.ls", .int($0))["set"]?.intValue == 2 })
        #expect(s.text("dbg.bp", "keep", .int(workers[0])) == "200 ok")
        #expect(s.call("dbg.ls", .int(workers[0]))["set"]?.intValue == 2)
        #expect(s.call("dbg.ls", .int(workers[1]))["set"]?.intValue == 0)
        #expect(s.text("dbg.bp", "off") == "200 ok")

        // 1: into the sub-route, then out of it
        var (pid, sipsak) = try Self.stopOne(s, callID: "dbg-step-1")
        let other = try #require(workers.first { $0 != pid })
        #expect(s.call("dbg.ls", .int(other))["set"]?.intValue == 0)
        #expect(s.call("dbg.ls", .int(pid))["set"]?.intValue == 2 && s.call("dbg.ls", .int(pid))["state"]?.intValue == 1)
        let peer = try UDPPeer()
        #expect(DaemonDebuggerTests.options(peer, port: s.daemon.port, id: "step-opt") == 200)
        #expect(s.text("dbg.bp", "next", .int(pid)) == "exec [\(s.cfgPath):8] a=16 n=if")
        #expect(s.text("dbg.bp", "show", .int(pid)) == at(12, 63, "assign"))
        for line in [12, 13, 14] { #expect(s.text("dbg.bp", "over", .int(pid)).hasPrefix("exec [\(s.cfgPath):\(line)]")) }
        #expect(s.text("dbg.bp", "into", .int(pid)) == "exec [\(s.cfgPath):15] a=6 n=route")
        #expect(s.text("dbg.bp", "show", .int(pid)) == at(19, 63, "assign"))
        #expect(s.text("dbg.bp", "out", .int(pid)) == "exec [\(s.cfgPath):19] a=63 n=assign")
        #expect(s.text("dbg.bp", "show", .int(pid)) == at(16, 2, "exit"))
        #expect(sipsak.finish().contains("200 Registered bp 42"), "the route ran to its end before stopping at exit")
        #expect(s.text("dbg.bp", "move", .int(pid)) == "200 ok")
        #expect(s.waitUntilRunning(pid))
        #expect(s.call("dbg.ls", .int(pid))["set"]?.intValue == 0)

        // 2: over a route() call runs the whole route although breakpoints are on; off frees it
        (pid, sipsak) = try Self.stopOne(s, callID: "dbg-step-2")
        #expect(s.text("dbg.bp", "next", .int(pid)).hasPrefix("exec [\(s.cfgPath):8]"))
        for line in [12, 13, 14, 15] { #expect(s.text("dbg.bp", "over", .int(pid)).hasPrefix("exec [\(s.cfgPath):\(line)]")) }
        #expect(s.text("dbg.bp", "show", .int(pid)) == at(16, 2, "exit"))
        #expect(sipsak.finish().contains("200 Registered bp 42"))
        #expect(s.text("dbg.bp", "off") == "200 ok")
        #expect(s.waitUntilRunning(pid))

        // 3: nobody answers: the worker releases itself after bp_timeout (3 s)
        #expect(s.text("dbg.bp_del", "test.cfg:13") == "200 ok")
        (pid, sipsak) = try Self.stopOne(s, callID: "dbg-step-3")
        let started = Date()
        #expect(sipsak.finish(timeout: 20).contains("200 Registered bp 42"))
        #expect(Date().timeIntervalSince(started) > 1.5)
        #expect(s.waitUntilRunning(pid))
        #expect(s.call("dbg.ls", .int(pid))["set"]?.intValue == 0)
        #expect(s.daemon.log.contains("breakpoint released: p=[\(pid)] no command for 3 s (bp_timeout)"))
    }
}
