import Foundation
import Testing

/// The engineering rule that the man pages document every RPC method: a daemon with every
/// built-in module loaded lists its methods (`system.listMethods` over the ctl socket,
/// as kamcmd asks), and each must be named in man/kamailiod.8 or man/kamailiod.cfg.5.
@Suite("man pages: RPC methods")
struct DaemonManRPCTests {
    static let modules = ["sl", "tm", "tmx", "rr", "dialog", "htable", "usrloc", "registrar", "auth", "auth_db",
                          "db_sqlite", "ctl", "jsonrpcs", "kex", "corex", "cfg_rpc", "debugger", "pv", "xlog",
                          "textops", "textopsx", "siputils", "maxfwd", "sanity", "tls"]

    @Test("every method system.listMethods names is documented",
          .enabled(if: inIsolatedNetwork() && which("kamcmd") != nil))
    func everyMethodDocumented() throws {
        let tmp = temporaryDirectory()
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let db = tmp.appendingPathComponent("k.db").path
        let config = (["listen=udp:127.0.0.1:{PORT}"] + Self.modules.map { "loadmodule \"\($0).so\"" }
                      + ["modparam(\"auth_db\", \"db_url\", \"sqlite://\(db)\")", "request_route { sl_send_reply(\"200\", \"OK\"); exit; }"])
            .joined(separator: "\n")
        let d = try DaemonProcess(config: config)
        defer { d.stop() }
        let out = try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + d.dir.path + "/kamailio_ctl", "system.listMethods"],
                          timeout: 20).output
        let methods = out.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // the modules above export these at least (a short list would hide a broken query)
        #expect(methods.count >= 100 && methods.contains("tm.list") && methods.contains("dlg.list"), "\(out.prefix(2000))")
        let pages = try ["man/kamailiod.8", "man/kamailiod.cfg.5"].map {
            try String(contentsOf: TestPaths.repoRoot.appendingPathComponent($0), encoding: .utf8)
        }.joined(separator: "\n")
        let wordChar: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }
        let missing = methods.filter { m in
            var from = pages.startIndex
            while let r = pages.range(of: m, range: from..<pages.endIndex) {
                let after = r.upperBound == pages.endIndex ? " " : pages[r.upperBound]
                if !wordChar(after) { return false }
                from = r.upperBound
            }
            return true
        }
        #expect(missing.isEmpty, "undocumented RPC methods: \(missing)")
    }
}
