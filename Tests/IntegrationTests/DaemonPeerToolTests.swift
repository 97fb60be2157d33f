import Foundation
import Testing

/// Real SIP peers from Debian: sipsak and sipp.
@Suite("Real peers", .serialized)
struct DaemonPeerToolTests {
    @Test("sipsak's OPTIONS ping gets 200 OK", .enabled(if: which("sipsak") != nil))
    func sipsakPing() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let r = try run(which("sipsak") ?? "sipsak", ["-vv", "-s", "sip:ping@127.0.0.1:\(d.port)"], timeout: 30)
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("200 OK"), "\(r.output)")
    }

    @Test("sipp calls complete through the stateless proxy (uac -> kamailiod -> uas)", .enabled(if: which("sipp") != nil))
    func sippCalls() throws {
        let uasPort = freePort()
        let d = try DaemonProcess(config: DaemonForwardingTests.proxyConfig(uasPort: uasPort), waitForUDP: false)
        defer { d.stop() }
        let uas = Process()
        uas.executableURL = URL(fileURLWithPath: which("sipp") ?? "sipp")
        uas.arguments = ["-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-m", "20", "-nostdin", "-bg"]
        uas.standardOutput = FileHandle.nullDevice
        uas.standardError = FileHandle.nullDevice
        try uas.run()
        defer { if uas.isRunning { uas.terminate() } }
        #expect(waitForUDPListener(uasPort), "the sipp UAS did not start")
        let r = try run(which("sipp") ?? "sipp", ["127.0.0.1:\(d.port)", "-sn", "uac", "-i", "127.0.0.1", "-p", "\(freePort())",
                                                   "-m", "20", "-r", "20", "-nostdin", "-timeout", "30s", "-timeout_error", "-pause_msg_ign"],
                        timeout: 60)
        #expect(r.status == 0, "sipp uac: \(r.output.suffix(2000))\nlog: \(d.log.suffix(2000))")
    }
}
