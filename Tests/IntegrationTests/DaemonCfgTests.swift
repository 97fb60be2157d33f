import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cfg.*` and `htable.*` against the running daemon, through kamcmd over the ctl socket.
@Suite("daemon cfg_rpc and htable RPC", .serialized)
struct DaemonCfgTests {
    static let config = controlConfig(loading: ["ctl", "cfg_rpc", "maxfwd", "htable"], """
        modparam("htable", "htable", "ext=>size=4;")
        app.greeting = "hi" desc "what to say"
        event_route[htable:mod-init] {
            $sht(ext=>101) = "bob";
        }
        request_route {
            drop;
        }
        """)

    @Test("cfg.set_now_int changes core debug; wrong range and type are faults; htable.get reads the script's value",
          .enabled(if: which("kamcmd") != nil))
    func cfgAndHTable() throws {
        let daemon = try DaemonProcess(config: Self.config, waitForUDP: false)
        defer { daemon.stop() }
        func kamcmd(_ args: String...) throws -> String {
            try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + daemon.dir.path + "/kamailio_ctl"] + args, timeout: 20).output
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try kamcmd("cfg.get", "core", "debug") == "2")
        #expect(try kamcmd("cfg.set_now_int", "core", "debug", "3") == "")
        #expect(try kamcmd("cfg.get", "core", "debug") == "3")
        #expect(try kamcmd("cfg.seti", "maxfwd", "max_limit", "1000") == "error: 400 - Failed to set the variable")
        // kamcmd sends s:abc as a string record: the int method refuses the record type
        #expect(try kamcmd("cfg.seti", "maxfwd", "max_limit", "s:abc").hasPrefix("error: 400"))
        #expect(try kamcmd("cfg.sets", "app", "greeting", "hello") == "")
        #expect(try kamcmd("cfg.get", "app", "greeting") == "hello")
        // kamcmd sends 101 as an integer record; like ctl without autoconvert, that is refused
        #expect(try kamcmd("htable.get", "ext", "101") == "error: 500 - Not enough parameters (htable name and key name)")
        let item = try kamcmd("htable.get", "ext", "s:101")
        #expect(item.contains("name: 101") && item.contains("value: bob") && item.contains("expire: NEVER"), "\(item)")
        #expect(try kamcmd("htable.get", "ext", "s:999") == "error: 500 - Key name doesn't exist in htable.")
    }
}
