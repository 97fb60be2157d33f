import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// sipp scenario: REGISTER `[service]` with a fixed contact port, expect 200.
private func registerScenario(contactPort: Int) -> String {
    """
    <?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="register">
      <send retrans="500">
        <![CDATA[
    REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
    Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
    From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
    To: <sip:[service]@[remote_ip]>
    Call-ID: [call_id]
    CSeq: 1 REGISTER
    Contact: <sip:[service]@127.0.0.1:\(contactPort)>;q=0.5
    Expires: 3600
    Max-Forwards: 70
    User-Agent: sipp-register
    Content-Length: 0

        ]]>
      </send>
      <recv response="200"/>
    </scenario>
    """
}

/// Runs kamcon in tmux against a real Kamailio 5.6.3 carrying sipp traffic, as the issue's
/// "done means" asks: rates, registrations, ending a call, completion, resize, quit.
@Suite("kamcon in tmux against a real Kamailio", .serialized)
struct KamconE2ETests {
    @Test("overview rates, registrations, ending a dialog, completion and resize", .enabled(if: KamconE2E.missing == nil))
    func consoleAgainstKamailio() throws {
        let dir = KamconE2E.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let k = KamailioUnderTest(dir: dir)
        #expect(k.start(), "Kamailio did not start; see \(dir)/kamailio.log")
        defer { k.stop() }
        try registerScenario(contactPort: 5090).write(toFile: "\(dir)/reg.xml", atomically: true, encoding: .utf8)

        // alice answers calls on 5090 (sipp UAS, messages traced); bob's contact is nobody.
        let uas = k.spawn(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "5090", "-nostdin", "-trace_msg",
                           "-message_file", "\(dir)/uas.msg"], log: "\(dir)/uas.out")
        defer { if let uas { KamconE2E.stop(uas) } }
        let tmux = try #require(TmuxConsole(command: "\(KamconE2E.kamcon) -s \(k.ctl) -i 0.5", width: 120, height: 40))
        defer { tmux.close() }
        let (attached, first) = tmux.waitFor { $0.contains("● connected") && $0.contains("kamailio 5.6.3") }
        #expect(attached, "\(first)")

        // Traffic: 30 REGISTERs at 15/s for alice and bob.
        for (user, port) in [("alice", 5089), ("bob", 5088)] {
            let reg = k.spawn(["sipp", "127.0.0.1:5071", "-sf", "\(dir)/reg.xml", "-s", user, "-i", "127.0.0.1", "-p", String(port),
                               "-m", "15", "-r", "15", "-nostdin"], log: "\(dir)/reg-\(user).out")
            if let reg { _ = KamconE2E.wait(reg, timeout: 20) }
        }
        let (rates, overview) = tmux.waitFor { screen in
            screen.split(separator: "\n").contains { line in
                line.contains("Requests/s") && line.split(separator: " ").dropFirst().contains { Double($0).map { $0 > 0 } ?? false }
            }
        }
        #expect(rates, "overview shows no request rate:\n\(overview)")
        print("--- overview ---\n\(overview)")

        tmux.send("F5")
        let (regs, regScreen) = tmux.waitFor { $0.contains("sip:alice@127.0.0.1:5090") && $0.contains("sip:bob@127.0.0.1:5090") }
        #expect(regs, "registrations screen:\n\(regScreen)")
        #expect(regScreen.contains("sipp-register"))
        print("--- registrations ---\n\(regScreen)")

