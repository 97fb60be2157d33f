import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The debugger follows `cfg.reload_script`: its source view, its line breakpoints and the
/// stops they cause are about the script that now runs, not the one the daemon started with.
@Suite("daemon debugger across a script reload", .serialized)
struct DaemonDebuggerReloadTests {
    /// Lines 1-9, the same in both scripts.
    static let header = controlConfig(loading: ["ctl", "sl", "cfg_rpc", "debugger"], """
        request_route {
            if ($rU == $null) { sl_send_reply("200", "Alive"); exit; }
            $var(x) = 1;

        """)

    static let replyRoute = """

        route[REPLY] {
            sl_send_reply("200", "Old");
        }
        """

    /// Line numbers matter: 9 (assign), 10 (dbg_breakpoint) and 11 (route) are named below;
    /// requests without a user (the start-up probe) are answered before them.
    static let before = header + """
            dbg_breakpoint(1);
            route(REPLY);
            exit;
        }
        """ + replyRoute

    /// Line 9 keeps its action, line 10 loses the dbg_breakpoint, line 11 is no longer a route().
    static let after = header + """
            $var(y) = 2;
            sl_send_reply("200", "New");
            exit;
        }
        """ + replyRoute

    @Test("breakpoints move to the reloaded script by file:line, vanished ones are dropped with a log line, dbg.source shows the new text")
    func reloadKeepsMatchingBreakpoints() throws {
        let s = try DebuggerSession(config: Self.before)
        defer { s.stop() }
        let port = s.daemon.port
        let assign = s.call("dbg.bp_add", .string("test.cfg:9"))
        let route = s.call("dbg.bp_add", .string("test.cfg:11"))
        let assignID = try #require(assign["id"]?.intValue)
        let routeID = try #require(route["id"]?.intValue)
        #expect(s.values("dbg.bp_list").count == 3, "dbg_breakpoint(1) on line 10 plus the two added")

        try Self.after.replacingOccurrences(of: "{PORT}", with: String(port))
            .write(toFile: s.cfgPath, atomically: true, encoding: .utf8)
        let reload = s.call("cfg.reload_script")
        #expect(reload.stringValue?.hasPrefix("fault") != true, "\(reload)\nlog:\n\(s.daemon.log)")

        let list = s.values("dbg.bp_list")
        #expect(list.count == 1, "\(list)")
        #expect(list.first?["id"]?.intValue == assignID)
        #expect(list.first?["line"]?.intValue == 9)
        #expect(s.daemon.log.contains("breakpoint \(routeID) at \(s.cfgPath):11 (route) dropped"), "log:\n\(s.daemon.log)")
        let source = s.values("dbg.source").compactMap(\.stringValue)
        #expect(source.count > 10 && source[10].contains("\"New\""), "\(source)")

        // The kept breakpoint stops a worker in the new script, which then answers as the new script says.
        let peer = try UDPPeer()
        peer.send(sipRequest("OPTIONS", uri: "sip:bp@127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)",
                             callID: "dbg-reload-1"), to: "127.0.0.1", port: port)
        let stopped = try #require(s.waitForStoppedWorker(), "no worker stopped; log:\n\(s.daemon.log)")
        let pid = try #require(stopped["pid"]?.intValue)
        #expect(s.text("dbg.bp", "show", .int(pid)) == "at bkp [\(s.cfgPath):9] a=63 n=assign")
        #expect(s.text("dbg.bp", "move", .int(pid)) == "200 ok")
        var reply: String?
        let deadline = Date().addingTimeInterval(20)
        while reply == nil && Date() < deadline { reply = peer.receive(timeout: 1) }
        #expect(reply?.hasPrefix("SIP/2.0 200 New") == true, "\(reply ?? "no reply")\nlog:\n\(s.daemon.log)")
    }
}
