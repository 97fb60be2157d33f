import Foundation

/// The Debugger screen: script source with breakpoints and the parked line on the left;
/// workers, watches and the SIP message on the right; console and prompt at the bottom.
enum ViewDebugger {
    /// Console lines kept visible under the panes.
    static let consoleRows = 3

    /// Draws the screen; returns the source pane's row count (its page size).
    static func draw(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, context: ViewContext) -> Int {
        let snap = context.snapshot.debugger
        let mainH = max(3, rect.height - consoleRows - 1)
        let leftW = rect.width >= 70 ? max(40, rect.width * 58 / 100) : rect.width
        guard let rows = ViewModuleScreen.panes(&canvas, rect: rect, notice: .debugger, unknown: snap.flavor == .unknown,
                                                absent: snap.flavor == .absent, error: snap.error,
                                                height: mainH, leftWidth: leftW, glyphs: context.glyphs,
                                                left: { source(&$0, rect: $1, ui: ui, snap: snap, glyphs: context.glyphs) },
                                                right: { ViewDebuggerPanes.side(&$0, rect: $1, ui: ui, snap: snap, glyphs: context.glyphs) }) else {
            return 1
        }
        console(&canvas, rect: ViewRect(x: rect.x, y: rect.y + mainH, width: rect.width, height: rect.height - mainH),
                ui: ui, snap: snap, context: context)
        return rows
    }

    /// Source pane: title, then `line ● ▶ text` rows. Returns the rows used for text.
    private static func source(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, glyphs: ViewGlyphs) -> Int {
        let target = ui.target(snap)
        let file = ui.file(snap)
        let position = target.flatMap { snap.stops[$0]?.position }
        var title = " Source " + (file.map { DebuggerPosition.shortName($0) } ?? "(main)")
        if let target, let p = position {
            title += "  — worker \(target) at line \(p.line) \(p.name)"
        } else if let target {
            title += "  — worker \(target) parked, position unknown (l asks)"
        } else {
            title += snap.armed ? "  — armed, waiting for a request" : "  — no worker stopped"
        }
        paneTitle(&canvas, x: rect.x, y: rect.y, width: rect.width, title: title, focused: ui.focus == .source, glyphs: glyphs)
        let rows = rect.height - 1
        guard let lines = ui.lines(snap) else {
            let why = file.flatMap { snap.sourceErrors[$0] } ?? snap.sourceErrors[""]
                ?? (snap.flavor == .kamailio ? "Kamailio sends no source: it appears at the first stop (file named by c=)."
                                              : "loading the script…")
            canvas.put(why, x: rect.x + 1, y: rect.y + 1, role: .dim, limit: rect.width - 2)
            return rows
        }
        let numW = max(3, String(lines.count).count)
        let bpLines = Set(snap.breakpoints.filter { $0.file == file || (file == nil && snap.mainFile == nil) }.map(\.line))
        // Other parked workers in this file get a hollow marker.
        var others: Set<Int> = []
        for (pid, stop) in snap.stops where pid != target {
            if let p = stop.position, p.file == file { others.insert(p.line) }
        }
        let bullet = glyphs == .ascii ? "*" : "●"
        let here = glyphs == .ascii ? ">" : "▶"
        let other = glyphs == .ascii ? "+" : "▷"
        for i in 0..<rows {
            let n = ui.top + i
            guard n >= 1, n <= lines.count else { break }
            let y = rect.y + 1 + i
            let isStop = position?.line == n
            let role: CanvasRole = ui.cursor == n && ui.focus == .source ? .selected : isStop ? .warn : .normal
            if role != .normal { canvas.fill(y: y, x: rect.x, count: rect.width, role: role) }
            let num = String(repeating: " ", count: numW - String(n).count) + String(n)
            var x = rect.x
            x += canvas.put(num, x: x, y: y, role: role == .normal ? .dim : role)
            x += canvas.put(bpLines.contains(n) ? " \(bullet)" : "  ", x: x, y: y, role: role == .normal ? .bad : role)
            x += canvas.put(isStop ? here : others.contains(n) ? other : " ", x: x, y: y, role: role == .normal ? .warn : role)
            x += canvas.put(" ", x: x, y: y, role: role)
            canvas.put(lines[n - 1].replacingOccurrences(of: "\t", with: "    "), x: x, y: y, role: role,
                       limit: rect.x + rect.width - x)
        }
        return rows
    }

    /// A pane's title row; the focused pane's title stands out.
    static func paneTitle(_ canvas: inout Canvas, x: Int, y: Int, width: Int, title: String, focused: Bool, glyphs: ViewGlyphs) {
        canvas.fill(y: y, x: x, count: width, role: focused ? .header : .border, glyph: focused ? " " : glyphs.hline)
        canvas.put(title + " ", x: x, y: y, role: focused ? .header : .accent, limit: width)
    }

    /// Console (latest results) and the prompt / waiting line.
    private static func console(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, context: ViewContext) {
        let y0 = rect.y
        canvas.fill(y: y0, x: rect.x, count: rect.width, role: .border, glyph: context.glyphs.hline)
        canvas.put(" Console ", x: rect.x + 1, y: y0, role: .accent)
        let shown = snap.log.suffix(max(0, rect.height - 2))
        for (i, l) in shown.enumerated() {
            canvas.put(l.text.replacingOccurrences(of: "\n", with: "⏎"), x: rect.x + 1, y: y0 + 1 + i, role: l.role, limit: rect.width - 2)
        }
        let py = rect.y + rect.height - 1
        if let p = ui.prompt {
            let label = p.kind == .eval ? " eval> " : " watch> "
            let w = canvas.put(label, x: rect.x, y: py, role: .prompt)
            canvas.put(p.text + "▏", x: rect.x + w, y: py, role: .accent)
            canvas.put("Enter runs, Esc cancels", x: max(rect.x + w + CanvasWidth.of(p.text) + 3, rect.width - 24), y: py, role: .dim)
        } else if let b = snap.busy {
            let secs = max(0, Int(context.now - b.since))
            canvas.put(" waiting… \(b.what) (\(secs)s)", x: rect.x, y: py, role: .warn, limit: rect.width)
        } else if let e = snap.error {
            canvas.put(" debugger link: \(e)", x: rect.x, y: py, role: .bad, limit: rect.width)
        }
    }
}
