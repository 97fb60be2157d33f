import Foundation
import Testing
import TestSupport
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

/// sipp scenario: a callee that rings and never answers, so the INVITE transaction stays
/// in the server's table (until fr_inv_timer, two minutes).
private let ringingScenario = """
    <?xml version="1.0" encoding="ISO-8859-1" ?>
    <scenario name="ring forever">
      <recv request="INVITE"/>
      <send>
        <![CDATA[
    SIP/2.0 180 Ringing
    [last_Via:]
    [last_From:]
    [last_To:];tag=[pid]SIPpTag01[call_number]
    [last_Call-ID:]
    [last_CSeq:]
    Contact: <sip:[local_ip]:[local_port];transport=[transport]>
    Content-Length: 0

        ]]>
      </send>
      <pause milliseconds="120000"/>
    </scenario>
    """

/// Runs kamcon in tmux against a live server carrying sipp traffic, as issue 7's "done
/// means" asks, once against the real Kamailio 5.6.3 and once against kamailiod.
@Suite("kamcon in tmux against a live server", .serialized)
struct KamconE2ETests {
    @Test("rates, registrations and removing a contact, a live transaction, ending a dialog, completion, resize",
          arguments: E2EServer.available)
    func console(_ kind: E2EServer) throws {
        let k = try ServerUnderTest.running(kind)
        defer { k.stop() }  // also keeps the server alive to the end of the test
        let dir = k.dir
        try registerScenario(contactPort: 5090).write(toFile: "\(dir)/reg.xml", atomically: true, encoding: .utf8)
        try registerScenario(contactPort: 5086).write(toFile: "\(dir)/reg-ring.xml", atomically: true, encoding: .utf8)
        try ringingScenario.write(toFile: "\(dir)/ring.xml", atomically: true, encoding: .utf8)
        var children: [pid_t] = []
        defer { for p in children { TestProcesses.stop(p) } }

        // alice answers calls on 5090 (sipp UAS, messages traced); carol rings on 5086.
        let callee = k.spawn(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "5090", "-nostdin", "-trace_msg",
                              "-message_file", "\(dir)/uas.msg"], log: "\(dir)/uas.out")
        children += [callee, k.spawn(["sipp", "-sf", "\(dir)/ring.xml", "-i", "127.0.0.1", "-p", "5086", "-nostdin"],
                                     log: "\(dir)/ring.out")].compactMap { $0 }
        let tmux = try #require(TmuxConsole(command: "\(KamconE2E.kamcon) -s \(k.ctl) -i 0.5", width: 120, height: 40))
        defer { tmux.close() }
        let banner = kind == .kamailio ? "kamailio 5.6.3" : "kamailiod "
        let (attached, first) = tmux.waitFor { $0.contains("● connected") && $0.contains(banner) }
        #expect(attached, "\(first)")

        // Traffic: 30 REGISTERs at 15/s for alice and bob, one for carol.
        for (user, port, file, n) in [("alice", 5089, "reg", 15), ("bob", 5088, "reg", 15), ("carol", 5087, "reg-ring", 1)] {
            let reg = k.spawn(["sipp", "127.0.0.1:5071", "-sf", "\(dir)/\(file).xml", "-s", user, "-i", "127.0.0.1",
                               "-p", String(port), "-m", String(n), "-r", "15", "-nostdin"], log: "\(dir)/reg-\(user).out")
            if let reg { _ = TestProcesses.wait(reg, timeout: 20) }
        }
        let (rates, overview) = tmux.waitFor { screen in
            screen.split(separator: "\n").contains { line in
                line.contains("Requests/s") && line.split(separator: " ").dropFirst().contains { Double($0).map { $0 > 0 } ?? false }
            }
        }
        #expect(rates, "overview shows no request rate:\n\(overview)")
        print("--- \(kind): overview ---\n\(overview)")

