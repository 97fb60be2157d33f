/// A scrolling list with a header line, column widths from `ModelColumn` hints, the sort
/// column marked, and a selection bar. Shared by the transaction and dialog screens.
enum ViewTable {
    /// Column widths for `width` columns: minimums first, spare space by flex; columns
    /// that do not fit at all are dropped from the right (width 0).
    static func widths(minimums: [Int], flex: [Int], width: Int) -> [Int] {
        var out = minimums
        var used = 0
        for i in out.indices {
            let need = out[i] + (i > 0 ? 1 : 0)
            if used + need > width {
                // Give the first column that does not fit what is left, drop the rest.
                let left = width - used - (i > 0 ? 1 : 0)
                out[i] = left >= 3 ? left : 0
                for j in (i + 1)..<out.count { out[j] = 0 }
                return out
            }
            used += need
        }
        let totalFlex = flex.reduce(0, +)
        var spare = width - used
        if totalFlex > 0, spare > 0 {
            let share = spare
            for i in out.indices where flex[i] > 0 {
                let extra = share * flex[i] / totalFlex
                out[i] += extra
                spare -= extra
            }
            if let last = out.indices.last(where: { flex[$0] > 0 }) { out[last] += spare }
        }
        return out
    }

    /// Draws the header and visible rows; returns the number of row lines available (page size).
    @discardableResult
    static func draw<Row>(_ canvas: inout Canvas, rect: ViewRect, columns: [ModelColumn<Row>], rows: [Row],
                          state: ModelListState, glyphs: ViewGlyphs, rowRole: (Row) -> CanvasRole = { _ in .normal }) -> Int {
        let w = widths(minimums: columns.map(\.width), flex: columns.map(\.flex), width: rect.width - 1)
        header(&canvas, rect: rect, titles: columns.map(\.title), widths: w, right: columns.map(\.right), state: state, glyphs: glyphs)
        let visible = max(0, rect.height - 1)
        for line in 0..<visible {
            let index = state.scroll + line
            guard index < rows.count else { break }
            let row = rows[index]
            let y = rect.y + 1 + line
            let selected = index == state.selected
            var cx = rect.x + 1
            let base = rowRole(row)
            for (i, col) in columns.enumerated() where w[i] > 0 {
                canvas.put(CanvasWidth.fit(col.cell(row).display, to: w[i], right: col.right), x: cx, y: y,
                           role: base)
                cx += w[i] + 1
            }
            if selected { canvas.recolor(y: y, x: rect.x, count: rect.width, role: .selected) }
        }
        if rows.count > visible, visible > 0 {
            drawScrollbar(&canvas, x: rect.x + rect.width - 1, y: rect.y + 1, height: visible,
                          first: state.scroll, total: rows.count, glyphs: glyphs)
        }
        return visible
    }

    /// The header line: titles in their widths, the sort column marked with its direction.
    static func header(_ canvas: inout Canvas, rect: ViewRect, titles: [String], widths: [Int], right: [Bool],
                       state: ModelListState, glyphs: ViewGlyphs) {
        canvas.fill(y: rect.y, x: rect.x, count: rect.width, role: .header)
        var x = rect.x + 1
        for (i, t) in titles.enumerated() where i < widths.count && widths[i] > 0 {
            let sorted = state.sortColumn == i
            let title = sorted ? t + (state.ascending ? glyphs.up : glyphs.down) : t
            canvas.put(CanvasWidth.fit(title, to: widths[i], right: right[i]), x: x, y: rect.y, role: sorted ? .headerSorted : .header)
            x += widths[i] + 1
        }
    }

    /// A one-column scroll indicator.
    static func drawScrollbar(_ canvas: inout Canvas, x: Int, y: Int, height: Int, first: Int, total: Int, glyphs: ViewGlyphs) {
        guard total > 0, height > 0 else { return }
        let thumb = max(1, height * height / total)
        let top = min(height - thumb, first * height / total)
        for i in 0..<height {
            canvas.put(i >= top && i < top + thumb ? glyphs.full : glyphs.vline, x: x, y: y + i, role: .border)
        }
    }

    /// A centred one-line message in `rect` (empty lists, missing methods).
    static func message(_ canvas: inout Canvas, rect: ViewRect, _ text: String, role: CanvasRole = .dim) {
        let t = CanvasWidth.truncate(text, to: rect.width - 2)
        let x = rect.x + max(1, (rect.width - CanvasWidth.of(t)) / 2)
        canvas.put(t, x: x, y: rect.y + max(0, rect.height / 2), role: role)
    }
}
