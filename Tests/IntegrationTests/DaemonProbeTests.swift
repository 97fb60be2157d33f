import Foundation
import Testing

/// The public bad-input corpus (`../shared/corpus-public/probe.py`) against the embedded
/// default, over UDP and TCP. Runs only in a private network namespace with only loopback:
/// the corpus names real neighbours (192.0.2.x) in its Vias.
@Suite("Bad-input corpus", .serialized, .enabled(if: inIsolatedNetwork() && FileManager.default.fileExists(
    atPath: TestPaths.shared.appendingPathComponent("corpus-public/probe.py").path)))
struct DaemonProbeTests {
    func probe(_ args: [String]) throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let script = TestPaths.shared.appendingPathComponent("corpus-public/probe.py").path
        let r = try run("/usr/bin/python3", [script, "127.0.0.1", String(d.port)] + args, timeout: 600)
        let last = r.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(r.status == 0 && last.hasSuffix(" 0 failed"), "probe: \(r.output.suffix(4000))")
        #expect(last.hasPrefix("") && !last.hasPrefix("0 passed"), "probe ran nothing: \(last)")
    }

    @Test("every public corpus message over UDP gets an acceptable answer and the daemon survives")
    func udp() throws { try probe([]) }

    @Test("every public corpus message over TCP gets an acceptable answer and the daemon survives")
    func tcp() throws { try probe(["--tcp-only"]) }
}
