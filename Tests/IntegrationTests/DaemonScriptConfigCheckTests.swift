import Foundation
import Testing

/// `kamailiod -c` on the harness's ref.cfg and on scripts that use modules kamailiod lacks.
@Suite("Script loading: ref.cfg and missing modules")
struct DaemonScriptConfigCheckTests {
    /// Every module ref.cfg loads exists, so the check passes.
    @Test("kamailiod -c -f ref.cfg succeeds")
    func refConfig() throws {
        let ref = TestPaths.shared.appendingPathComponent("harness/ref.cfg").path
        try #require(FileManager.default.fileExists(atPath: ref), "../shared/harness/ref.cfg is missing")
        let r = try run(TestPaths.daemon.path, ["-c", "-f", ref])
        #expect(r.status == 0, "\(r.output)")
    }

    @Test("all missing modules are listed, then nothing; a function of an unloaded module names it")
    func allMissing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-miss-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("m.cfg")
        try "loadmodule \"sl.so\"\nloadmodule \"nope1.so\"\nloadmodule \"nope2.so\"\nrequest_route { nosuch(); }\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.daemon.path, ["-c", "-f", file.path])
        #expect(r.status != 0)
        #expect(r.output.split(separator: "\n").map(String.init) == [
            "\(file.path):2:1: module 'nope1' is not available in kamailiod",
            "\(file.path):3:1: module 'nope2' is not available in kamailiod",
        ])
        try "request_route { if (is_method(\"INVITE\")) exit; }\n".write(to: file, atomically: true, encoding: .utf8)
        let u = try run(TestPaths.daemon.path, ["-c", "-f", file.path])
        #expect(u.output.contains("\(file.path):1:21: unknown function 'is_method' (module 'textops' is not loaded)"),
                "\(u.output)")
    }
}
