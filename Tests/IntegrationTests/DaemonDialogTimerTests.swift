import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A caller that sends the INVITE of `uacWaitsForBye`, takes the replies `expect` lists
/// and then waits without ACKing or cancelling.
private func uacNoAck(_ expect: String) -> String {
    let invite = uacWaitsForBye.components(separatedBy: "  <recv response=\"180\"")[0]
    return invite + expect + "\n  <pause milliseconds=\"30000\"/>\n</scenario>\n"
}

/// A callee that rings and never answers: uas_rr.xml up to its 200.
private func uasRingsOnly(_ scenarios: URL) throws -> String {
    let uas = try String(contentsOf: scenarios.appendingPathComponent("uas_rr.xml"), encoding: .utf8)
    return uas.components(separatedBy: "  <send retrans=\"500\">")[0] + "  <pause milliseconds=\"30000\"/>\n</scenario>\n"
}

@Suite("dialog: in-dialog requests forwarded statelessly, timeout route, early/noack timeouts", .serialized,
       .enabled(if: which("sipp") != nil && which("kamcmd") != nil))
struct DaemonDialogTimerTests {
    let base = DaemonDialogTests()

    /// A sipp caller running `scenario` (written next to the daemon's files) or, with
    /// nil, the bench caller holding the call `hold` ms before its BYE.
    func caller(_ proxy: DaemonProcess, scenario: String? = nil, hold: Int = 0) throws -> DialogSippProcess {
        var sf = base.scenarios.appendingPathComponent("uac_rr.xml").path
        if let scenario {
            let url = proxy.dir.appendingPathComponent("uac_custom.xml")
            try scenario.write(to: url, atomically: true, encoding: .utf8)
            sf = url.path
        }
        return try DialogSippProcess(base.sipp, ["-sf", sf, "127.0.0.1:\(proxy.port)", "-s", "bob", "-i", "127.0.0.1",
                                                 "-p", String(freePort()), "-m", "1", "-d", String(hold), "-timeout", "40"],
                                     log: proxy.dir.appendingPathComponent("uac.log"))
    }

    func stats(_ proxy: DaemonProcess) throws -> String { try base.kamcmd(proxy, ["stats.get_statistics", "dialog:"]) }

    /// Polls the daemon's log until it contains `text` (or 20 s pass).
    func waitLog(_ proxy: DaemonProcess, _ text: String) -> Bool {
        for _ in 0..<200 {
            if proxy.log.contains(text) { return true }
            usleep(100_000)
        }
        return proxy.log.contains(text)
    }

    @Test("ACK and BYE forwarded statelessly after loose_route() confirm and end the dialog (rr's callback, as Kamailio)")
    func statelessInDialog() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (proxy, uas) = try base.start(inDialog: "if (is_method(\"ACK\") || is_method(\"BYE\")) { forward(); exit; }")
        defer { uas.stop(); proxy.stop() }
        let uac = try caller(proxy, hold: 2000)
        defer { uac.stop() }
        let list = try base.waitList(proxy) { $0.contains("state: 4") }
        #expect(list.contains("state: 4"), "\(list)")
        #expect(uac.wait(30) == 0, "uac: \(uac.log.suffix(1500))")
        // no transaction holds the BYE: gone at once (no state 5 as after t_relay)
        #expect(!(try base.kamcmd(proxy, ["dlg.list"])).contains("h_entry"))
        #expect(waitLog(proxy, "var=127.0.0.1 over BYE"), "\(proxy.log.suffix(2000))")
        let st = try stats(proxy)
        #expect(st.contains("dialog:active_dialogs = 0") && st.contains("dialog:expired_dialogs = 0"), "\(st)")
    }

    @Test("without timeout_bye a dialog whose lifetime ran out runs route[timeout_route], then dialog:end, and counts expired")
    func timeoutRouteWithoutBye() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (proxy, uas) = try base.start(timeout: 1)
        defer { uas.stop(); proxy.stop() }
        let uac = try caller(proxy, hold: 5000)  // its BYE comes long after the timeout
        defer { uac.stop() }
        // dialog:end runs last, after the dialog left the table and was counted
        #expect(waitLog(proxy, "dialog end "), "\(proxy.log.suffix(2000))")
        let log = proxy.log
        let route = try #require(log.range(of: "timeout route ran for "), "\(log.suffix(2000))")
        let end = try #require(log.range(of: "dialog end "))
        #expect(route.lowerBound < end.lowerBound && log.contains("state=4 toroute=1 var=127.0.0.1 over OPTIONS"), "\(log.suffix(2000))")
        #expect(log[end.lowerBound...].prefix { $0 != "\n" }.hasSuffix("var=127.0.0.1 over OPTIONS"), "\(log.suffix(2000))")
        #expect(!(try base.kamcmd(proxy, ["dlg.list"])).contains("h_entry"))
        let st = try stats(proxy)
        #expect(st.contains("dialog:expired_dialogs = 1") && st.contains("dialog:active_dialogs = 0"), "\(st)")
        _ = uac.wait(20)
    }

    @Test("early_timeout drops a dialog that never got a final reply: gone, not counted failed, no longer early")
    func earlyTimeout() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let ring = FileManager.default.temporaryDirectory.appendingPathComponent("uas_ring_\(getpid())_\(freePort()).xml")
        try uasRingsOnly(base.scenarios).write(to: ring, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: ring) }
        let (proxy, uas) = try base.start(modparams: "modparam(\"dialog\", \"early_timeout\", 1)", uasScenario: ring.path)
        defer { uas.stop(); proxy.stop() }
        let uac = try caller(proxy, scenario: uacNoAck("  <recv response=\"180\"/>"))
        defer { uac.stop() }
        #expect(waitLog(proxy, "dialog in early state is too old"), "\(proxy.log.suffix(2000))")
        #expect(!(try base.kamcmd(proxy, ["dlg.list"])).contains("h_entry"))
        let st = try stats(proxy)
        #expect(st.contains("dialog:failed_dialogs = 0") && st.contains("dialog:early_dialogs = 0")
                && st.contains("dialog:processed_dialogs = 1"), "\(st)")
    }

    @Test("noack_timeout: a 2xx never ACKed leaves the dialog 10 more seconds, then it times out (route, dialog:end, expired)")
    func noAckTimeout() throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let (proxy, uas) = try base.start(modparams: "modparam(\"dialog\", \"noack_timeout\", 1)")
        defer { uas.stop(); proxy.stop() }
        let uac = try caller(proxy, scenario: uacNoAck("  <recv response=\"180\" optional=\"true\"/>\n  <recv response=\"200\"/>"))
        defer { uac.stop() }
        let list = try base.waitList(proxy) { $0.contains("lifetime: 10\n") }
        #expect(list.contains("state: 3") && list.contains("lifetime: 10\n"), "\(list)")
        // dialog:end runs last, after the dialog was counted expired
        #expect(waitLog(proxy, "dialog end "), "\(proxy.log.suffix(2000))")
        #expect(proxy.log.contains("state=3 toroute=1 var=127.0.0.1 over OPTIONS"), "\(proxy.log.suffix(2000))")
        let st = try stats(proxy)
        #expect(st.contains("dialog:expired_dialogs = 1") && st.contains("dialog:active_dialogs = 0"), "\(st)")
    }
}