        // Space pauses: the title says so and the server's uptime stops moving; Space resumes.
        func uptime(_ screen: String) -> String? { screen.split(separator: "\n").first { $0.contains("Uptime") }.map(String.init) }
        tmux.send("Space")
        let (paused, frozen) = tmux.waitFor { $0.contains("PAUSED") }
        #expect(paused, "\(frozen)")
        usleep(2_200_000)
        #expect(uptime(tmux.capture()) == uptime(frozen), "uptime moved while paused")
        tmux.send("Space")
        let (resumed, moving) = tmux.waitFor { !$0.contains("PAUSED") && uptime($0) != uptime(frozen) }
        #expect(resumed, "\(moving)")

        // A double-width AoR keeps the columns aligned (the display width counts, not characters).
        #expect(KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.add", "location", "山田", "sip:山田@127.0.0.1:5097", "3600", "0.5",
                                     ".", "0", "0", "255"]).status == 0)
        tmux.send("F5")
        let (regs, regScreen) = tmux.waitFor { $0.contains("sip:alice@127.0.0.1:5090") && $0.contains("sip:bob@127.0.0.1:5090")
            && $0.contains("sip:山田@127.0.0.1:5097") }
        #expect(regs, "registrations screen:\n\(regScreen)")
        #expect(regScreen.contains("sipp-register"))
        /// The display column where `marker` starts on the line containing `needle` (CJK counts two).
        func column(_ needle: String, _ marker: String) -> Int? {
            guard let line = regScreen.split(separator: "\n").first(where: { $0.contains(needle) }),
                  let start = line.range(of: needle)?.upperBound,
                  let r = line.range(of: marker, range: start..<line.endIndex)
            else { return nil }
            return line[..<r.lowerBound].unicodeScalars.reduce(0) { $0 + ((0x3000...0x9FFF).contains($1.value) ? 2 : 1) }
        }
        #expect(column("sip:山田@", " 0.5 ") != nil && column("sip:山田@", " 0.5 ") == column("sip:alice@", " 0.5 "),
                "q column moved on the wide line:\n\(regScreen)")
        print("--- \(kind): registrations ---\n\(regScreen)")

        // Removing a contact from the console: bob gets a second one, the filter finds it,
        // End selects it (the AoR line comes first), x asks, y removes it with ul.rm_contact.
        #expect(KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.add", "location", "bob", "sip:bob@127.0.0.1:5085", "3600", "0.5", ".",
                                     "0", "0", "255"]).status == 0)
        tmux.send("/")
        tmux.send("5085", literal: true)
        tmux.send("Enter")
        #expect(tmux.waitFor { $0.contains("sip:bob@127.0.0.1:5085") && $0.contains("filter \"5085\"") }.0)
        tmux.send("End")
        tmux.send("x")
        let (asked, question) = tmux.waitFor { $0.contains("Remove contact sip:bob@127.0.0.1:5085 of bob? [y/N]") }
        #expect(asked, "\(question)")
        tmux.send("y")
        let (removed, afterRemove) = tmux.waitFor { !$0.contains("sip:bob@127.0.0.1:5085") && $0.contains("ul.rm_contact: done") }
        #expect(removed, "\(afterRemove)")
        let bob = KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.lookup", "location", "bob"]).output
        #expect(bob.contains("sip:bob@127.0.0.1:5090") && !bob.contains("5085"), "\(bob)")
        tmux.send("Escape")
        #expect(tmux.waitFor { $0.contains("sip:alice@127.0.0.1:5090") }.0)
        // a adds a test binding (ul.add with the types both servers scan).
        tmux.send("a")
        tmux.send("zed sip:zed@127.0.0.1:5096 600", literal: true)
        tmux.send("Enter")
        let (added, afterAdd) = tmux.waitFor { $0.contains("sip:zed@127.0.0.1:5096") && $0.contains("ul.add: done") }
        #expect(added, "\(afterAdd)")

        // A live transaction: carol rings forever.
        children += [k.spawn(["sipp", "127.0.0.1:5071", "-sn", "uac", "-s", "carol", "-i", "127.0.0.1", "-p", "5084", "-m", "1",
                              "-nostdin"], log: "\(dir)/uac-ring.out")].compactMap { $0 }
        tmux.send("t")
        let (live, tmScreen) = tmux.waitFor(15) { s in
            s.split(separator: "\n").contains { $0.contains("INVITE") && $0.contains("sip:carol@") }
        }
        #expect(live, "transactions screen:\n\(tmScreen)")
        print("--- \(kind): transactions ---\n\(tmScreen)")
        let dumped = KamconE2E.runKamcon(["-s", k.ctl, "dump", "transactions"]).output
        #expect(dumped.split(separator: "\n").contains { $0.contains("INVITE") && $0.contains("sip:carol@") }, "\(dumped)")

        try endDialog(k, tmux, dir: dir, callee: callee)

        // Command prompt: complete core.up<Tab>, run it.
        tmux.send("F9")
        tmux.send("core.up", literal: true)
        tmux.send("Tab")
        let (completed, prompt) = tmux.waitFor { $0.contains("kamcon> core.uptime") }
        #expect(completed, "\(prompt)")
        tmux.send("Enter")
        let (ran, reply) = tmux.waitFor { $0.contains("up_since:") && $0.contains("uptime:") }
        #expect(ran, "\(reply)")
        print("--- \(kind): command ---\n\(reply)")

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
        print("--- \(kind): 80x24 ---\n\(small)")

        tmux.send("q")
        let quit = eventually(5) { tmux.exited ? true : nil }
        #expect(quit == true, "kamcon did not quit on q")
    }

    /// A call from sipp's UAC to alice, held for two minutes unless the console ends it:
    /// the dialogs screen shows it, x and y end it, and both sipp sides get a BYE.
    private func endDialog(_ k: ServerUnderTest, _ tmux: TmuxConsole, dir: String, callee: pid_t?) throws {
        let caller = k.spawn(["sipp", "127.0.0.1:5071", "-sn", "uac", "-s", "alice", "-i", "127.0.0.1", "-p", "5083", "-m", "1",
                              "-d", "120000", "-nostdin", "-trace_msg", "-message_file", "\(dir)/uac.msg"],
                             log: "\(dir)/uac.out")
        defer { if let caller { TestProcesses.stop(caller) } }
        tmux.send("d")
        // State 4 ("confirmed", ACK seen), not 3 ("confirmed*"): only then does end_dlg send BYEs.
        let (call, dlgScreen) = tmux.waitFor(15) { $0.contains(" confirmed ") }
        #expect(call, "dialogs screen:\n\(dlgScreen)")
        print("--- \(k.kind): dialogs ---\n\(dlgScreen)")
        let dumped = KamconE2E.runKamcon(["-s", k.ctl, "dump", "dialogs"]).output
        // The profiles column is cut on screen (Kamailio lists the last one set first), the dump has them all.
        #expect(dumped.split(separator: "\n").contains { $0.contains("confirmed") && $0.contains("sip:alice@")
            && $0.contains("caller=sipp") }, "\(dumped)")
        tmux.send("/")
        tmux.send("confirmed", literal: true)
        tmux.send("Enter")
        tmux.send("x")
        let (asked, question) = tmux.waitFor { $0.contains("End dialog") && $0.contains("[y/N]") }
        #expect(asked, "\(question)")
        tmux.send("y")
        let (ended, after) = tmux.waitFor(15) { $0.contains("dlg.end_dlg: done") && !$0.contains(" confirmed ") }
        #expect(ended, "dialog still listed:\n\(after)")
        tmux.send("Escape")
        // Both sides see the BYE. sipp buffers its message trace, so if a file does not
        // show it yet, both sipps are stopped (which flushes the traces) and read again.
        func sawBye(_ file: String) -> Bool {
            ((try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? "").contains("BYE sip:")
        }
        if eventually(5, { sawBye("uas.msg") && sawBye("uac.msg") ? true : nil }) == nil {
            for p in [caller, callee].compactMap({ $0 }) { TestProcesses.stop(p) }
        }
        // Kamailio 5.6.3 races with itself: when the caller's 200 to the first BYE is
        // processed before the second BYE leaves, the dialog is already "deleted" and the
        // callee's BYE is refused ("terminating non-confirmed dialogs not supported" in its
        // log). Only then is the callee's BYE not required.
        let raced = k.kind == .kamailio && k.log.contains("terminating non-confirmed dialogs not supported")
        #expect(sawBye("uac.msg"), "no BYE at the caller")
        #expect(sawBye("uas.msg") || raced, "no BYE at the callee; server log:\n\(k.log.suffix(3000))")
        if raced { print("--- \(k.kind): its own race left the callee without a BYE") }
    }

    @Test("says when the server goes away and reconnects when it is back, keeping the screen",
          arguments: E2EServer.available)
    func reconnect(_ kind: E2EServer) throws {
        let k = try ServerUnderTest.running(kind)
        defer { k.stop() }  // also keeps the server alive to the end of the test
        KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.add", "location", "carol", "sip:carol@127.0.0.1:5099",
                             "3600", "0.5", ".", "0", "0", "-1"])
        let tmux = try #require(TmuxConsole(command: "\(KamconE2E.kamcon) -s \(k.ctl) -i 0.5 -S registrations", width: 100, height: 30))
        defer { tmux.close() }
        #expect(tmux.waitFor { $0.contains("sip:carol@127.0.0.1:5099") }.0)
        tmux.send("/")
        tmux.send("car", literal: true)
        tmux.send("Enter")
        // kamailiod is killed outright (its socket file stays behind); Kamailio's children
        // would outlive a SIGKILL of the main process, so it gets SIGTERM.
        k.stop(signal: kind == .kamailiod ? SIGKILL : SIGTERM)
        let (down, screen) = tmux.waitFor { $0.contains("DISCONNECTED from unix:") }
        #expect(down, "\(screen)")
        #expect(screen.contains("sip:carol@127.0.0.1:5099"))  // last data stays visible
        try #require(k.start(), "\(kind) did not start again:\n\(k.log)")
        let (up, back) = tmux.waitFor(15) { $0.contains("● connected") }
        #expect(up, "\(back)")
        // The user's place survived: same screen, same filter (the restarted server has
        // an empty location table, so nothing matches any more).
        #expect(back.contains("filter \"car\""))
        let (empty, now) = tmux.waitFor { $0.contains("no registrations match \"car\"") }
        #expect(empty, "\(now)")
    }

    @Test("attaches over udp: (JSON-RPC), tcp: and udp: with -b (binrpc) as over unix:", arguments: E2EServer.available)
    func inetAttach(_ kind: E2EServer) throws {
        let k = try ServerUnderTest.running(kind, inet: true)
        defer { k.stop() }  // also keeps the server alive to the end of the test
        // The addresses are the namespace's loopback: kamcon runs inside it.
        let inside = ["nsenter", "-t", String(k.pid), "-n", KamconE2E.kamcon]
        for args in [["-s", "udp:127.0.0.1:5074"], ["-s", "tcp:127.0.0.1:5072"], ["-b", "-s", "udp:127.0.0.1:5073"]] {
            let (status, out) = TestProcesses.run(inside + args + ["rpc", "core.uptime"])
            #expect(status == 0 && out.hasPrefix("{\n\tnow: "), "\(args): \(status) \(out)")
        }
        let tmux = try #require(TmuxConsole(command: (inside + ["-s", "udp:127.0.0.1:5074", "-i", "0.5"]).joined(separator: " "),
                                            width: 100, height: 30))
        defer { tmux.close() }
        let (attached, screen) = tmux.waitFor { $0.contains("udp:127.0.0.1:5074") && $0.contains("● connected") && $0.contains("Uptime") }
        #expect(attached, "\(screen)")
    }

    @Test("rpc and dump print like kamcmd on every transport and exit non-zero on faults",
          arguments: E2EServer.available)
    func nonInteractive(_ kind: E2EServer) throws {
        let k = try ServerUnderTest.running(kind)
        defer { k.stop() }  // also keeps the server alive to the end of the test
        let dir = k.dir
        // The JSON datagram client binds an abstract socket for the reply, and those belong
        // to a network namespace: run it where the server runs.
        let inside = ["nsenter", "-t", String(k.pid), "-n", KamconE2E.kamcon]
        for address in [k.ctl, "dgram:\(dir)/rpc.sock", "fifo:\(dir)/rpc.fifo"] {
            let (status, out) = TestProcesses.run(inside + ["-s", address, "rpc", "core.uptime"])
            #expect(status == 0, "\(address)")
            #expect(out.hasPrefix("{\n\tnow: "), "\(address): \(out)")
            #expect(out.contains("\tuptime: "))
        }
        let (jsonStatus, json) = KamconE2E.runKamcon(["-s", k.ctl, "rpc", "--json", "core.version"])
        #expect(jsonStatus == 0)
        #expect(json.hasPrefix(kind == .kamailio ? "\"kamailio 5.6.3 (x86_64/linux) \"" : "\"kamailiod "), "\(json)")
        let (fault, faultText) = KamconE2E.runKamcon(["-s", k.ctl, "-x", "no.such.method"])
        #expect(fault == 1)
        #expect(faultText == "error: 500 - command no.such.method not found\n")
        let (notFound, _) = KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.lookup", "location", "nobody"])
        #expect(notFound == 1)
        let (notFoundJSON, _) = KamconE2E.runKamcon(["-s", k.ctl, "rpc", "--json", "ul.lookup", "location", "nobody"])
        #expect(notFoundJSON == 1)
        KamconE2E.runKamcon(["-s", k.ctl, "rpc", "ul.add", "location", "dave", "sip:dave@127.0.0.1:5098",
                             "600", "1.0", ".", "0", "0", "-1"])
        let (dumpStatus, dump) = KamconE2E.runKamcon(["-s", k.ctl, "dump", "registrations"])
        #expect(dumpStatus == 0)
        #expect(dump.hasPrefix("AoR "))
        #expect(dump.contains("dave  sip:dave@127.0.0.1:5098"), "\(dump)")
        let (_, dumpJSON) = TestProcesses.run(inside + ["-s", "dgram:\(dir)/rpc.sock", "dump", "registrations", "--json"])
        #expect(dumpJSON.contains("\"aor\":\t\"dave\""), "\(dumpJSON)")
        let (noServer, _) = KamconE2E.runKamcon(["-s", "unix:\(dir)/nothing", "rpc", "core.uptime"])
        #expect(noServer == 2)
    }
}