        // A call from sipp's UAC to alice, held for two minutes unless the console ends it.
        let uac = k.spawn(["sipp", "127.0.0.1:5071", "-sn", "uac", "-s", "alice", "-i", "127.0.0.1", "-p", "5087", "-m", "1",
                           "-d", "120000", "-nostdin"], log: "\(dir)/uac.out")
        defer { if let uac { KamconE2E.stop(uac) } }
        tmux.send("d")
        // State 4 ("confirmed", ACK seen), not 3 ("confirmed*"): only then does end_dlg send BYEs.
        let (call, dlgScreen) = tmux.waitFor(15) { $0.contains(" confirmed ") && $0.contains("caller=sipp") }
        #expect(call, "dialogs screen:\n\(dlgScreen)")
        print("--- dialogs ---\n\(dlgScreen)")
        tmux.send("x")
        let (asked, question) = tmux.waitFor { $0.contains("End dialog") && $0.contains("[y/N]") }
        #expect(asked, "\(question)")
        tmux.send("y")
        let (ended, after) = tmux.waitFor(15) { $0.contains("no dialogs") }
        #expect(ended, "dialog still listed:\n\(after)")
        // dlg.end_dlg sends its BYEs as local tm transactions, and nothing else in this call
        // is local (everything else is relayed): tm.stats counts them. Whether sipp's UAS
        // logs the BYE depends on sipp's own timing, so that is only reported.
        let byes = KamconE2E.eventually(10) { () -> Int? in
            let stats = KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "rpc", "tm.stats"]).1
            let line = stats.split(separator: "\n").first { $0.contains("total_local:") }
            let n = line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            return n >= 1 ? n : nil
        }
        #expect(byes != nil, "no local BYE transaction after ending the dialog")
        let msgs = (try? String(contentsOfFile: "\(dir)/uas.msg", encoding: .utf8)) ?? ""
        print("local BYE transactions: \(byes ?? 0); callee logged a BYE: \(msgs.contains("BYE sip:"))")

        // Command prompt: complete core.up<Tab>, run it.
        tmux.send("F9")
        tmux.send("core.up", literal: true)
        tmux.send("Tab")
        let (completed, prompt) = tmux.waitFor { $0.contains("kamcon> core.uptime") }
        #expect(completed, "\(prompt)")
        tmux.send("Enter")
        let (ran, reply) = tmux.waitFor { $0.contains("up_since:") && $0.contains("uptime:") }
        #expect(ran, "\(reply)")
        print("--- command ---\n\(reply)")

        // Resize to 80x24: every line fits, title on top, key bar at the bottom.
        tmux.send("F2")
        tmux.resize(width: 80, height: 24)
        let (redrawn, small) = tmux.waitFor { screen in
            let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            return lines.count == 24 && lines.first?.hasPrefix(" kamcon") == true
                && lines.last?.hasPrefix("F1 Help") == true && lines.allSatisfy { $0.count <= 80 }
                && screen.contains("Requests/s")
        }
        #expect(redrawn, "after resize:\n\(small)")
        print("--- 80x24 ---\n\(small)")

        tmux.send("q")
        let quit = KamconE2E.eventually(5) { tmux.exited ? true : nil }
        #expect(quit == true, "kamcon did not quit on q")
    }

    @Test("says when the daemon goes away and reconnects when it is back, keeping the screen",
          .enabled(if: KamconE2E.missing == nil))
    func reconnect() throws {
        let dir = KamconE2E.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let k = KamailioUnderTest(dir: dir)
        #expect(k.start())
        KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "rpc", "ul.add", "location", "carol", "sip:carol@127.0.0.1:5099",
                       "3600", "0.5", ".", "0", "0", "-1"])
        let tmux = try #require(TmuxConsole(command: "\(KamconE2E.kamcon) -s \(k.ctl) -i 0.5 -S registrations", width: 100, height: 30))
        defer { tmux.close() }
        #expect(tmux.waitFor { $0.contains("sip:carol@127.0.0.1:5099") }.0)
        tmux.send("/")
        tmux.send("car", literal: true)
        tmux.send("Enter")
        k.stop()
        let (down, screen) = tmux.waitFor { $0.contains("DISCONNECTED from unix:") }
        #expect(down, "\(screen)")
        #expect(screen.contains("sip:carol@127.0.0.1:5099"))  // last data stays visible
        #expect(k.start())
        let (up, back) = tmux.waitFor(15) { $0.contains("● connected") }
        #expect(up, "\(back)")
        // The user's place survived: same screen, same filter (the restarted Kamailio has
        // an empty location table, so nothing matches any more).
        #expect(back.contains("filter \"car\""))
        #expect(back.contains("no registrations match \"car\""))
        k.stop()
    }

    @Test("rpc and dump print like kamcmd on every transport and exit non-zero on faults",
          .enabled(if: KamconE2E.missing == nil))
    func nonInteractive() {
        let dir = KamconE2E.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let k = KamailioUnderTest(dir: dir)
        #expect(k.start())
        defer { k.stop() }
        // The JSON datagram client binds an abstract socket for the reply, and those belong
        // to a network namespace: run it where Kamailio runs.
        let inside = ["nsenter", "-t", String(k.pid), "-n", KamconE2E.kamcon]
        for address in [k.ctl, "dgram:\(dir)/rpc.sock", "fifo:\(dir)/rpc.fifo"] {
            let (status, out) = KamconE2E.run(inside + ["-s", address, "rpc", "core.uptime"])
            #expect(status == 0, "\(address)")
            #expect(out.hasPrefix("{\n\tnow: "), "\(address): \(out)")
            #expect(out.contains("\tuptime: "))
        }
        let (jsonStatus, json) = KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "rpc", "--json", "core.version"])
        #expect(jsonStatus == 0)
        #expect(json == "\"kamailio 5.6.3 (x86_64/linux) \"\n")
        let (fault, faultText) = KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "-x", "no.such.method"])
        #expect(fault == 1)
        #expect(faultText == "error: 500 - command no.such.method not found\n")
        KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "rpc", "ul.add", "location", "dave", "sip:dave@127.0.0.1:5098",
                       "600", "1.0", ".", "0", "0", "-1"])
        let (dumpStatus, dump) = KamconE2E.run([KamconE2E.kamcon, "-s", k.ctl, "dump", "registrations"])
        #expect(dumpStatus == 0)
        #expect(dump.hasPrefix("AoR "))
        #expect(dump.contains("dave  sip:dave@127.0.0.1:5098"))
        let (_, dumpJSON) = KamconE2E.run(inside + ["-s", "dgram:\(dir)/rpc.sock", "dump", "registrations", "--json"])
        #expect(dumpJSON.contains("\"aor\":\t\"dave\""))
        let (noServer, _) = KamconE2E.run([KamconE2E.kamcon, "-s", "unix:\(dir)/nothing", "rpc", "core.uptime"])
        #expect(noServer == 2)
    }
}
