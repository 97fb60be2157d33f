import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hostile and broken TLS peers: each is refused or timed out with a log line, the daemon
/// keeps serving, and its descriptors come back.
@Suite("TLS daemon bad input", .serialized,
       .enabled(if: inIsolatedNetwork() && which("openssl") != nil && which("python3") != nil,
                "needs an isolated network namespace, openssl and python3"))
struct DaemonTLSBadInputTests {
    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// The soft RLIMIT_NOFILE of a process, from /proc/PID/limits.
    static func descriptorLimit(_ pid: Int32) -> Int {
        let text = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        return line.split(separator: " ").compactMap { Int($0) }.first ?? 1024
    }

    @Test("plain text, a stalled handshake, a close mid-message and 1,000 idle connections: logged, closed, fds released")
    func hostilePeers() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let d = try DaemonProcess(config: TLSDaemonConfig.text(
            certs: certs, tlsPort: tlsPort, tlsParams: "modparam(\"tls\", \"connection_timeout\", 3)"))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let port = String(tlsPort)
        // Warm up (first handshake, worker threads touched), then take the baseline.
        #expect(try TLSPythonUA.run(ua, ["handshake", "--port", port]).status == 0)
        let deadline = Date().addingTimeInterval(20)
        while DaemonTLSTests.waitForLog(d, "closed by peer", timeout: 0.1) == false && Date() < deadline {}
        let baseline = Self.openDescriptors(d.pid)

        let plain = try TLSPythonUA.run(ua, ["plaintext", "--port", port])
        #expect(plain.status == 0 && plain.output.contains("CLOSED plaintext"), "\(plain.output)")
        #expect(DaemonTLSTests.waitForLog(d, "tls handshake with 127.0.0.1:"), "\(d.log)")
        #expect(d.log.contains("wrong version number") || d.log.contains("http request") || d.log.contains("packet length"),
                "\(d.log)")

        let stall = try TLSPythonUA.run(ua, ["stall", "--port", port])
        #expect(stall.status == 0 && stall.output.contains("CLOSED stall"), "\(stall.output)")
        // logged just after the close the client saw
        #expect(DaemonTLSTests.waitForLog(d, "tls handshake not finished after"), "\(d.log)")

        let mid = try TLSPythonUA.run(ua, ["midclose", "--port", port])
        #expect(mid.status == 0, "\(mid.output)")
        #expect(DaemonTLSTests.waitForLog(d, "in the middle of a message"), "\(d.log)")

        // 1,000 unless the daemon's descriptor limit is lower (a CI box with ulimit -n 1024).
        let count = min(1000, Self.descriptorLimit(d.pid) - 64)
        let idle = try TLSPythonUA.run(ua, ["idle", "--port", port, "--count", String(count)], timeout: 300)
        #expect(idle.status == 0, "\(idle.output)")
        #expect(idle.output.contains("OK still serving with \(count) idle connections"), "\(idle.output)")
        #expect(idle.output.contains("CLOSED idle all \(count)"), "\(idle.output)")
        #expect(DaemonTLSTests.waitForLog(d, "idle for 3.0 s"), "\(d.log.suffix(2000))")

        // Everything closed: the descriptor count is back at the baseline.
        var now = Self.openDescriptors(d.pid)
        let fdDeadline = Date().addingTimeInterval(20)
        while now > baseline && Date() < fdDeadline {
            usleep(100_000)
            now = Self.openDescriptors(d.pid)
        }
        #expect(now <= baseline, "descriptors: \(now) now, \(baseline) before")
        // And it still serves.
        let after = try TLSPythonUA.run(ua, ["handshake", "--port", port])
        #expect(after.status == 0, "\(after.output)")
    }
}