/// What the terminal is left like: kamcon run by a shell in tmux, which records kamcon's
/// exit status and `stty -a` afterwards, so a terminal left in curses mode (no echo, no
/// line editing) shows.
@Suite("kamcon leaves the terminal usable", .serialized)
struct KamconTerminalTests {
    /// SGR parameters that set a colour (30-38, 40-48, 90-97, 100-107; not 39/49, the
    /// terminal's own colours) in `screen`.
    static func colourCodes(_ screen: String) -> [Int] {
        var out: [Int] = []
        for part in screen.components(separatedBy: "\u{1b}[").dropFirst() {
            guard let end = part.firstIndex(of: "m") else { continue }
            let params = part[..<end].split(whereSeparator: { $0 == ";" || $0 == ":" }).compactMap { Int($0) }
            out += params.prefix(1).filter { ((30...48).contains($0) && $0 != 39) || (90...107).contains($0) }
        }
        return out
    }

    /// Runs kamcon in tmux through a shell; returns the console and the file prefix the
    /// shell writes `.status` and `.stty` to.
    static func console(_ k: ServerUnderTest, env: String, tag: String) throws -> (TmuxConsole, String) {
        let out = "\(k.dir)/\(tag)"
        // `trap : INT` keeps the shell alive for the bookkeeping after Ctrl-C (kamcon still
        // gets SIGINT with the default action, a trapped signal is not inherited as ignored).
        let script = "trap : INT; \(env) \(KamconE2E.kamcon) -s \(k.ctl) -i 0.5; echo $? > \(out).status; stty -a > \(out).stty; sleep 30"
        let tmux = try #require(TmuxConsole(command: "sh -c '\(script)'", width: 100, height: 30))
        return (tmux, out)
    }

