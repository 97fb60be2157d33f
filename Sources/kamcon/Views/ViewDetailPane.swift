import Shared

/// A framed pane with a title and a record's fields as aligned `name: value` lines.
enum ViewDetailPane {
    /// Draws `fields` pretty-printed inside a box at `rect`.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, title: String, fields: [RPCMember], glyphs: ViewGlyphs, scroll: Int = 0) {
        guard rect.height >= 3 else { return }
        canvas.fill(y: rect.y, x: rect.x, count: rect.width, role: .border, glyph: glyphs.hline)
        canvas.put(" \(title) ", x: rect.x + 2, y: rect.y, role: .accent, limit: rect.width - 4)
        canvas.put(" Enter/Esc closes ", x: max(rect.x, rect.x + rect.width - 20), y: rect.y, role: .dim)
        let lines = ViewReplyText.lines([.struct(fields)])
        for (i, line) in lines.dropFirst(scroll).prefix(rect.height - 1).enumerated() {
            let y = rect.y + 1 + i
            var x = rect.x + 1 + line.indent
            x += canvas.put(ViewReplyText.label(line), x: x, y: y, role: .label)
            canvas.put(line.value, x: x, y: y, role: .normal, limit: rect.x + rect.width - x)
        }
    }
}
