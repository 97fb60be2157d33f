import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// usrloc's `ul.*` methods through the real kamcmd, against a daemon storing registrations
/// in SQLite (db_mode 1): what the RPC removes is gone after a SIGKILL and restart.
@Suite("usrloc RPC through kamcmd", .serialized,
       .enabled(if: inIsolatedNetwork() && which("kamcmd") != nil, "needs an isolated network namespace and kamcmd"))
struct DaemonUsrlocRPCTests {
    @Test("ul.dump/lookup/add/rm_contact/rm over binrpc; removals reach the database")
    func kamcmdUsrloc() throws {
        let db = try initDatabase(temporaryDirectory())
        let config = RegistrarConfig.text(dbURL: db.url, dbMode: 1, extra: "loadmodule \"ctl.so\"")
        let ua = try UDPPeer()
        let first = try DaemonProcess(config: config)
        for user in ["alice", "bob"] {
            ua.send(registerRequest(user, peer: ua, cseq: 1, contacts: ["<sip:\(user)@127.0.0.1:5091>", "<sip:\(user)@127.0.0.1:5092>;q=0.5"]),
                    to: "127.0.0.1", port: first.port)
            #expect(statusCode(ua.receive()) == 200)
        }
        let brief = try DaemonControlTests.kamcmd(first, ["ul.dump", "brief"])
        #expect(brief.contains("\t\t\tDomain: location\n\t\t\tSize: 1024\n\t\t\tAoRs: {\n"), "\(brief)")
        #expect(brief.contains("\t\t\t\tAoR: alice\n") && brief.contains("\t\t\t\tAoR: bob\n"))
        #expect(brief.contains("\t\t\t\tRecords: 2\n"))
        let lookup = try DaemonControlTests.kamcmd(first, ["ul.lookup", "location", "alice"])
        #expect(lookup.hasPrefix("{\n\tAoR: alice\n\tContacts: {\n\t\tContact: {\n\t\t\tAddress: sip:alice@127.0.0.1:5091\n"), "\(lookup)")
        #expect(lookup.contains("\t\t\tQ: 0.500000\n") && lookup.contains("\t\t\tQ: -1\n") && lookup.contains("\t\t\tMethods: -1\n") && lookup.contains("\t\t\tState: CS_SYNC\n"), "\(lookup)")
        #expect(try DaemonControlTests.kamcmd(first, ["ul.rm_contact", "location", "alice", "sip:alice@127.0.0.1:5092"]) == "")
        #expect(try DaemonControlTests.kamcmd(first, ["ul.rm", "location", "bob"]) == "")
        #expect(try DaemonControlTests.kamcmd(first, ["ul.add", "location", "carol", "sip:carol@127.0.0.1:5093", "600", "0.5", ".",
                                                      "0", "0", "255"]) == "")
        #expect(try DaemonControlTests.kamcmd(first, ["ul.db_users", "location"]) == "2\n")
        #expect(try DaemonControlTests.kamcmd(first, ["ul.db_contacts", "location"]) == "2\n")
        let missing = try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + DaemonControlTests.paths(first).ctl,
                                                          "ul.rm_contact", "location", "alice", "sip:nobody@h"])
        #expect(missing.output == "error: 404 - Contact not found\n")

        kill(first.pid, SIGKILL)
        first.stop()
        let rows = try run(which("sqlite3") ?? "/usr/bin/sqlite3", [db.path, "SELECT contact FROM location ORDER BY contact"])
        #expect(rows.output == "sip:alice@127.0.0.1:5091\nsip:carol@127.0.0.1:5093\n")
        let second = try DaemonProcess(config: config, port: first.port)
        defer { second.stop() }
        let after = try DaemonControlTests.kamcmd(second, ["ul.dump"])
        #expect(after.contains("Address: sip:alice@127.0.0.1:5091") && after.contains("Address: sip:carol@127.0.0.1:5093"))
        #expect(!after.contains("5092") && !after.contains("AoR: bob"), "\(after)")
    }
}
