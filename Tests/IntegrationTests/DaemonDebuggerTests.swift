import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The step debugger over RPC against the running daemon: a REGISTER from sipsak parks a
/// worker at a line breakpoint, the control side inspects and steps it, the other worker
/// keeps answering, and the request completes with the script's reply.
@Suite("daemon debugger (dbg.*)", .serialized)
struct DaemonDebuggerTests {
    /// Line numbers matter: the tests name lines 8, 9 and 12 to 19.
    static let config = controlConfig(children: 2, loading: ["ctl", "sl", "debugger"], """
        request_route {
            if ($rm == "OPTIONS") {
                sl_send_reply("200", "Alive");
                exit;
            }
            $var(x) = 1;
            dbg_breakpoint(1);
            $var(x) = 2;
            route(REPLY);
            exit;
        }
        route[REPLY] {
            $var(y) = $var(x) + 40;
            sl_send_reply("200", "Registered $rU $var(y)");
        }
        """)

    static func options(_ peer: UDPPeer, port: UInt16, id: String) -> Int? {
        peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)",
                             callID: id), to: "127.0.0.1", port: port)
        return statusCode(peer.receive(timeout: 5))
    }

    @Test("bp_add file:line and dbg_breakpoint(1) stop a worker; show/eval/next/where/msg/move; others keep serving",
          .enabled(if: which("sipsak") != nil))
    func lineBreakpoints() throws {
        let s = try DebuggerSession(config: Self.config)
        defer { s.stop() }
        let port = s.daemon.port
        let workers = s.workerPIDs()
        #expect(workers.count == 2 && Set(workers).count == 2, "\(workers)")

        let added = s.call("dbg.bp_add", .string("test.cfg:12"))
        #expect(added["line"]?.intValue == 12 && added["route"]?.stringValue == "request_route", "\(added)")
        #expect(added["file"]?.stringValue == s.cfgPath)
        // a line before any action faults
        #expect(s.text("dbg.bp_add", .string("test.cfg:1")) == "fault: 500 no action at \(s.cfgPath):1")

        let sipsak = try SipsakRequest(debuggerRegister(port: port, callID: "dbg-line-1"), port: port,
                                       dir: s.daemon.dir, name: "register1.txt")
        let stopped = try #require(s.waitForStoppedWorker(), "no worker stopped; log:\n\(s.daemon.log)")
        let pid = try #require(stopped["pid"]?.intValue)
        #expect(workers.contains(pid))
        #expect(stopped["state"]?.intValue == 1)
        #expect(stopped["line"]?.intValue == 12 && stopped["file"]?.stringValue == s.cfgPath, "\(stopped)")
        #expect(stopped["action"]?.stringValue == "assign")
        #expect(s.text("dbg.bp", "show", .int(pid)) == "at bkp [\(s.cfgPath):12] a=63 n=assign")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$rU") == "$rU : t=str v=bp")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$rm") == "$rm : t=str v=REGISTER")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$rU + \"x\"") == "$rU + \"x\" : t=str v=bpx")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$avp(nothing)") == "$avp(nothing) : t=null")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$si:$sp") == "$si:$sp : t=str v=127.0.0.1")
        #expect(s.text("dbg.bp", "eval", .int(pid), "x") == "fault: 500 invalid pv param")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$bogus(").hasPrefix("fault: 500 cannot evaluate"))

        // the other worker answers while this one is parked
        let peer = try UDPPeer()
        for i in 0..<4 { #expect(Self.options(peer, port: port, id: "opt-\(i)") == 200) }
        let other = try #require(workers.first { $0 != pid })
        #expect(s.call("dbg.ls", .int(other))["state"]?.intValue == 0)
        // a worker that is not stopped faults at once
        let t0 = Date()
        #expect(s.text("dbg.bp", "show", .int(other)) == "fault: 500 process not stopped")
        #expect(Date().timeIntervalSince(t0) < 8)  // not the 20 s (step_loops x step_usleep) a stopped one may take

        #expect(s.text("dbg.bp", "next", .int(pid)) == "exec [\(s.cfgPath):12] a=63 n=assign")
        #expect(s.text("dbg.bp", "show", .int(pid)) == "at bkp [\(s.cfgPath):13] a=25 n=dbg_breakpoint")
        #expect(s.call("dbg.ls", .int(pid))["state"]?.intValue == 2)
        #expect(s.text("dbg.bp", "eval", .int(pid), "$var(x)") == "$var(x) : t=int v=1")
        #expect(s.text("dbg.bp", "eval", .int(pid), "$var(x) == 1") == "$var(x) == 1 : t=int v=1")
        #expect(s.text("dbg.bp", "next", .int(pid)) == "exec [\(s.cfgPath):13] a=25 n=dbg_breakpoint")
        #expect(s.text("dbg.bp", "next", .int(pid)) == "exec [\(s.cfgPath):14] a=63 n=assign")
        // into the sub-route: `next` enters it
        #expect(s.text("dbg.bp", "next", .int(pid)) == "exec [\(s.cfgPath):15] a=6 n=route")
        let at = s.call("dbg.bp", "where", .int(pid))
        #expect(at["line"]?.intValue == 19 && at["route"]?.stringValue == "REPLY" && at["depth"]?.intValue == 1, "\(at)")
        let stack = at["stack"].map { v -> [String] in
            if case .array(let a) = v { return a.compactMap(\.stringValue) }
            return v.members?.compactMap { $0.value.stringValue } ?? []
        } ?? []
        #expect(stack == ["REPLY@\(s.cfgPath):19", "DEFAULT_ROUTE@\(s.cfgPath):15"], "\(at)")
        #expect(s.text("dbg.bp", "msg", .int(pid)).hasPrefix("REGISTER sip:bp@127.0.0.1:\(port) SIP/2.0"))
        #expect(s.text("dbg.bp", "log", .int(pid), "$ci") == "200 ok")
        #expect(s.text("dbg.bp", "move", .int(pid)) == "200 ok")

        let out = sipsak.finish()
        #expect(out.contains("200 Registered bp 42"), "\(out)\nlog:\n\(s.daemon.log)")
        #expect(s.waitUntilRunning(pid))
        #expect(s.daemon.log.contains("breakpoint eval: $ci : t=str v=dbg-line-1"))
        let list = s.values("dbg.bp_list")
        #expect(list.compactMap { $0["line"]?.intValue }.sorted() == [12, 13], "\(list)")
        #expect(list.first { $0["line"]?.intValue == 12 }?["hits"]?.intValue == 1)
        let id = try #require(added["id"]?.intValue)
        #expect(s.text("dbg.bp_del", .int(id)) == "200 ok")
        #expect(s.text("dbg.bp_del", .int(id)) == "fault: 500 no such breakpoint")
        #expect(s.text("dbg.bp_del", .string("test.cfg:13")) == "200 ok")
        #expect(s.values("dbg.bp_list").isEmpty)
        // with no breakpoint left, a REGISTER goes straight through
        let again = try SipsakRequest(debuggerRegister(port: port, callID: "dbg-line-2"), port: port,
                                      dir: s.daemon.dir, name: "register2.txt")
        #expect(again.finish().contains("200 Registered bp 42"))
    }

    @Test("faults as Kamailio's; dbg.source lists the script; dbg.trace logs every action")
    func faultsSourceAndTrace() throws {
        let s = try DebuggerSession(config: Self.config)
        defer { s.stop() }
        let pid = try #require(s.workerPIDs().first)
        #expect(s.text("dbg.bp") == "fault: 500 Config breakpoint command missing")
        #expect(s.text("dbg.bp", "show") == "fault: 500 Missing pid parameter")
        #expect(s.text("dbg.bp", "show", .int(99_999_999)) == "fault: 500 No such pid")
        #expect(s.text("dbg.bp", "foo", .int(pid)) == "fault: 500 Unknown inner command")
        #expect(s.text("dbg.bp", "eval", .int(pid)) == "fault: 500 pv param missing")
        #expect(s.text("dbg.bp", "move", .int(pid)) == "fault: 500 process not stopped")
        #expect(s.text("dbg.trace", "maybe") == "fault: 500 Unknown trace command")
        #expect(s.text("dbg.trace") == "fault: 500 Config trace command missing")
        #expect(s.text("dbg.reset_msgid") == "fault: 500 reset_msgid is 0. Set it to 1 to enable.")
        let source = s.values("dbg.source").compactMap(\.stringValue)
        #expect(source.count == 21 && source[11] == "    $var(x) = 1;", "\(source)")
        #expect(s.text("dbg.source", "nope.cfg") == "fault: 500 unknown file")

        #expect(s.text("dbg.trace", "on") == "200 ok")
        #expect(s.call("dbg.ls", .int(pid))["set"]?.intValue == 1)
        let peer = try UDPPeer()
        #expect(Self.options(peer, port: s.daemon.port, id: "trace-1") == 200)
        let deadline = Date().addingTimeInterval(10)
        while !s.daemon.log.contains("*** cfgtrace:request_route=[DEFAULT_ROUTE] c=[\(s.cfgPath)] l=9 a=26 n=sl_send_reply"),
              Date() < deadline { usleep(50_000) }
        #expect(s.daemon.log.contains("*** cfgtrace:request_route=[DEFAULT_ROUTE] c=[\(s.cfgPath)] l=8 a=16 n=if"),
                "\(s.daemon.log)")
        #expect(s.daemon.log.contains("l=9 a=26 n=sl_send_reply"))
        #expect(s.text("dbg.trace", "off") == "200 ok")
        #expect(s.call("dbg.ls", .int(pid))["set"]?.intValue == 0)
    }
}
