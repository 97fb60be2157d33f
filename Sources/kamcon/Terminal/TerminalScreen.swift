import CNCursesW
import Glibc

/// The curses screen: set-up and restore, colour roles, copying a `Canvas` to the terminal
/// and reading keys. The only type that touches curses; use it from the UI thread only.
final class TerminalScreen {
    private let window: UnsafeMutablePointer<WINDOW>
    /// Attributes (and colour pair) per role, fixed at start-up.
    private var styles: [CanvasRole: (attr: attr_t, pair: Int16)] = [:]
    /// True when colours are in use (not `NO_COLOR`, terminal has colours).
    let colors: Bool
    /// True when the locale is UTF-8 (otherwise views get ASCII glyphs).
    let utf8: Bool

    /// Enters curses mode. `noColor` maps roles to attributes only (`NO_COLOR`).
    init(noColor: Bool) throws(TerminalError) {
        setlocale(LC_ALL, "")
        utf8 = kc_locale_is_utf8() != 0
        guard let w = initscr() else { throw TerminalError(message: "cannot initialise the terminal (TERM?)") }
        window = w
        TerminalSignals.installCrashHandlers()
        cbreak()
        noecho()
        nonl()
        keypad(w, true)
        nodelay(w, true)
        scrollok(w, false)
        curs_set(0)
        kc_set_escdelay(25)
        colors = !noColor && has_colors()
        if colors {
            start_color()
            use_default_colors()
        }
        styles = TerminalStyles.make(colors: colors)
    }

    /// Leaves curses mode and restores the terminal.
    func close() {
        endwin()
    }

    /// Columns.
    var width: Int { Int(getmaxx(window)) }
    /// Rows.
    var height: Int { Int(getmaxy(window)) }

    /// Copies `canvas` to the screen; curses sends only what changed since the last call.
    func present(_ canvas: Canvas) {
        let rows = min(canvas.height, height)
        let normal = styles[.normal] ?? (kc_a_normal(), 0)
        for y in 0..<rows {
            for run in canvas.runs(y) {
                let style = styles[run.role] ?? normal
                kc_set_attr(window, style.attr, style.pair)
                // The last cell of the last row makes waddstr report ERR after drawing it
                // (the cursor cannot advance); the glyph is drawn all the same.
                mvwaddstr(window, Int32(y), Int32(run.x), run.text)
            }
        }
        kc_set_attr(window, normal.attr, normal.pair)
        wnoutrefresh(window)
        doupdate()
    }

    /// Forces a full repaint (after a resize, curses' idea of the screen is stale).
    func invalidate() {
        clearok(window, true)
    }

    /// The next pending key, or nil when none is waiting.
    func readKey() -> AppKey? {
        var ch: wint_t = 0
        while true {
            let r = wget_wch(window, &ch)
            if r == kc_err() { return nil }
            if r == kc_key_code_yes() {
                if let k = TerminalKeys.special(Int32(ch)) { return k }
                continue  // ignore keys we have no use for (mouse, unknown)
            }
            if let k = TerminalKeys.character(UInt32(ch)) { return k }
        }
    }
}

/// A failure to start the terminal.
struct TerminalError: Error {
    /// What went wrong.
    var message: String
}
