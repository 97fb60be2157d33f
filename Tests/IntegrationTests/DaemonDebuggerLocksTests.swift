import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What the debugger must not do: park a worker that holds a lock other workers need.
/// And per-module log levels that really change what is logged.
@Suite("daemon debugger locks and module levels", .serialized)
struct DaemonDebuggerLocksTests {
    /// Line numbers matter: the breakpoint is on line 13, inside the locked region; the
    /// worker stops at line 16, the first action after the unlock (line 15) ran.
    static let lockConfig = controlConfig(children: 2, loading: ["ctl", "sl", "htable", "debugger"], """
        modparam("htable", "htable", "t=>size=2;")
        request_route {
            sht_lock("t=>k");
            $sht(t=>k) = $sht(t=>k) + 1;
            if ($rm == "REGISTER") {
                dbg_breakpoint(1);
            }
            sht_unlock("t=>k");
            sl_send_reply("200", "Count $sht(t=>k)");
            exit;
        }
        """)

    @Test("a breakpoint inside sht_lock is deferred past the unlock; another worker takes the same lock meanwhile",
          .enabled(if: which("sipsak") != nil))
    func breakpointUnderLock() throws {
        let s = try DebuggerSession(config: Self.lockConfig)
        defer { s.stop() }
        let port = s.daemon.port
        let sipsak = try SipsakRequest(debuggerRegister(port: port, callID: "dbg-lock-1"), port: port,
                                       dir: s.daemon.dir, name: "lock1.txt")
        let stopped = try #require(s.waitForStoppedWorker(), "no worker stopped; log:\n\(s.daemon.log)")
        let pid = try #require(stopped["pid"]?.intValue)
        #expect(stopped["line"]?.intValue == 16 && stopped["state"]?.intValue == 2, "\(stopped)")
        #expect(s.daemon.log.contains("breakpoint not taken: p=[\(pid)] c=[\(s.cfgPath)] l=13 runs under a shared lock"))
        // the other worker needs the same bucket lock: it must get it while this one is parked
        let peer = try UDPPeer()
        peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)"),
                  to: "127.0.0.1", port: port)
        let reply = peer.receive(timeout: 10)
        #expect(statusCode(reply) == 200, "\(reply ?? "no reply")")
        // the start-up probe counted too; the parked REGISTER replies with the count after the OPTIONS
        let count = reply?.split(separator: "\r\n").first.map { String($0) } ?? ""
        #expect(count.hasPrefix("SIP/2.0 200 Count "))
        #expect(s.text("dbg.bp", "move", .int(pid)) == "200 ok")
        #expect(sipsak.finish().contains(String(count.dropFirst(8))))
    }

    static let levelConfig = controlConfig(debug: 1, loading: ["ctl", "sl", "xlog", "cfg_rpc", "debugger"], """
        modparam("debugger", "mod_hash_size", 5)
        modparam("debugger", "mod_level_mode", 1)
        modparam("debugger", "mod_level", "sl=3")
        request_route {
            xlog("L_INFO", "info-line $ci\\n");
            xlog("L_NOTICE", "notice-line $ci\\n");
            sl_send_reply("200", "OK");
        }
        """)

    @Test("dbg.set_mod_level raises and lowers one module's level; get falls back to debug; facilities; cfg dbg group")
    func moduleLevels() throws {
        let s = try DebuggerSession(config: Self.levelConfig)
        defer { s.stop() }
        let peer = try UDPPeer()
        func send(_ id: String) {
            peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(s.daemon.port)", via: "UDP 127.0.0.1:\(peer.port)",
                                 callID: id), to: "127.0.0.1", port: s.daemon.port)
            #expect(statusCode(peer.receive(timeout: 10)) == 200)
            // the reply is sent after both xlog lines were written
        }
        #expect(s.call("dbg.get_mod_level", "sl").intValue == 3)
        #expect(s.call("dbg.get_mod_level", "tm").intValue == 1)
        send("lv-1")
        #expect(s.daemon.log.contains("notice-line lv-1") && !s.daemon.log.contains("info-line lv-1"))
        #expect(s.text("dbg.set_mod_level", "xlog", .int(2)) == "200 ok")
        #expect(s.call("dbg.get_mod_level", "xlog").intValue == 2)
        send("lv-2")
        #expect(s.daemon.log.contains("info-line lv-2"), "a module more verbose than debug logs more")
        #expect(s.text("dbg.mod_level", "xlog", .int(-1)) == "200 ok")
        send("lv-3")
        #expect(!s.daemon.log.contains("notice-line lv-3"), "a module quieter than debug logs less")
        // mode off: every module at the global level again
        _ = s.values("cfg.seti", "dbg", "mod_level_mode", .int(0))
        #expect(s.call("dbg.get_mod_level", "xlog").intValue == 1)
        send("lv-4")
        #expect(s.daemon.log.contains("notice-line lv-4") && !s.daemon.log.contains("info-line lv-4"))
        #expect(s.text("dbg.set_mod_level") == "fault: 500 invalid parameters")
        #expect(s.text("dbg.set_mod_facility", "tm", "LOG_BOGUS") == "fault: 500 facility not found")
        #expect(s.text("dbg.set_mod_facility", "tm", "LOG_LOCAL0") == "200 ok")
        #expect(s.text("dbg.get_mod_facility", "tm") == "LOG_DAEMON")
        _ = s.values("cfg.seti", "dbg", "mod_facility_mode", .int(1))
        #expect(s.text("dbg.get_mod_facility", "tm") == "LOG_LOCAL0")
        #expect(s.text("cfg.seti", "dbg", "mod_hash_size", .int(3)) == "fault: 400 Failed to set the variable")
    }

    static let tmConfig = controlConfig(children: 1, loading: ["ctl", "sl", "tm", "debugger"], """
        request_route {
            if ($rm == "OPTIONS") {
                sl_send_reply("200", "Alive");
                exit;
            }
            t_on_failure("F");
            t_relay("udp:127.0.0.1:{UAS}");
        }
        failure_route[F] {
            dbg_breakpoint(1);
            t_reply("503", "Failed over");
        }
        """)

    @Test("failure_route runs under the transaction lock: its breakpoint is not taken and nothing stays parked")
    func failureRouteUnderLock() throws {
        let uas = try UDPPeer()
        let s = try DebuggerSession(config: Self.tmConfig.replacingOccurrences(of: "{UAS}", with: String(uas.port)))
        defer { s.stop() }
        let uac = try UDPPeer()
        let port = s.daemon.port
        uac.send(sipRequest("MESSAGE", uri: "sip:bob@127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(uac.port)"),
                 to: "127.0.0.1", port: port)
        let relayed = try #require(expect(uas, "MESSAGE", timeout: 10))
        uas.send(replyText(relayed, 486, "Busy Here"), to: "127.0.0.1", port: port)
        #expect(expect(uac, "SIP/2.0 503", timeout: 10) != nil, "log:\n\(s.daemon.log)")
        #expect(s.daemon.log.contains("breakpoint not taken"), "\(s.daemon.log)")
        #expect(s.values("dbg.ls").allSatisfy { $0["state"]?.intValue == 0 })
        // the deferred stop does not carry over into the next message
        #expect(DaemonDebuggerTests.options(uac, port: port, id: "after-failure") == 200)
        #expect(s.values("dbg.ls").allSatisfy { $0["state"]?.intValue == 0 })
    }
}
