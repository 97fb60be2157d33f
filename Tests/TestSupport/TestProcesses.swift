import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What the test targets share: where the built programs are, finding tools, and running
/// child processes (the daemon, Kamailio, kamcmd, sipp, tmux) without Foundation's
/// `Process`.
public enum TestBuild {
    /// The build products folder: the test runner lives there too (maybe inside an
    /// .xctest bundle).
    public static let products: URL = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url = url.deletingLastPathComponent()
        }
        return url
    }()

    /// A built program of this package (`kamailiod`, `kamcon`).
    public static func program(_ name: String) -> URL { products.appendingPathComponent(name) }
}

/// The full path of `tool` on PATH or in the usual bin and sbin folders, if installed.
public func which(_ tool: String) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    for dir in path.split(separator: ":") {
        let p = "\(dir)/\(tool)"
        if access(p, X_OK) == 0 { return p }
    }
    return nil
}

/// Polls `check` every 20 ms until it returns a value or `seconds` pass.
public func eventually<T>(_ seconds: Double = 10, _ check: () -> T?) -> T? {
    let end = Date().addingTimeInterval(seconds)
    repeat {
        if let v = check() { return v }
        usleep(20_000)
    } while Date() < end
    return check()
}

/// Child processes started with posix_spawn.
///
/// Not Foundation's `Process`: Kamailio closes the descriptors it inherits, which makes
/// Foundation's monitor thread block in `wait4` on it and stall every later `Process`;
/// and output goes through files, not pipes, because a daemon a program starts (the tmux
/// server) would inherit a pipe and keep it open forever.
public enum TestProcesses {
    /// Starts `args` (the program found with `which` unless it is a path); stdin from
    /// `stdin` or /dev/null, stdout to `stdout` or /dev/null, stderr to the same file as
    /// stdout when `mergeStderr`, else /dev/null. Returns the pid.
    public static func spawn(_ args: [String], env: [String: String] = [:], stdin: String? = nil, stdout: String? = nil,
                             mergeStderr: Bool = false) -> pid_t? {
        guard let first = args.first, let exe = first.hasPrefix("/") ? first : which(first) else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if mergeStderr {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
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

    /// Waits up to `timeout` seconds for `pid`; returns its exit status (128 + signal when
    /// killed), or nil if it still runs.
    public static func wait(_ pid: pid_t, timeout: Double) -> Int32? {
        eventually(timeout) { () -> Int32? in
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid { return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f) }
            if r < 0 { return -1 }
            return nil
        }
    }

    /// SIGKILLs every process whose command line contains `marker` (a test's private
    /// directory): the children of a forking server such as Kamailio outlive its main
    /// process when that one dies first, and they are still the test's own.
    public static func killAll(commandLineContaining marker: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return }
        let me = getpid()
        for name in entries {
            guard let pid = pid_t(name), pid != me,
                  let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
            let cmdline = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            if cmdline.contains(marker) { kill(pid, SIGKILL) }
        }
    }

    /// Stops `pid` with `signal` (SIGKILL after 10 s) and reaps it.
    public static func stop(_ pid: pid_t, signal: Int32 = SIGTERM) {
        kill(pid, signal)
        if wait(pid, timeout: 10) == nil {
            kill(pid, SIGKILL)
            _ = wait(pid, timeout: 5)
        }
    }

    /// Runs a program to completion (killed after `timeout` seconds) and returns its exit
    /// status (-1 if it could not start or was killed) and output; `input` is its stdin.
    @discardableResult
    public static func run(_ args: [String], env: [String: String] = [:], input: String? = nil, mergeStderr: Bool = false,
                           timeout: Double = 20) -> (status: Int32, output: String) {
        let base = "/tmp/test-run-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer {
            unlink(base + ".out")
            unlink(base + ".in")
        }
        if let input { _ = FileManager.default.createFile(atPath: base + ".in", contents: Data(input.utf8)) }
        guard let pid = spawn(args, env: env, stdin: input == nil ? nil : base + ".in", stdout: base + ".out",
                              mergeStderr: mergeStderr) else { return (-1, "") }
        var status = wait(pid, timeout: timeout)
        if status == nil {
            stop(pid, signal: SIGKILL)
            status = -1
        }
        return (status ?? -1, (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "")
    }

    /// A fresh scratch folder under /tmp named after `prefix`.
    public static func scratch(_ prefix: String) -> String {
        let dir = "/tmp/\(prefix)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
