#if canImport(Glibc)
import Glibc
#endif
import CMalloc

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

    /// Detaches from the terminal in two halves, so that the shell that started the daemon
    /// still sees start-up errors and gets a truthful exit status (as Kamailio's parent does):
    /// `beginDetach` forks before anything else runs (only the calling thread survives a fork,
    /// so no module thread may exist yet); the parent waits until the child calls
    /// `finishDetach` and exits 0, or exits with the child's status when it dies first.
    /// Returns the pipe end the child reports on.
    static func beginDetach() throws -> Int32 {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw StartError(description: "cannot create a pipe: \(errnoText())") }
        let pid = fork()
        if pid < 0 { throw StartError(description: "cannot fork: \(errnoText())") }
        if pid > 0 {
            close(fds[1])
            var byte: UInt8 = 1
            var n: Int
            repeat { n = read(fds[0], &byte, 1) } while n < 0 && errno == EINTR
            if n == 1 && byte == 0 { _exit(0) }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            // WIFEXITED / WEXITSTATUS are macros Swift does not import.
            let exited = status & 0x7f == 0
            _exit(exited ? (status >> 8) & 0xff : 1)
        }
        close(fds[0])
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        _ = setsid()
        return fds[1]
    }

    /// The child's half: start-up went well, so release the waiting parent and let go of the
    /// terminal. stderr stays when the log goes there (-E), as with Kamailio.
    static func finishDetach(_ fd: Int32, keepStderr: Bool) {
        // Redirect first, then release the parent: once the launcher has returned, nothing
        // of ours is left on its terminal.
        let null = open("/dev/null", O_RDWR)
        if null >= 0 {
            _ = dup2(null, 0); _ = dup2(null, 1)
            if !keepStderr { _ = dup2(null, 2) }
            if null > 2 { close(null) }
        }
        var ok: UInt8 = 0
        _ = write(fd, &ok, 1)
        close(fd)
    }

    /// Keeps glibc from shrinking and regrowing the heap at every burst: with its
    /// default (adaptive) thresholds the workers' arenas were trimmed and grown again
    /// about once per call, each an mprotect(2) and fresh page faults. Memory above the
    /// threshold is still given back, and DaemonIdleTrim returns free pages once
    /// traffic stops.
    static func tuneMalloc() {
        _ = mallopt(M_TOP_PAD, 4 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 32 << 20)
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
    /// `tick` runs every `tickSeconds` while no stop signal came.
    static func waitForStopSignal(tickSeconds: Int = 5, tick: () -> Void = {}) -> Int32 {
        var set = stopSignals()
        var timeout = timespec(tv_sec: tickSeconds, tv_nsec: 0)
        while true {
            let sig = sigtimedwait(&set, nil, &timeout)
            if sig == SIGTERM || sig == SIGINT || sig == SIGQUIT { return sig }
            if sig < 0 && errno == EAGAIN { tick() }
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
