import Shared

/// The transaction, dialog and statistics screens (tables with optional detail pane).
enum ViewLists {
    /// Splits `rect` into list and detail pane when the pane is open.
    static func split(_ rect: ViewRect, detail: Bool) -> (list: ViewRect, pane: ViewRect?) {
        guard detail, rect.height >= 10 else { return (rect, nil) }
        let paneH = rect.height / 2
        return (ViewRect(x: rect.x, y: rect.y, width: rect.width, height: rect.height - paneH),
                ViewRect(x: rect.x, y: rect.y + rect.height - paneH, width: rect.width, height: paneH))
    }

    /// A note when a list has nothing to show, saying why.
    static func emptyNote(_ snap: ServerSnapshot, method: String, noun: String, filter: String) -> String {
        if let e = snap.listErrors[method] { return "\(method) failed: \(e)" }
        if snap.listFetchedAt[method] == nil {
            return snap.connection.phase == .connected ? "loading \(method)…" : "not connected"
        }
        return filter.isEmpty ? "no \(noun)" : "no \(noun) match \"\(filter)\""
    }

    /// A table screen with an optional detail pane for the selected row; returns the page size.
    static func table<Row>(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext, state: ModelListState, detail: Bool,
                           rows: [Row], columns: [ModelColumn<Row>], method: String, noun: String,
                           role: (Row) -> CanvasRole, pane: (Row) -> (title: String, fields: [RPCMember])) -> Int {
        let (listRect, paneRect) = split(rect, detail: detail)
        let page = ViewTable.draw(&canvas, rect: listRect, columns: columns, rows: rows, state: state,
                                  glyphs: context.glyphs, rowRole: role)
        if rows.isEmpty {
            ViewTable.message(&canvas, rect: listRect, emptyNote(context.snapshot, method: method, noun: noun, filter: state.filter))
        }
        if let paneRect, rows.indices.contains(state.selected) {
            let p = pane(rows[state.selected])
            ViewDetailPane.draw(&canvas, rect: paneRect, title: p.title, fields: p.fields, glyphs: context.glyphs)
        }
        return page
    }

    /// Transactions screen; returns the page size.
    static func transactions(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext, state: ModelListState, detail: Bool) -> Int {
        table(&canvas, rect: rect, context: context, state: state, detail: detail,
              rows: AppLists.transactions(context.snapshot, state), columns: TransactionRow.columns,
              method: "tm.list", noun: "transactions",
              role: { row in
                  row.lastReply.hasPrefix("2") ? .good : row.lastReply.hasPrefix("4") ? .warn
                      : row.lastReply.hasPrefix("5") || row.lastReply.hasPrefix("6") ? .bad : .normal
              },
              pane: { ("\($0.method) \($0.callID)", $0.fields) })
    }

    /// Dialogs screen; returns the page size.
    static func dialogs(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext, state: ModelListState, detail: Bool) -> Int {
        table(&canvas, rect: rect, context: context, state: state, detail: detail,
              rows: AppLists.dialogs(context.snapshot, state, now: context.now), columns: DialogRow.columns(now: context.now),
              method: "dlg.list", noun: "dialogs",
              role: { row in
                  switch row.state {
                  case 4: return .good
                  case 1, 2: return .warn
                  case 5: return .dim
                  default: return .normal
                  }
              },
              pane: { ("dialog \($0.id) \($0.callID)", $0.fields) })
    }

    /// Statistics screen; returns the page size.
    static func statistics(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext, state: ModelListState) -> Int {
        let rows = AppLists.statistics(context.snapshot, state)
        let nameW = max(20, min(44, rect.width - 46))
        let cols: [(String, Int, Bool)] = [("Counter", nameW, false), ("Value", 14, true), ("Δ since attach", 15, true), ("Rate/s", 10, true)]
        ViewTable.header(&canvas, rect: rect, titles: cols.map(\.0), widths: cols.map(\.1), right: cols.map(\.2),
                         state: state, glyphs: context.glyphs)
        let visible = rect.height - 1
        for line in 0..<max(0, visible) {
            let i = state.scroll + line
            guard i < rows.count else { break }
            let r = rows[i]
            let y = rect.y + 1 + line
            if r.isGroup {
                canvas.put("\(r.counter.group.isEmpty ? "(no group)" : r.counter.group)  (\(r.counter.value))", x: rect.x + 1, y: y, role: .accent)
            } else {
                var x = rect.x + 1
                canvas.put(CanvasWidth.fit("  " + r.counter.name, to: cols[0].1), x: x, y: y)
                x += cols[0].1 + 1
                canvas.put(CanvasWidth.fit(String(r.counter.value), to: cols[1].1, right: true), x: x, y: y)
                x += cols[1].1 + 1
                canvas.put(CanvasWidth.fit(r.delta == 0 ? "·" : "+\(r.delta)", to: cols[2].1, right: true), x: x, y: y,
                           role: r.delta == 0 ? .dim : .accent)
                x += cols[2].1 + 1
                canvas.put(CanvasWidth.fit(r.rate == 0 ? "·" : ViewSparkline.number((r.rate * 10).rounded() / 10), to: cols[3].1, right: true),
                           x: x, y: y, role: r.rate == 0 ? .dim : .good)
            }
            if i == state.selected { canvas.recolor(y: y, x: rect.x, count: rect.width, role: .selected) }
        }
        if rows.isEmpty {
            let note = context.snapshot.missing.contains("stats.get_statistics") ? "this server has no stats.get_statistics"
                : state.filter.isEmpty ? "no counters yet" : "no counters match \"\(state.filter)\""
            ViewTable.message(&canvas, rect: rect, note)
        }
        if rows.count > visible, visible > 0 {
            ViewTable.drawScrollbar(&canvas, x: rect.x + rect.width - 1, y: rect.y + 1, height: visible, first: state.scroll,
                                    total: rows.count, glyphs: context.glyphs)
        }
        return visible
    }
}
