/// The registrations screen: AoRs with their contacts as a small tree.
enum ViewRegistrations {
    /// Draws the screen; returns the page size.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext, state: ModelListState, detail: Bool) -> Int {
        let lines = AppLists.registrations(context.snapshot, state)
        let (listRect, pane) = ViewLists.split(rect, detail: detail)
        let w = ViewTable.widths(minimums: [30, 8, 5, 18, 16, 8], flex: [3, 0, 0, 1, 2, 1], width: listRect.width - 1)
        let right = [false, true, true, false, false, false]
        ViewTable.header(&canvas, rect: listRect, titles: ModelRegistrations.columnTitles, widths: w, right: right,
                         state: state, glyphs: context.glyphs)
        // Contacts count down between polls: Expires was true when fetched.
        let fetched = context.snapshot.listFetchedAt["ul.dump"] ?? context.now
        let elapsed = context.paused ? 0 : max(0, Int(context.now - fetched))
        let visible = max(0, listRect.height - 1)
        for line in 0..<visible {
            let i = state.scroll + line
            guard i < lines.count else { break }
            let l = lines[i]
            let y = listRect.y + 1 + line
            var cells: [String]
            var role = CanvasRole.normal
            if let ci = l.contact, l.record.contacts.indices.contains(ci) {
                let c = l.record.contacts[ci]
                let last = ci == l.record.contacts.count - 1
                let left = max(0, c.expires - elapsed)
                cells = ["  " + (last ? context.glyphs.lastBranch : context.glyphs.branch) + " " + c.address,
                         ModelSIPText.duration(left), c.q.map { ViewSparkline.number($0) } ?? "-",
                         c.received.isEmpty ? "-" : c.received, c.userAgent, c.path.isEmpty ? "-" : c.path]
                role = left < 60 ? .warn : .normal
            } else {
                let n = l.record.contacts.count
                cells = [l.record.aor, "", "", "", "\(n) contact\(n == 1 ? "" : "s")", ""]
                role = .accent
            }
            var x = listRect.x + 1
            for (ci, text) in cells.enumerated() where w[ci] > 0 {
                canvas.put(CanvasWidth.fit(text, to: w[ci], right: right[ci]), x: x, y: y, role: ci == 0 || l.contact == nil ? role : (ci == 1 ? role : .normal))
                x += w[ci] + 1
            }
            if i == state.selected { canvas.recolor(y: y, x: listRect.x, count: listRect.width, role: .selected) }
        }
        if lines.isEmpty {
            ViewTable.message(&canvas, rect: listRect,
                              ViewLists.emptyNote(context.snapshot, method: "ul.dump", noun: "registrations", filter: state.filter))
        }
        if lines.count > visible, visible > 0 {
            ViewTable.drawScrollbar(&canvas, x: listRect.x + listRect.width - 1, y: listRect.y + 1, height: visible,
                                    first: state.scroll, total: lines.count, glyphs: context.glyphs)
        }
        if let pane, lines.indices.contains(state.selected) {
            let l = lines[state.selected]
            if let ci = l.contact, l.record.contacts.indices.contains(ci) {
                ViewDetailPane.draw(&canvas, rect: pane, title: l.record.aor, fields: l.record.contacts[ci].fields, glyphs: context.glyphs)
            } else {
                ViewDetailPane.draw(&canvas, rect: pane, title: l.record.aor,
                                    fields: [.init("AoR", .string(l.record.aor)), .init("Table", .string(l.record.table)),
                                             .init("Contacts", .int(l.record.contacts.count))], glyphs: context.glyphs)
            }
        }
        return visible
    }
}
