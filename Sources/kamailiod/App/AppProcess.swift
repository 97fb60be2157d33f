#if canImport(Glibc)
import Glibc
#endif

/// Process-level chores of a Unix daemon: directories, pid file, detaching, signals.
enum DaemonProcess {
    struct StartError: Error, CustomStringConvertible { let description: String }

    static func changeDirectory(_ dir: String) throws {
        guard chdir(dir) == 0 else {
            throw StartError(description: "cannot change the working directory to \(dir): \(errnoText())")
        }
    }

    /// Creates the runtime directory (mode 0770) when it does not exist yet.
    static func ensureDirectory(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw StartError(description: "\(dir) is not a directory") }
            return
        }
        guard mkdir(dir, 0o770) == 0 else {
            throw StartError(description: "cannot create the runtime directory \(dir): \(errnoText())")
        }
    }

    static func writePidFile(_ path: String) throws {
        let text = "\(getpid())\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw StartError(description: "cannot write the pid file \(path): \(errnoText())") }
        defer { close(fd) }
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    /// Detaches from the terminal: fork (the parent exits 0), setsid, stdio to /dev/null.
    /// Must run before any thread is started: only the calling thread survives a fork.
    static func daemonize() throws {
        let pid = fork()
        if pid < 0 { throw StartError(description: "cannot fork: \(errnoText())") }
        if pid > 0 { _exit(0) }
        _ = setsid()
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            _ = dup2(null, 0); _ = dup2(null, 1); _ = dup2(null, 2)
            if null > 2 { close(null) }
        }
    }

    /// Blocks the stop signals in the calling thread (and so in every thread it starts later),
    /// so that only `waitForStopSignal` sees them, and ignores SIGPIPE (a peer closing a TCP
    /// connection must not kill the daemon).
    static func blockStopSignals() {
        signal(SIGPIPE, SIG_IGN)
        var set = stopSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// Waits for SIGTERM, SIGINT or SIGQUIT and returns its number. SIGHUP and SIGUSR1 are
    /// taken and ignored here (Kamailio ignores them too).
    static func waitForStopSignal() -> Int32 {
        var set = stopSignals()
        while true {
            var sig: Int32 = 0
            if sigwait(&set, &sig) == 0, sig == SIGTERM || sig == SIGINT || sig == SIGQUIT { return sig }
        }
    }

    private static func stopSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1] { sigaddset(&set, s) }
        return set
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
