import Foundation
import Testing

/// `kamailiod -c`: a valid script exits 0, a broken one names file:line:col and exits non-zero.
@Suite("Configuration check")
struct DaemonConfigCheckTests {
    func check(_ text: String) throws -> (status: Int32, output: String, path: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kd-cfg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("broken.cfg")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.daemon.path, ["-c", "-f", file.path])
        return (r.status, r.output, file.path)
    }

    @Test("the embedded default and a small valid script pass -c")
    func validScripts() throws {
        #expect(try run(TestPaths.daemon.path, ["-c"]).status == 0)
        let r = try check("""
        listen=udp:127.0.0.1:5999
        loadmodule "sl.so"
        loadmodule "textops.so"
        request_route {
            if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
            drop;
        }
        """)
        #expect(r.status == 0, "\(r.output)")
    }

    @Test("a syntax error is reported as file:line:col with what was expected")
    func syntaxError() throws {
        let r = try check("request_route {\n    sl_send_reply(\"200\", \"OK\")\n}\n")
        #expect(r.status != 0)
        #expect(r.output.contains("\(r.path):3:1"), "\(r.output)")
    }

    @Test("a module kamailiod does not have is named with its line")
    func missingModule() throws {
        let r = try check("loadmodule \"sl.so\"\nloadmodule \"nosuchmod.so\"\nrequest_route { exit; }\n")
        #expect(r.status != 0)
        #expect(r.output.contains("\(r.path):2:"), "\(r.output)")
        #expect(r.output.contains("module 'nosuchmod' is not available in kamailiod"), "\(r.output)")
    }

    @Test("an unknown function and a wrong reply code are load-time errors")
    func badCalls() throws {
        let r1 = try check("loadmodule \"sl.so\"\nrequest_route {\n  no_such_function();\n}\n")
        #expect(r1.status != 0)
        #expect(r1.output.contains("\(r1.path):3:"), "\(r1.output)")
        let r2 = try check("loadmodule \"sl.so\"\nrequest_route {\n  sl_send_reply(\"99\", \"x\");\n}\n")
        #expect(r2.status != 0)
        #expect(r2.output.contains("\(r2.path):3:"), "\(r2.output)")
    }

    @Test("a bad command-line option is refused with a usage hint")
    func badOption() throws {
        let r = try run(TestPaths.daemon.path, ["-Z"])
        #expect(r.status == 64)
        #expect(r.output.contains("unknown option '-Z'"))
    }
}
