import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Paths and tools the end-to-end tests need.
enum KamconE2E {
    /// The kamcon binary under test.
    static let kamcon = TestBuild.program("kamcon").path

    /// Why the tmux tests cannot run here at all, or nil.
    static var missing: String? {
        for t in ["tmux", "unshare", "nsenter", "sipp"] where which(t) == nil { return "\(t) is not installed" }
        if getuid() != 0 { return "needs root for a private network namespace" }
        if !FileManager.default.isExecutableFile(atPath: kamcon) { return "kamcon binary not built at \(kamcon)" }
        return nil
    }

    /// Runs kamcon with `args` to completion: (exit status, stdout).
    @discardableResult
    static func runKamcon(_ args: [String], timeout: Double = 20) -> (status: Int32, output: String) {
        TestProcesses.run([kamcon] + args, timeout: timeout)
    }
}

/// The servers the console is tested against: the real Kamailio 5.6.3 and ours.
enum E2EServer: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case kamailio, kamailiod

    var testDescription: String { rawValue }

    /// The program.
    var executable: String { self == .kamailio ? "kamailio" : TestBuild.program("kamailiod").path }

    /// Why this server cannot run here, or nil.
    var missing: String? {
        switch self {
        case .kamailio:
            if which("kamailio") == nil { return "kamailio is not installed" }
            if !FileManager.default.fileExists(atPath: TestKamailioConfig.modules + "ctl.so") { return "Kamailio's ctl module is missing" }
            return nil
        case .kamailiod:
            return FileManager.default.isExecutableFile(atPath: executable) ? nil : "kamailiod not built"
        }
    }

    /// The servers a test can run against here (none when tmux, sipp or root is missing).
    static var available: [E2EServer] { KamconE2E.missing == nil ? allCases.filter { $0.missing == nil } : [] }
}

/// A server (Kamailio 5.6.3 or kamailiod, same configuration) in its own network
/// namespace (only loopback, 127.0.0.1:5071), with ctl (binrpc) and jsonrpcs (FIFO +
/// datagram) sockets in a scratch folder. Unix sockets are files, so kamcon reaches them
/// from outside the namespace.
final class ServerUnderTest {
    let kind: E2EServer
    /// Scratch folder holding the cfg, sockets and logs.
    let dir: String
    private var pidValue: pid_t?

    /// binrpc socket.
    var ctl: String { "unix:\(dir)/ctl" }

    /// With `inet`: JSON-RPC datagrams on `udp:127.0.0.1:5074` instead of the Unix
    /// socket, and binrpc on `tcp:127.0.0.1:5072` and `udp:127.0.0.1:5073` besides `ctl`.
    let inet: Bool

    /// A server of `kind` with a fresh scratch folder (removed with the server).
    init(_ kind: E2EServer, inet: Bool = false) {
        self.kind = kind
        self.inet = inet
        dir = TestProcesses.scratch("kamcon-e2e")
    }

    /// A started server of `kind`; records an issue with the log and throws if it did not start.
    static func running(_ kind: E2EServer, inet: Bool = false) throws -> ServerUnderTest {
        let k = ServerUnderTest(kind, inet: inet)
        try #require(k.start(), "\(kind) did not start:\n\(k.log)")
        return k
    }

    /// The configuration: REGISTER saves, in-dialog requests follow the location table
    /// (sipp's UAC ignores Record-Route), INVITEs get a dialog in two profiles.
    private var config: String {
        TestKamailioConfig.header(dir: dir, listen: "udp:127.0.0.1:5071", children: 2,
                                  modules: ["kex", "corex", "tm", "sl", "rr", "pv", "maxfwd", "siputils", "textops",
                                            "usrloc", "registrar", "dialog"], dgram: inet ? "udp:127.0.0.1:5074" : nil)
            + (inet ? "modparam(\"ctl\", \"binrpc\", \"tcp:127.0.0.1:5072\")\nmodparam(\"ctl\", \"binrpc\", \"udp:127.0.0.1:5073\")\n" : "")
            + """
        modparam("dialog", "profiles_with_value", "caller")
        modparam("dialog", "profiles_no_value", "inbound")
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            if (has_totag()) {
                # sipp's UAC ignores Record-Route: match the dialog by Call-ID and tags and
                # route by the location table, so the ACK confirms the dialog (state 4).
                if (!loose_route()) { dlg_manage(); if (!lookup("location")) { exit; } }
                t_relay();
                exit;
            }
            if (is_method("INVITE")) {
                dlg_manage();
                set_dlg_profile("inbound");
                set_dlg_profile("caller", "$fU");
                record_route();
            }
            if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
            t_relay();
        }
        """
    }

