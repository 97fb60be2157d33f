import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// kamailiod in its own network namespace (only loopback, 127.0.0.1:5072) with ctl and
/// cfg_rpc, its script in a scratch folder so tests can rewrite and reload it.
final class KamailiodUnderTest {
    let dir: String
    private var pidValue: pid_t?
    var ctl: String { "unix:\(dir)/ctl" }
    var script: String { "\(dir)/kamailiod.cfg" }
    static let binary = TestBuild.program("kamailiod").path

    init(dir: String) { self.dir = dir }

    /// The script; `reason` is the OPTIONS reply's reason phrase.
    static func config(reason: String) -> String {
        """
        debug=2
        listen=udp:127.0.0.1:5072
        loadmodule "ctl.so"
        loadmodule "cfg_rpc.so"
        loadmodule "sl.so"
        loadmodule "textops.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        modparam("ctl", "binrpc", "unix:ctl")
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            sl_send_reply("200", "\(reason)");
        }
        """
    }

    func start() -> Bool {
        try? Self.config(reason: "first").write(toFile: script, atomically: true, encoding: .utf8)
        pidValue = TestProcesses.spawn(["unshare", "-n", "sh", "-c",
                                    "ip link set lo up && exec \(Self.binary) -DD -E -f \(script) -w \(dir) -Y \(dir) 2>\(dir)/kamailiod.log"])
        guard pidValue != nil else { return false }
        return eventually(15) { FileManager.default.fileExists(atPath: "\(dir)/ctl") ? true : nil } != nil
    }

    /// Sends one request from inside the namespace and returns the reply text.
    func send(_ method: String) -> String {
        let py = """
        import socket, uuid, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); s.settimeout(5)
        p = s.getsockname()[1]; m = sys.argv[1]
        t = (f"{m} sip:127.0.0.1:5072 SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1:{p};branch=z9hG4bK{uuid.uuid4().hex}\\r\\n"
             f"From: <sip:alice@127.0.0.1>;tag=1\\r\\nTo: <sip:alice@127.0.0.1>\\r\\nCall-ID: {uuid.uuid4().hex}\\r\\n"
             f"CSeq: 1 {m}\\r\\nContact: <sip:alice@127.0.0.1:{p}>\\r\\nExpires: 3600\\r\\nMax-Forwards: 70\\r\\n"
             "Content-Length: 0\\r\\n\\r\\n")
        s.sendto(t.encode(), ("127.0.0.1", 5072)); print(s.recv(65535).decode())
        """
        try? py.write(toFile: "\(dir)/send.py", atomically: true, encoding: .utf8)
        return TestProcesses.run(["nsenter", "-t", String(pidValue ?? 0), "-n", "python3", "\(dir)/send.py", method]).output
    }

    func stop() {
        guard let p = pidValue else { return }
        TestProcesses.stop(p)
        pidValue = nil
    }

    deinit { stop() }
}

@Suite("kamcon Parameters screen against kamailiod", .serialized)
struct KamconParamsE2ETests {
    static var missing: String? {
        if let m = KamconE2E.missing { return m }
        if which("python3") == nil { return "python3 is not installed" }
        if !FileManager.default.isExecutableFile(atPath: KamailiodUnderTest.binary) { return "kamailiod not built" }
        return nil
    }

    @Test("change registrar.max_expires and see it in REGISTER replies; stage and commit; reload a broken then a fixed script",
          .enabled(if: missing == nil))
    func parameters() throws {
        let dir = TestProcesses.scratch("kamcon-params")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = KamailiodUnderTest(dir: dir)
        #expect(d.start(), "kamailiod did not start; see \(dir)/kamailiod.log")
        defer { d.stop() }
        let tmux = try #require(TmuxConsole(command: "\(KamconE2E.kamcon) -s \(d.ctl) -i 0.5", width: 130, height: 40))
        defer { tmux.close() }
        #expect(tmux.waitFor { $0.contains("● connected") }.0)
        tmux.send("p")
        let (tree, treeScreen) = tmux.waitFor { $0.contains("registrar (") && $0.contains("max_expires") }
        #expect(tree, "\(treeScreen)")
        #expect(d.send("REGISTER").contains("expires=3600"))

        // set now: find, edit, type, Enter
        tmux.send("/")
        tmux.send("registrar.max_exp", literal: true)
        tmux.send("Enter", "e", "C-u")
        tmux.send("120", literal: true)
        tmux.send("Enter")
        let (set, setScreen) = tmux.waitFor { $0.contains("registrar.max_expires = 120") }
        #expect(set, "\(setScreen)")
        #expect(eventually(5) { d.send("REGISTER").contains("expires=120") ? true : nil } != nil)

        // refused locally with the reason, nothing sent
        tmux.send("/")
        tmux.send("C-u")
        tmux.send("default_q", literal: true)
        tmux.send("Enter", "e", "C-u")
        tmux.send("5000", literal: true)
        tmux.send("Enter")
        let (refused, refusedScreen) = tmux.waitFor { $0.contains("5000 is out of range -1..1000") }
        #expect(refused, "\(refusedScreen)")
        tmux.send("Escape")

        // staged: shown as a diff, then committed
        tmux.send("/")
        tmux.send("C-u")
        tmux.send("max_expires", literal: true)
        tmux.send("Enter", "s", "C-u")
        tmux.send("60", literal: true)
        tmux.send("Enter")
        let (staged, stagedScreen) = tmux.waitFor { $0.contains("registrar.max_expires: 120 → 60") }
        #expect(staged, "\(stagedScreen)")
        #expect(d.send("REGISTER").contains("expires=120"))
        tmux.send("c")
        #expect(tmux.waitFor { $0.contains("committed") && $0.contains("nothing staged") }.0)
        #expect(eventually(5) { d.send("REGISTER").contains("expires=60") ? true : nil } != nil)

        // reload: a broken script is refused with file:line:col, the old one keeps answering
        #expect(d.send("OPTIONS").contains("SIP/2.0 200 first"))
        try KamailiodUnderTest.config(reason: "second").replacingOccurrences(of: "\"second\");", with: "\"second\";")
            .write(toFile: d.script, atomically: true, encoding: .utf8)
        tmux.send("L")
        tmux.send("Enter")
        let (broken, brokenScreen) = tmux.waitFor { $0.contains("500 \(d.script):12:") }
        #expect(broken, "\(brokenScreen)")
        #expect(d.send("OPTIONS").contains("SIP/2.0 200 first"))
        try KamailiodUnderTest.config(reason: "second").write(toFile: d.script, atomically: true, encoding: .utf8)
        tmux.send("L")
        tmux.send("Enter")
        let (fixed, fixedScreen) = tmux.waitFor { $0.contains("script reloaded from \(d.script)") }
        #expect(fixed, "\(fixedScreen)")
        print("--- parameters ---\n\(fixedScreen)")
        #expect(d.send("OPTIONS").contains("SIP/2.0 200 second"))
    }
}
