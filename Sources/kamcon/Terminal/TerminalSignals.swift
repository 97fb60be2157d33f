import CNCursesW
import Glibc

/// Terminal restore on crashes: a fatal signal leaves curses mode before the process dies,
/// so the user's shell is not left in raw mode.
enum TerminalSignals {
    /// Unblocks the signals the console relies on: a parent (a test runner, a supervisor)
    /// may have started us with them blocked, and then a resize would never be noticed.
    static func unblockInteractiveSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGWINCH, SIGINT, SIGTERM, SIGHUP, SIGCONT, SIGTSTP] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Installs handlers for crash signals and an `atexit` hook that both call `endwin`.
    static func installCrashHandlers() {
        for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP] {
            signal(sig) { s in
                endwin()
                signal(s, SIG_DFL)
                raise(s)
            }
        }
        atexit { if !isendwin() { endwin() } }
    }
}
