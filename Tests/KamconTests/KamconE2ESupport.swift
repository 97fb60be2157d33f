import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Paths and tools the end-to-end tests need.
enum KamconE2E {
    /// Build products folder (the test runner sits there, maybe inside an .xctest bundle).
    static let products: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url = url.deletingLastPathComponent()
        }
        return url
    }()
    /// The kamcon binary under test.
    static let kamcon = products.appendingPathComponent("kamcon").path
    /// Kamailio's module folder on Debian.
    static let modules = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"

    /// The full path of `tool` on PATH (or the usual sbin folders), if installed.
    static func which(_ tool: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin"
        for dir in path.split(separator: ":") {
            let p = "\(dir)/\(tool)"
            if access(p, X_OK) == 0 { return p }
        }
        return nil
    }

    /// Why the tmux tests cannot run here, or nil.
    static var missing: String? {
        for t in ["tmux", "kamailio", "unshare", "nsenter", "sipp"] where which(t) == nil { return "\(t) is not installed" }
        if !FileManager.default.fileExists(atPath: modules + "ctl.so") { return "Kamailio's ctl module is missing" }
        if getuid() != 0 { return "needs root for a private network namespace" }
        if !FileManager.default.isExecutableFile(atPath: kamcon) { return "kamcon binary not built at \(kamcon)" }
        return nil
    }

    /// Starts `args` with posix_spawn, stdout/stderr to files (or /dev/null); returns the pid.
    ///
    /// Not Foundation's `Process`: Kamailio closes the descriptors it inherits, which makes
    /// Foundation's monitor thread block in `wait4` on it and stall every later `Process`.
    static func spawn(_ args: [String], env: [String: String] = [:], stdout: String? = nil) -> pid_t? {
        guard let exe = which(args[0]) ?? (args[0].hasPrefix("/") ? args[0] : nil) else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env { environment[k] = v }
        let argv = ([exe] + args.dropFirst()).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // Test threads run with signals blocked (libdispatch workers block them all); a child
        // inheriting that mask would never see SIGWINCH or SIGTERM.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        guard posix_spawn(&pid, exe, &actions, &attr, argv, envp) == 0 else { return nil }
        return pid
    }

    /// Waits up to `timeout` seconds for `pid`; returns its exit status, or nil if it still runs.
    static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        eventually(timeout) { () -> Int32? in
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if r < 0 { return -1 }
            return nil
        }
    }

    /// Stops `pid` with SIGTERM (SIGKILL after 10 s) and reaps it.
    static func stop(_ pid: pid_t) {
        kill(pid, SIGTERM)
        if wait(pid, timeout: 10) == nil {
            kill(pid, SIGKILL)
            _ = wait(pid, timeout: 5)
        }
    }

    /// Runs a program to completion (killed after `timeout` seconds) and returns (status,
    /// stdout). Output goes through a file, not a pipe: a daemon the program starts (the
    /// tmux server) would inherit a pipe and keep it open forever.
    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:], timeout: Double = 20) -> (Int32, String) {
        let outPath = "/tmp/kamcon-e2e-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(outPath) }
        guard let pid = spawn(args, env: env, stdout: outPath) else { return (-1, "") }
        var status = wait(pid, timeout: timeout)
        if status == nil {
            stop(pid)
            status = -1
        }
        return (status ?? -1, (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "")
    }

    /// Polls `check` until it returns a value or `seconds` pass.
    static func eventually<T>(_ seconds: Double = 10, _ check: () -> T?) -> T? {
        let end = Date().addingTimeInterval(seconds)
        repeat {
            if let v = check() { return v }
            usleep(20_000)
        } while Date() < end
        return check()
    }

    /// A fresh scratch folder.
    static func scratch() -> String {
        let dir = "/tmp/kamcon-e2e-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// A real Kamailio 5.6.3 in its own network namespace (only loopback, 127.0.0.1:5071),
/// with ctl (binrpc) and jsonrpcs (FIFO + datagram) sockets in a scratch folder. Unix
/// sockets are files, so kamcon reaches them from outside the namespace.
final class KamailioUnderTest {
    /// Scratch folder holding the cfg, sockets and logs.
    let dir: String
    private var pidValue: pid_t?

    /// binrpc socket.
    var ctl: String { "unix:\(dir)/ctl" }

    init(dir: String) { self.dir = dir }

    /// Writes the cfg and starts Kamailio; false if its control socket does not appear.
    func start() -> Bool {
        let cfg = """
        #!KAMAILIO
        debug=1
        log_stderror=yes
        children=2
        listen=udp:127.0.0.1:5071
        mpath="\(KamconE2E.modules)"
        loadmodule "ctl.so"
        loadmodule "jsonrpcs.so"
        loadmodule "kex.so"
        loadmodule "corex.so"
        loadmodule "tm.so"
        loadmodule "sl.so"
        loadmodule "rr.so"
        loadmodule "pv.so"
        loadmodule "maxfwd.so"
        loadmodule "siputils.so"
        loadmodule "textops.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "dialog.so"
        modparam("ctl", "binrpc", "unix:\(dir)/ctl")
        modparam("jsonrpcs", "fifo_name", "\(dir)/rpc.fifo")
        modparam("jsonrpcs", "dgram_socket", "\(dir)/rpc.sock")
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
        try? cfg.write(toFile: "\(dir)/kamailio.cfg", atomically: true, encoding: .utf8)
        unlink("\(dir)/ctl")
        // unshare and sh exec, so the pid is Kamailio's main process itself.
        pidValue = KamconE2E.spawn(["unshare", "-n", "sh", "-c",
                                    "ip link set lo up && exec kamailio -DD -E -f \(dir)/kamailio.cfg -w \(dir) -Y \(dir) 2>\(dir)/kamailio.log"])
        guard pidValue != nil else { return false }
        return KamconE2E.eventually(10) { FileManager.default.fileExists(atPath: "\(dir)/ctl") ? true : nil } != nil
            && KamconE2E.eventually(5) { KamconE2E.run([KamconE2E.kamcon, "-s", ctl, "rpc", "core.version"]).0 == 0 ? true : nil } != nil
    }

    /// Kamailio's pid (to enter its namespace).
    var pid: Int32 { pidValue ?? 0 }

    /// Starts `args` inside Kamailio's network namespace, stdout to `log`; returns its pid.
    func spawn(_ args: [String], log: String) -> pid_t? {
        KamconE2E.spawn(["nsenter", "-t", String(pid), "-n"] + args, stdout: log)
    }

    /// Stops Kamailio and waits for it.
    func stop() {
        guard let p = pidValue else { return }
        KamconE2E.stop(p)
        pidValue = nil
    }

    deinit { stop() }
}

/// kamcon running in a detached tmux session of its own server (`-L`), driven with
/// send-keys and read with capture-pane.
final class TmuxConsole {
    private let socket: String
    private let name = "kamcon"

    /// Starts `command` in a `width`×`height` session.
    init?(command: String, width: Int, height: Int) {
        socket = "kamcon-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let (status, _) = KamconE2E.run(["tmux", "-u", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-s", name,
                                         "-x", String(width), "-y", String(height), command],
                                        env: ["LANG": "C.UTF-8", "TERM": "xterm-256color"])
        guard status == 0 else { return nil }
        KamconE2E.run(["tmux", "-L", socket, "set-option", "-t", name, "remain-on-exit", "on"])
    }

    /// Sends tmux key names (`F4`, `Enter`, `Tab`) or literal text with `literal`.
    func send(_ keys: String..., literal: Bool = false) {
        KamconE2E.run(["tmux", "-L", socket, "send-keys", "-t", name] + (literal ? ["-l"] : []) + keys)
    }

    /// The screen as text.
    func capture() -> String {
        KamconE2E.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", name]).1
    }

    /// Waits until the screen satisfies `check`; returns the last capture either way.
    @discardableResult
    func waitFor(_ seconds: Double = 10, _ check: (String) -> Bool) -> (Bool, String) {
        var last = ""
        let ok = KamconE2E.eventually(seconds) { () -> Bool? in
            last = capture()
            return check(last) ? true : nil
        } != nil
        return (ok, last)
    }

    /// Resizes the window.
    func resize(width: Int, height: Int) {
        KamconE2E.run(["tmux", "-L", socket, "resize-window", "-t", name, "-x", String(width), "-y", String(height)])
    }

    /// True once the program in the pane has exited.
    var exited: Bool {
        KamconE2E.run(["tmux", "-L", socket, "display-message", "-p", "-t", name, "#{pane_dead}"]).1.hasPrefix("1")
    }

    /// Ends the tmux server and removes its socket file (tmux leaves it behind).
    func close() {
        KamconE2E.run(["tmux", "-L", socket, "kill-server"])
        let dir = ProcessInfo.processInfo.environment["TMUX_TMPDIR"] ?? "/tmp"
        unlink("\(dir)/tmux-\(getuid())/\(socket)")
    }

    deinit { close() }
}
