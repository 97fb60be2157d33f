import Foundation
import Testing

/// `kamailiod -c` on the harness's ref.cfg and on scripts that use modules kamailiod lacks.
@Suite("Script loading: ref.cfg and missing modules")
struct DaemonScriptConfigCheckTests {
    /// ref.cfg either passes, or the only complaints are missing modules, one
    /// `ref.cfg:line:1: module 'x' is not available in kamailiod` line each.
    @Test("kamailiod -c -f ref.cfg succeeds or reports exactly the missing modules")
    func refConfig() throws {
        let ref = TestPaths.shared.appendingPathComponent("harness/ref.cfg").path
        guard FileManager.default.fileExists(atPath: ref) else { return }
        let r = try run(TestPaths.daemon.path, ["-c", "-f", ref])
        if r.status == 0 { return }
        let lines = r.output.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        #expect(!lines.isEmpty)
        for line in lines {
            let ok = line.range(of: #"ref\.cfg:[0-9]+:1: module '[a-z_0-9]+' is not available in kamailiod$"#,
                                options: .regularExpression) != nil
            #expect(ok, "unexpected line: \(line)")
        }
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
