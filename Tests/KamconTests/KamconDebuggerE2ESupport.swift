import Foundation
import Testing
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

/// A server in its own network namespace (only loopback), started through `unshare` so
/// its pid is the server's main process; requests are sent from inside with `nsenter`.
final class DebuggerServer {
    /// Scratch folder with the cfg, sockets and log.
    let dir: String
    /// The cfg as written.
    private(set) var cfg = ""
    private var pidValue: pid_t?

    init(dir: String) { self.dir = dir }

    /// Real Kamailio 5.6.3 with debugger.so (one UDP worker, so retransmissions queue
    /// behind a parked request instead of parking a second worker).
    func startKamailio() -> Bool {
        cfg = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=1
        listen=udp:127.0.0.1:5071
        mpath="\(KamconE2E.modules)"
        loadmodule "ctl.so"
        loadmodule "jsonrpcs.so"
        loadmodule "kex.so"
        loadmodule "corex.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "debugger.so"
        modparam("ctl", "binrpc", "unix:\(dir)/ctl")
        modparam("jsonrpcs", "fifo_name", "\(dir)/rpc.fifo")
        modparam("jsonrpcs", "dgram_socket", "\(dir)/rpc.sock")
        modparam("debugger", "cfgtrace", 1)
        modparam("debugger", "log_level_name", "exec")
        \(DebuggerScript.routes)
        """
        return launch("kamailio -DD -E -f \(dir)/kamailio.cfg -w \(dir) -Y \(dir)", cfgName: "kamailio.cfg", socket: "\(dir)/ctl")
    }

    /// kamailiod with its debugger module and the same script.
    func startKamailiod(binary: String) -> Bool {
        cfg = """
        #!KAMAILIO
        debug=2
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:5071
        loadmodule "ctl.so"
        loadmodule "jsonrpcs.so"
        loadmodule "sl.so"
        loadmodule "pv.so"
        loadmodule "xlog.so"
        loadmodule "debugger.so"
        modparam("ctl", "binrpc", "unix:\(dir)/ctl")
        modparam("jsonrpcs", "fifo_name", "\(dir)/rpc.fifo")
        modparam("jsonrpcs", "dgram_socket", "\(dir)/rpc.sock")
        \(DebuggerScript.routes)
        """
        return launch("\(binary) -DD -E -f \(dir)/kamailiod.cfg -w \(dir) -Y \(dir)", cfgName: "kamailiod.cfg", socket: "\(dir)/ctl")
    }

    private func launch(_ command: String, cfgName: String, socket: String) -> Bool {
        try? cfg.write(toFile: "\(dir)/\(cfgName)", atomically: true, encoding: .utf8)
        unlink(socket)
        pidValue = KamconE2E.spawn(["unshare", "-n", "sh", "-c", "ip link set lo up && exec \(command) 2>\(dir)/server.log"])
        guard pidValue != nil else { return false }
        return KamconE2E.eventually(15) { FileManager.default.fileExists(atPath: socket) ? true : nil } != nil
            && KamconE2E.eventually(10) { KamconE2E.run([KamconE2E.kamcon, "-s", "unix:\(socket)", "rpc", "core.version"]).0 == 0 ? true : nil } != nil
    }

    /// Sends one OPTIONS to sip:bp@ from inside the namespace (sipsak, slow retransmissions
    /// so it keeps waiting while the request is debugged); returns sipsak's pid.
    func sendRequest(log: String) -> pid_t? {
        KamconE2E.spawn(["nsenter", "-t", String(pidValue ?? 0), "-n", "sipsak", "-vv", "--timer-t1=2000",
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
        KamconE2E.stop(p)
        pidValue = nil
    }

    deinit { stop() }
}

extension KamconE2E {
    /// Why the debugger tmux tests cannot run, or nil.
    static var debuggerMissing: String? {
        if let m = missing { return m }
        if which("sipsak") == nil { return "sipsak is not installed" }
        if !FileManager.default.fileExists(atPath: modules + "debugger.so") { return "Kamailio's debugger module is missing" }
        return nil
    }

    /// The daemon binary next to kamcon.
    static let kamailiod = products.appendingPathComponent("kamailiod").path
}
