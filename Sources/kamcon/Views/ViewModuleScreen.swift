/// What a module screen (Debugger, Parameters) says instead of its panes while the
/// server's answer is awaited or when the module is not loaded.
struct ViewModuleNotice {
    /// Names the link in its error ("debugger link").
    var link: String
    /// Shown until the first answer.
    var waiting: String
    /// How to load the module, shown when the server lacks its methods.
    var missing: [String]
}

/// The frame the module screens share, so both lay out and degrade the same way: a
/// notice until the module is known to be there, then a left pane, a vertical rule and a
/// right pane when the screen is wide enough. Each screen draws its panes and the strip
/// under them itself.
enum ViewModuleScreen {
    /// Draws the screen's frame: the notice while the module is `unknown` or `absent`
    /// (returning nil), else the top `height` rows of `rect` split into `left`, which gets
    /// `leftWidth` columns (all of them when that is the whole width), a rule, and `right`
    /// with the rest. Returns `left`'s result (its page size).
    static func panes(_ canvas: inout Canvas, rect: ViewRect, notice: ViewModuleNotice, unknown: Bool, absent: Bool, error: String?,
                      height: Int, leftWidth: Int, glyphs: ViewGlyphs,
                      left: (inout Canvas, ViewRect) -> Int, right: (inout Canvas, ViewRect) -> Void) -> Int? {
        if unknown {
            let why = error.map { "\(notice.link): \($0)" } ?? notice.waiting
            canvas.put(why, x: rect.x + 2, y: rect.y + 1, role: error == nil ? .dim : .bad, limit: rect.width - 4)
            return nil
        }
        if absent {
            for (i, l) in notice.missing.enumerated() { canvas.put(l, x: rect.x + 2, y: rect.y + 1 + i, role: .dim, limit: rect.width - 4) }
            return nil
        }
        let rows = left(&canvas, ViewRect(x: rect.x, y: rect.y, width: leftWidth, height: height))
        if leftWidth < rect.width {
            for y in rect.y..<(rect.y + height) { canvas.put(glyphs.vline, x: rect.x + leftWidth, y: y, role: .border) }
            right(&canvas, ViewRect(x: rect.x + leftWidth + 1, y: rect.y, width: rect.width - leftWidth - 1, height: height))
        }
        return rows
    }
}

extension ViewModuleNotice {
    /// The Debugger screen's.
    static let debugger = ViewModuleNotice(
        link: "debugger link", waiting: "attaching the debugger…",
        missing: ["This server has no dbg.* methods: the debugger module is not loaded.",
                  "Kamailio: loadmodule \"debugger.so\" (modparam cfgtrace/breakpoint optional). kamailiod: see kamailiod.cfg(5)."])

    /// The Parameters screen's.
    static let params = ViewModuleNotice(
        link: "parameters link", waiting: "reading the runtime parameters…",
        missing: ["This server has no cfg.* methods.",
                  "Kamailio: loadmodule \"cfg_rpc.so\". kamailiod: loadmodule \"cfg_rpc.so\" (see kamailiod.cfg(5))."])
}