    /// Writes the cfg and starts the server; false if its control socket does not answer.
    func start() -> Bool {
        try? config.write(toFile: "\(dir)/server.cfg", atomically: true, encoding: .utf8)
        unlink("\(dir)/ctl")
        // unshare and sh exec, so the pid is the server's main process itself.
        pidValue = TestProcesses.spawn(["unshare", "-n", "sh", "-c",
                                        "ip link set lo up && exec \(kind.executable) -DD -E -f \(dir)/server.cfg -w \(dir) -Y \(dir) 2>>\(dir)/server.log"])
        guard pidValue != nil else { return false }
        return eventually(15) { FileManager.default.fileExists(atPath: "\(dir)/ctl") ? true : nil } != nil
            && eventually(10) { KamconE2E.runKamcon(["-s", ctl, "rpc", "core.version"]).status == 0 ? true : nil } != nil
    }

    /// The server's pid (to enter its namespace).
    var pid: Int32 { pidValue ?? 0 }

    /// The log so far, for failure messages.
    var log: String { (try? String(contentsOfFile: "\(dir)/server.log", encoding: .utf8)) ?? "" }

    /// Starts `args` inside the server's network namespace, stdout to `log`; returns its pid.
    func spawn(_ args: [String], log: String) -> pid_t? {
        TestProcesses.spawn(["nsenter", "-t", String(pid), "-n"] + args, stdout: log)
    }

    /// Stops the server with `signal` and waits for it.
    func stop(signal: Int32 = SIGTERM) {
        guard let p = pidValue else { return }
        TestProcesses.stop(p, signal: signal)
        pidValue = nil
        TestProcesses.killAll(commandLineContaining: "\(dir)/server.cfg")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// kamcon running in a detached tmux session of its own server (`-L`), driven with
/// send-keys and read with capture-pane.
final class TmuxConsole {
    private let socket: String
    private let name = "kamcon"

    /// Starts `command` in a `width`×`height` session.
    init?(command: String, width: Int, height: Int) {
        socket = "kamcon-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let (status, _) = TestProcesses.run(["tmux", "-u", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", name,
                                         "-x", String(width), "-y", String(height), command],
                                        env: ["LANG": "C.UTF-8", "TERM": "xterm-256color"])
        guard status == 0 else { return nil }
        TestProcesses.run(["tmux", "-L", socket, "set-option", "-t", name, "remain-on-exit", "on"])
    }

    /// Sends tmux key names (`F4`, `Enter`, `Tab`) or literal text with `literal`.
    func send(_ keys: String..., literal: Bool = false) {
        TestProcesses.run(["tmux", "-L", socket, "send-keys", "-t", name] + (literal ? ["-l"] : []) + keys)
    }

    /// The screen as text; with `escapes`, with the SGR sequences of its attributes.
    func capture(escapes: Bool = false) -> String {
        TestProcesses.run(["tmux", "-L", socket, "capture-pane", "-p"] + (escapes ? ["-e"] : []) + ["-t", name]).1
    }

    /// The pid of the program the pane started.
    var panePID: pid_t? {
        pid_t(TestProcesses.run(["tmux", "-L", socket, "display-message", "-p", "-t", name, "#{pane_pid}"]).1
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Waits until the screen satisfies `check`; returns the last capture either way.
    @discardableResult
    func waitFor(_ seconds: Double = 10, _ check: (String) -> Bool) -> (Bool, String) {
        var last = ""
        let ok = eventually(seconds) { () -> Bool? in
            last = capture()
            return check(last) ? true : nil
        } != nil
        return (ok, last)
    }

    /// Resizes the window.
    func resize(width: Int, height: Int) {
        TestProcesses.run(["tmux", "-L", socket, "resize-window", "-t", name, "-x", String(width), "-y", String(height)])
    }

    /// True once the program in the pane has exited.
    var exited: Bool {
        TestProcesses.run(["tmux", "-L", socket, "display-message", "-p", "-t", name, "#{pane_dead}"]).1.hasPrefix("1")
    }

    /// Ends the tmux server and removes its socket file (tmux leaves it behind).
    func close() {
        TestProcesses.run(["tmux", "-L", socket, "kill-server"])
        let dir = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        unlink("\(dir)/tmux-\(getuid())/\(socket)")
    }

    deinit { close() }
}
