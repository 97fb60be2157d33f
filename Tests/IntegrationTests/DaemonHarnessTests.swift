import Foundation
import Testing

/// The shared differential harness (`../shared/harness`): `ref.cfg` and its sipp
/// scenarios, whose transcripts were recorded from Kamailio 5.6.3, run against the
/// daemon built here. Every scenario must pass and compare `same`.
@Suite("Differential harness against Kamailio 5.6.3 transcripts")
struct DaemonHarnessTests {
    static let runner = TestPaths.shared.appendingPathComponent("harness/run.sh").path

    @Test("every ref.cfg scenario gives the codes and messages Kamailio gave",
          .enabled(if: inIsolatedNetwork() && which("sipp") != nil && which("sqlite3") != nil && which("ss") != nil
                   && FileManager.default.fileExists(atPath: DaemonHarnessTests.runner)))
    func harness() throws {
        let out = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        // four digits: the recorded transcripts' Content-Lengths count the SDP's media
        // port (the sipp port + 2), so a five-digit port would differ by one
        let port = try #require(freePortRun(5, in: 6000...9999), "no 5 free ports in a row")
        // HARNESS_OUT keeps ../shared read-only; COMPARE=full is the harness default
        let r = try run("/usr/bin/env", ["HARNESS_OUT=\(out.path)", Self.runner, TestPaths.daemon.path, "\(port)"],
                        timeout: 300)
        let summary = r.output.split(separator: "\n").last { $0.hasSuffix(" failed") }.map(String.init)
        let counts = summary?.split(separator: " ").compactMap { Int($0) } ?? []
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(counts.count == 2 && counts[0] >= 18 && counts[1] == 0, "\(summary ?? String(r.output.suffix(2000)))")
        // each scenario line says pass and same
        let rows = r.output.split(separator: "\n").filter { $0.contains(" pass ") || $0.contains(" FAIL ") }
        #expect(rows.count == counts.reduce(0, +))
        for row in rows { #expect(row.contains(" pass ") && row.contains(" same "), "\(row)") }
    }
}
