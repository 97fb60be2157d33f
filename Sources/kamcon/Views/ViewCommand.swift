/// The command screen: output above, prompt on the last line.
enum ViewCommand {
    /// Draws output and prompt; returns the output's page size.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, state: AppState, context: ViewContext) -> Int {
        let outH = rect.height - 2
        let lines = state.shownOutput
        let end = max(0, lines.count - state.outputScroll)
        let start = max(0, end - outH)
        if lines.isEmpty {
            let n = context.snapshot.methods.count
            canvas.put("Type a method and its arguments as for kamcmd (core.uptime, stats.get_statistics all, ul.lookup location alice).",
                       x: rect.x + 1, y: rect.y, role: .dim, limit: rect.width - 2)
            canvas.put("Tab completes method names (\(n) known), ↑/↓ browse history, PgUp/PgDn scroll, Esc leaves.",
                       x: rect.x + 1, y: rect.y + 1, role: .dim, limit: rect.width - 2)
        }
        for (i, line) in lines[start..<end].enumerated() {
            let y = rect.y + i
            var x = rect.x + 1 + line.indent
            x += canvas.put(ViewReplyText.label(line), x: x, y: y, role: .label)
            canvas.put(line.value, x: x, y: y, role: line.role, limit: rect.x + rect.width - x)
        }
        let py = rect.y + rect.height - 1
        canvas.fill(y: py - 1, x: rect.x, count: rect.width, role: .border, glyph: context.glyphs.hline)
        var sx = rect.x + 2
        if !state.outputFilter.isEmpty {
            sx += canvas.put(" filter: \(state.outputFilter) ", x: sx, y: py - 1, role: .warn) + 1
        }
        if state.outputScroll > 0 {
            canvas.put(" \(state.outputScroll) lines below ", x: sx, y: py - 1, role: .warn)
        }
        let w = canvas.put("kamcon> ", x: rect.x, y: py, role: .prompt)
        let input = state.prompt.input
        canvas.put(input, x: rect.x + w, y: py, role: .normal)
        // Cursor drawn as a reversed cell so it shows in captures and without a hardware cursor.
        let before = String(input.prefix(state.prompt.cursor))
        let cx = rect.x + w + CanvasWidth.of(before)
        if cx < rect.x + rect.width {
            let under = state.prompt.cursor < input.count ? String(input[input.index(input.startIndex, offsetBy: state.prompt.cursor)]) : " "
            canvas.put(under, x: cx, y: py, role: .selected)
        }
        return outH
    }
}
