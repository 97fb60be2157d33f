import Shared

/// The `?` overlay: every binding of the command table, grouped, in a centred box.
enum ViewHelp {
    /// Lines of the help text (section headings start with no indent).
    static func lines() -> [(String, String, Bool)] {
        var out: [(String, String, Bool)] = []
        for (title, entries) in AppKeyTable.helpSections() {
            out.append((title, "", true))
            for (keys, text) in entries { out.append((keys, text, false)) }
        }
        return out
    }

    /// Draws the overlay over `rect`.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, glyphs: ViewGlyphs, scroll: Int = 0) {
        let all = lines()
        let perColumn = max(1, rect.height - 2)
        let columns = rect.width >= 62 ? 2 : 1
        let first = max(0, min(scroll, all.count - perColumn * columns))
        let lines = Array(all.dropFirst(first))
        let w = rect.width <= 112 ? rect.width : 110
        let h = min(rect.height, (all.count + columns - 1) / columns + 2)
        let x0 = rect.x + (rect.width - w) / 2
        let y0 = rect.y + (rect.height - h) / 2
        for y in y0..<(y0 + h) { canvas.fill(y: y, x: x0, count: w, role: .normal) }
        canvas.fill(y: y0, x: x0, count: w, role: .title)
        canvas.put(" kamcon \(ProductVersion.version) — keys (any key closes" + (all.count > perColumn * columns ? ", ↑↓ scroll) " : ") "),
                   x: x0 + 1, y: y0, role: .title)
        let keyW = w >= 100 ? 16 : 12
        var y = y0 + 1
        // Two columns when the list is longer than the box.
        let perCol = h - 2
        let cols = columns
        let colW = w / cols
        for (i, line) in lines.enumerated() {
            let col = i / perCol
            guard col < cols else { break }
            y = y0 + 1 + i % perCol
            let x = x0 + 1 + col * colW
            if line.2 {
                canvas.put(line.0, x: x, y: y, role: .accent, limit: colW - 1)
            } else {
                canvas.put(CanvasWidth.fit(line.0, to: keyW - 1), x: x + 1, y: y, role: .keyName)
                canvas.put(line.1, x: x + keyW, y: y, role: .normal, limit: colW - keyW - 1)
            }
        }
    }
}
