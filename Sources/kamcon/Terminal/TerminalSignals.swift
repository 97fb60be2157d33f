import CNCursesW
import Glibc

/// Terminal restore on crashes: a fatal signal leaves curses mode before the process dies,
/// so the user's shell is not left in raw mode.
enum TerminalSignals {
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