    /// Waits for the shell to record kamcon's end: (exit status, stty -a).
    static func ended(_ out: String) -> (Int?, String) {
        let status = eventually(10) { (try? String(contentsOfFile: out + ".status", encoding: .utf8)).flatMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        } }
        // The shell creates the file before stty has written to it.
        let stty = eventually(5) { (try? String(contentsOfFile: out + ".stty", encoding: .utf8)).flatMap { $0.isEmpty ? nil : $0 } } ?? ""
        return (status, stty)
    }

    @Test("NO_COLOR has no colours, ? lists the keys, Ctrl-C and a crash restore the terminal",
          arguments: E2EServer.available.suffix(1))
    func restore(_ kind: E2EServer) throws {
        let k = try ServerUnderTest.running(kind)
        defer { k.stop() }  // also keeps the server alive to the end of the test

        let (mono, monoOut) = try Self.console(k, env: "NO_COLOR=1", tag: "mono")
        defer { mono.close() }
        #expect(mono.waitFor { $0.contains("● connected") }.0)
        let plain = mono.capture(escapes: true)
        #expect(Self.colourCodes(plain).isEmpty, "colours despite NO_COLOR: \(Self.colourCodes(plain))")
        #expect(plain.contains("\u{1b}["), "no attributes at all")  // roles still show as bold/reverse
        mono.send("?")
        let (help, helpScreen) = mono.waitFor { $0.contains("Everywhere") && $0.contains("Quit kamcon") }
        #expect(help, "\(helpScreen)")
        mono.send("C-c")
        let (status, stty) = Self.ended(monoOut)
        #expect(status == 0, "Ctrl-C: exit status \(String(describing: status))")
        #expect(stty.contains(" icanon") && stty.contains(" echo ") && !stty.contains("-icanon"), "after Ctrl-C: \(stty)")

        // `env -u`: swift test itself may run with NO_COLOR set.
        let (color, colorOut) = try Self.console(k, env: "env -u NO_COLOR", tag: "color")
        defer { color.close() }
        #expect(color.waitFor { $0.contains("● connected") }.0)
        let colored = color.capture(escapes: true)
        #expect(!Self.colourCodes(colored).isEmpty, "no colours without NO_COLOR: \(colored.debugDescription)")
        let shell = try #require(color.panePID)
        let children = (try? String(contentsOfFile: "/proc/\(shell)/task/\(shell)/children", encoding: .utf8)) ?? ""
        let kamcon = try #require(children.split(separator: " ").compactMap { pid_t($0) }.first)
        kill(kamcon, SIGSEGV)
        let (crash, crashStty) = Self.ended(colorOut)
        #expect(crash == 128 + Int(SIGSEGV), "crash: exit status \(String(describing: crash))")
        #expect(crashStty.contains(" icanon") && crashStty.contains(" echo ") && !crashStty.contains("-icanon"),
                "after SIGSEGV: \(crashStty)")
    }
}
