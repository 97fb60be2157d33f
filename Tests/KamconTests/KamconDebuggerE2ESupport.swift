import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The script both servers run for the debugger tests: a few assignments, a called route,
/// and a reply, so stepping moves over distinct lines and `$var(n)` changes.
enum DebuggerScript {
    /// The routing blocks (appended after each server's module section).
    static let routes = """
    request_route {
        $var(n) = 0;
        $var(n) = $var(n) + 1;
        route(STEP);
        $var(n) = $var(n) + 1;
        sl_send_reply("200", "Debugged");
        exit;
    }
    route[STEP] {
        $var(n) = $var(n) + 10;
        xlog("L_INFO", "in STEP n=$var(n)\\n");
    }
    """

    /// The 1-based line of the first line of `cfg` containing `text`.
    static func line(_ cfg: String, _ text: String) -> Int {
        (cfg.components(separatedBy: "\n").firstIndex { $0.contains(text) } ?? -1) + 1
    }

    /// True when the source row of `line` carries the parked-line marker in `screen`.
    static func marked(_ screen: String, line: Int) -> Bool {
        screen.split(separator: "\n").contains { row in
            let t = row.drop { $0 == " " }
            return t.hasPrefix("\(line) ") && t.dropFirst(String(line).count).prefix(4).contains("▶")
        }
    }
}

/// A server (Kamailio 5.6.3 with debugger.so, or kamailiod) running `DebuggerScript` in
/// its own network namespace (only loopback); requests are sent from inside with `nsenter`.
/// One UDP worker, so sipsak's retransmissions queue behind a parked request instead of
/// parking a second worker.
final class DebuggerServer {
    /// Which server.
    let kind: E2EServer
    /// Scratch folder with the cfg, sockets and log.
    let dir = TestProcesses.scratch("kamcon-dbg")
    private var pidValue: pid_t?

    init(_ kind: E2EServer) { self.kind = kind }

    /// The configuration.
    var cfg: String {
        TestKamailioConfig.header(dir: dir, listen: "udp:127.0.0.1:5071", children: 1,
                                  modules: ["kex", "corex", "sl", "pv", "xlog", "debugger"]) + """
        modparam("debugger", "cfgtrace", 1)
        modparam("debugger", "log_level_name", "exec")
        \(DebuggerScript.routes)
        """
    }

    /// Writes the cfg and starts the server; false if its control socket does not answer.
    func start() -> Bool {
        try? cfg.write(toFile: "\(dir)/server.cfg", atomically: true, encoding: .utf8)
        unlink("\(dir)/ctl")
        pidValue = TestProcesses.spawn(["unshare", "-n", "sh", "-c",
                                        "ip link set lo up && exec \(kind.executable) -DD -E -f \(dir)/server.cfg -w \(dir) -Y \(dir) 2>>\(dir)/server.log"])
        guard pidValue != nil else { return false }
        return eventually(15) { FileManager.default.fileExists(atPath: "\(dir)/ctl") ? true : nil } != nil
            && eventually(10) { KamconE2E.runKamcon(["-s", "unix:\(dir)/ctl", "rpc", "core.version"]).status == 0 ? true : nil } != nil
    }

    /// Sends one OPTIONS to sip:bp@ from inside the namespace; returns sipsak's pid. T1 is
    /// 20 s, so no retransmission reaches the server while the request is debugged (on
    /// kamailiod it would stop at the line breakpoint again) and sipsak waits long enough.
    func sendRequest(log: String) -> pid_t? {
        TestProcesses.spawn(["nsenter", "-t", String(pid), "-n", "sipsak", "-vv", "--timer-t1=20000",
                             "-s", "sip:bp@127.0.0.1:5071"], stdout: log)
    }

    /// The server's pid (to enter its network namespace).
    var pid: pid_t { pidValue ?? 0 }

    /// A command line running `kamcon` inside the server's namespace (the datagram client
    /// autobinds an abstract unix address, which only exists per network namespace).
    func kamcon(_ args: String) -> String { "nsenter -t \(pid) -n \(KamconE2E.kamcon) \(args)" }

    /// The server log.
    var log: String { (try? String(contentsOfFile: "\(dir)/server.log", encoding: .utf8)) ?? "" }

    /// Stops the server by pid.
    func stop() {
        guard let p = pidValue else { return }
        TestProcesses.stop(p)
        pidValue = nil
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

extension KamconE2E {
    /// Why the debugger tmux tests cannot run against `kind`, or nil.
    static func debuggerMissing(_ kind: E2EServer) -> String? {
        if let m = missing ?? kind.missing { return m }
        if which("sipsak") == nil { return "sipsak is not installed" }
        if kind == .kamailio && !FileManager.default.fileExists(atPath: TestKamailioConfig.modules + "debugger.so") {
            return "Kamailio's debugger module is missing"
        }
        return nil
    }
}
