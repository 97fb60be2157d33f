/// The Parameters screen: the groups and their parameters as a tree (value, type and
/// range, restart marker) on the left; the selected parameter's description and the
/// staged changes on the right; the last result and the prompt at the bottom.
enum ViewParams {
    /// Draws the screen; returns the tree's row count (its page size).
    static func draw(_ canvas: inout Canvas, rect: ViewRect, ui: ModelParamsUI, context: ViewContext) -> Int {
        let snap = context.snapshot.params
        let bottomH = 2
        let mainH = max(3, rect.height - bottomH)
        let leftW = rect.width >= 90 ? rect.width * 60 / 100 : rect.width
        guard let rows = ViewModuleScreen.panes(&canvas, rect: rect, notice: .params, unknown: snap.flavor == .unknown,
                                                absent: snap.flavor == .absent, error: snap.error,
                                                height: mainH, leftWidth: leftW, glyphs: context.glyphs,
                                                left: { tree(&$0, rect: $1, ui: ui, snap: snap) },
                                                right: { side(&$0, rect: $1, ui: ui, snap: snap, glyphs: context.glyphs) }) else {
            return 1
        }
        bottom(&canvas, rect: ViewRect(x: rect.x, y: rect.y + mainH, width: rect.width, height: bottomH), ui: ui, snap: snap,
               context: context)
        return rows
    }

    /// The tree: a heading per group, then `name  value  type  [restart]  *staged`.
    private static func tree(_ canvas: inout Canvas, rect: ViewRect, ui: ModelParamsUI, snap: ParamsSnapshot) -> Int {
        canvas.fill(y: rect.y, x: rect.x, count: rect.width, role: .header)
        canvas.put(" Parameter                        Value                Type", x: rect.x, y: rect.y, role: .header,
                   limit: rect.width)
        let count = "\(snap.entries.count) in \(snap.groups.count) groups "
        if rect.width - CanvasWidth.of(count) > 62 {
            canvas.put(count, x: rect.x + rect.width - CanvasWidth.of(count), y: rect.y, role: .header)
        }
        let rows = ui.rows(snap)
        let page = rect.height - 1
        let staged = Set(snap.staged.map { "\($0.group).\($0.name)" })
        for i in 0..<page {
            let n = ui.top + i
            guard n < rows.count else { break }
            let y = rect.y + 1 + i
            let selected = n == ui.cursor
            if selected { canvas.fill(y: y, x: rect.x, count: rect.width, role: .selected) }
            switch rows[n] {
            case .group(let g):
                let count = snap.entries.filter { $0.group == g }.count
                let mark = ui.folded.contains(g) ? "+" : "-"
                canvas.put("\(mark) \(g) (\(count))", x: rect.x + 1, y: y, role: selected ? .selected : .accent, limit: rect.width - 2)
            case .param(let p):
                let e = snap.entries[p]
                let role: CanvasRole = selected ? .selected : .normal
                canvas.put("   " + e.name, x: rect.x, y: y, role: role, limit: 33)
                canvas.put(e.valueText, x: rect.x + 34, y: y, role: selected ? .selected : e.readable ? .good : .dim, limit: 20)
                var type = e.typeText
                if e.restart { type += " restart" }
                canvas.put(type, x: rect.x + 55, y: y, role: selected ? .selected : .dim, limit: max(0, rect.width - 58))
                if staged.contains(e.key) { canvas.put("*", x: rect.x + rect.width - 2, y: y, role: selected ? .selected : .warn) }
            }
        }
        return page
    }

    /// The selected parameter's description and the staged changes.
    private static func side(_ canvas: inout Canvas, rect: ViewRect, ui: ModelParamsUI, snap: ParamsSnapshot, glyphs: ViewGlyphs) {
        ViewDebugger.paneTitle(&canvas, x: rect.x, y: rect.y, width: rect.width, title: " Description", focused: false, glyphs: glyphs)
        var y = rect.y + 1
        if let i = ui.selected(snap) {
            let e = snap.entries[i]
            let lines = [e.key, "value: \(e.valueText)", "type: \(e.typeText)",
                         e.restart ? "changes need a restart" : "applies from the next message"]
                + wrap(e.description.isEmpty ? "(no description over this transport)" : e.description, width: rect.width - 2)
            for (k, l) in lines.enumerated() where y < rect.y + rect.height / 2 {
                canvas.put(l, x: rect.x + 1, y: y, role: k == 0 ? .accent : .normal, limit: rect.width - 2)
                y += 1
            }
        } else if let g = ui.selectedGroup(snap) {
            canvas.put("group \(g): Enter folds / unfolds", x: rect.x + 1, y: y, role: .dim, limit: rect.width - 2)
        }
        y = max(y + 1, rect.y + rect.height / 2)
        ViewDebugger.paneTitle(&canvas, x: rect.x, y: y, width: rect.width,
                               title: " Staged (\(snap.staged.count)) — c commits, x rolls back", focused: false, glyphs: glyphs)
        for c in snap.staged {
            y += 1
            guard y < rect.y + rect.height else { break }
            canvas.put("\(c.group).\(c.name): \(c.old) → \(c.new)", x: rect.x + 1, y: y, role: .warn, limit: rect.width - 2)
        }
        if snap.staged.isEmpty, y + 1 < rect.y + rect.height {
            canvas.put("nothing staged (s stages a value)", x: rect.x + 1, y: y + 1, role: .dim, limit: rect.width - 2)
        }
    }

    /// Result line and prompt.
    private static func bottom(_ canvas: inout Canvas, rect: ViewRect, ui: ModelParamsUI, snap: ParamsSnapshot, context: ViewContext) {
        canvas.fill(y: rect.y, x: rect.x, count: rect.width, role: .border, glyph: context.glyphs.hline)
        if let b = snap.busy {
            canvas.put(" working… \(b)", x: rect.x + 1, y: rect.y, role: .warn, limit: rect.width - 2)
        } else if let m = snap.message {
            canvas.put(" " + m.text + " ", x: rect.x + 1, y: rect.y, role: m.bad ? .bad : .good, limit: rect.width - 2)
        } else if let e = snap.error {
            canvas.put(" parameters link: \(e) ", x: rect.x + 1, y: rect.y, role: .bad, limit: rect.width - 2)
        }
        let py = rect.y + 1
        guard let p = ui.prompt else { return }
        let label: String
        switch p.kind {
        case .reloadPath: label = " reload script (empty: the loaded file)> "
        case .find: label = " find> "
        case .value(let i, let staged):
            let name = snap.entries.indices.contains(i) ? snap.entries[i].key : "?"
            label = staged ? " stage \(name)> " : " set \(name)> "
        }
        let w = canvas.put(label, x: rect.x, y: py, role: .prompt)
        canvas.put(p.text + (context.glyphs == .ascii ? "_" : "▏"), x: rect.x + w, y: py, role: .accent)
        canvas.put("Enter sends, Esc cancels", x: max(rect.x + w + CanvasWidth.of(p.text) + 3, rect.width - 25), y: py, role: .dim)
    }

    /// Words of `text` in lines of at most `width` columns.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, CanvasWidth.of(line) + 1 + CanvasWidth.of(String(word)) > max(10, width) {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
