import Foundation
import Testing

/// `kamctl` finds our FIFO the way operators configure it: through a kamctlrc file
/// (`~/.kamctlrc`, sourced after /etc/kamailio/kamctlrc, so it wins).
@Suite("kamctl configured through kamctlrc")
struct DaemonControlKamctlrcTests {
    @Test("kamctl rpc core.version and kamctl uptime reach kamailiod through ~/.kamctlrc",
          .enabled(if: which("kamctl") != nil))
    func kamctlrc() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let home = d.dir.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try "RPCFIFOPATH=\"\(DaemonControlTests.paths(d).fifo)\"\n"
            .write(to: home.appendingPathComponent(".kamctlrc"), atomically: true, encoding: .utf8)
        let kamctl = which("kamctl") ?? "kamctl"
        let version = try run("/usr/bin/env", ["-u", "RPCFIFOPATH", "HOME=\(home.path)", kamctl, "rpc", "core.version"], timeout: 20)
        #expect(version.status == 0, "\(version.output)")
        #expect(version.output.contains("\"result\": \"kamailiod "), "\(version.output)")
        let uptime = try run("/usr/bin/env", ["-u", "RPCFIFOPATH", "HOME=\(home.path)", kamctl, "uptime"], timeout: 20)
        #expect(uptime.output.contains("uptime"), "\(uptime.output)")
    }
}
