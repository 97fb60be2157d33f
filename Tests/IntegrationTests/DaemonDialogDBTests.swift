import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("dialog: db_mode keeps confirmed dialogs in SQLite across a restart", .serialized,
       .enabled(if: which("sipp") != nil && which("kamcmd") != nil && which("sqlite3") != nil))
struct DaemonDialogDBTests {
    let base = DaemonDialogTests()

    func sqlite(_ path: String, _ sql: String) throws -> String {
        try run(which("sqlite3") ?? "/usr/bin/sqlite3", [path, sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A call up through a daemon with `db_mode`; the daemon is stopped (killed for db_mode
    /// 1 and 2, SIGTERM for 3) and started again on the same port and database: the call is
    /// listed again and dlg.end_dlg still reaches both sides.
    func survivesRestart(mode: Int) throws {
        try #require(inIsolatedNetwork(), "needs an isolated network namespace")
        let db = try initDatabase(temporaryDirectory())
        let uasPort = freePort()
        let modparams = "loadmodule \"db_sqlite.so\"\nmodparam(\"dialog\", \"db_url\", \"\(db.url)\")\nmodparam(\"dialog\", \"db_mode\", \(mode))"
            // mode 1 must not need a flush: with a period far beyond the test, only a real-time write passes
            + "\nmodparam(\"dialog\", \"db_update_period\", \(mode == 1 ? 600 : 1))"
        let (first, uas) = try base.start(modparams: modparams, uasPort: uasPort)
        defer { uas.stop() }
        let uac = try base.callerWaitingForBye(first)
        defer { uac.stop() }
        let list = try base.waitList(first) { $0.contains("state: 4") }
        let callID = try #require(list.split(separator: "\n").first { $0.contains("call-id: ") }?
            .components(separatedBy: "call-id: ").last, "\(list)")
        if mode == 1 {
            // written as it happened: a crash loses nothing. The row follows the ACK's state
            // change right after dlg.list can show it, so read until it is there.
            let row = try pollText({ try sqlite(db.path, "SELECT state, callid FROM dialog") }, until: { $0 == "4|\(callID)" })
            #expect(row == "4|\(callID)")
            #expect(try sqlite(db.path, "SELECT dialog_key, dialog_value FROM dialog_vars") == "src|127.0.0.1")
            // profiles in xdata as Kamailio 5.6.3 writes them, newest first
            let xdata = try sqlite(db.path, "SELECT xdata FROM dialog")
            #expect(xdata.hasPrefix(#"{"profiles":[{"name":"inbound","puid":"dlgp-"#) && xdata.contains(#"{"name":"caller","value":"sipp","puid":"#),
                    "\(xdata)")
            kill(first.pid, SIGKILL)
        } else if mode == 2 {
            // written by the next flush (db_update_period 1)
            var rows = ""
            for _ in 0..<100 where rows != "4|\(callID)" {
                usleep(100_000)
                rows = try sqlite(db.path, "SELECT state, callid FROM dialog")
            }
            kill(first.pid, SIGKILL)
        } else {
            #expect(try sqlite(db.path, "SELECT count(*) FROM dialog") == "0")  // not yet: at shutdown
        }
        first.stop()
        #expect(try sqlite(db.path, "SELECT state, callid FROM dialog") == "4|\(callID)", "\(first.log.suffix(1500))")
        let second = try DaemonProcess(config: DaemonDialogTests.config(uas: uasPort, modparams: modparams), port: first.port)
        defer { second.stop() }
        #expect(second.log.contains("loaded 1 dialog(s)"), "\(second.log.suffix(1500))")
        let again = try base.kamcmd(second, ["dlg.list"])
        #expect(again.contains("call-id: \(callID)") && again.contains("state: 4") && again.contains("src: 127.0.0.1")
                && again.contains("lifetime: 43200"), "\(again)")
        #expect(again.contains("\tprofiles: {\n\t\tinbound\n\t\t{\n\t\t\tcaller: sipp\n\t\t}\n\t}"), "\(again)")
        #expect(try base.kamcmd(second, ["dlg.profile_get_size", "inbound"]).trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        #expect(try base.kamcmd(second, ["stats.get_statistics", "dialog:"]).contains("dialog:active_dialogs = 1"))
        let entry = try #require(base.number(again, "h_entry")), id = try #require(base.number(again, "h_id"))
        _ = try base.kamcmd(second, ["dlg.end_dlg", String(entry), String(id)])
        #expect(uac.wait(20) == 0, "caller: \(uac.log.suffix(1500))")
        #expect(uas.wait(20) == 0, "callee: \(uas.log.suffix(1500))")
        // an ended dialog leaves the database too (the sipp peers can be done a moment before)
        #expect(try pollText({ try sqlite(db.path, "SELECT count(*) FROM dialog") }, until: { $0 == "0" }) == "0")
        #expect(try sqlite(db.path, "SELECT count(*) FROM dialog_vars") == "0")
    }

    @Test("db_mode 1 (realtime): the confirmed call is in the dialog table at once and survives a SIGKILL")
    func realtime() throws { try survivesRestart(mode: 1) }

    @Test("db_mode 2 (delayed): the next db_update_period writes the call; it survives a SIGKILL")
    func delayed() throws { try survivesRestart(mode: 2) }

    @Test("db_mode 3 (shutdown): written when the daemon stops, loaded when it starts")
    func shutdown() throws { try survivesRestart(mode: 3) }
}
