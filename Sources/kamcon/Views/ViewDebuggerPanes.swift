import Foundation

/// The Debugger screen's right column: workers, watches, SIP message.
enum ViewDebuggerPanes {
    /// Draws the three panes stacked in `rect`.
    static func side(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, glyphs: ViewGlyphs) {
        let workerH = min(snap.workers.count + 1, max(2, rect.height / 3))
        let watchH = min(max(2, ui.watches.count + 1), max(2, rect.height / 3))
        workers(&canvas, rect: ViewRect(x: rect.x, y: rect.y, width: rect.width, height: workerH), ui: ui, snap: snap, glyphs: glyphs)
        watches(&canvas, rect: ViewRect(x: rect.x, y: rect.y + workerH, width: rect.width, height: watchH), ui: ui, snap: snap,
                glyphs: glyphs)
        let msgY = rect.y + workerH + watchH
        message(&canvas, rect: ViewRect(x: rect.x, y: msgY, width: rect.width, height: rect.y + rect.height - msgY), ui: ui,
                snap: snap, glyphs: glyphs)
    }

    /// `▶ 5670 stopped  B  kamailio.cfg:38 assign` per process; scrolls with the selection.
    private static func workers(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, glyphs: ViewGlyphs) {
        let parked = snap.stoppedWorkers.count
        ViewDebugger.paneTitle(&canvas, x: rect.x, y: rect.y, width: rect.width,
                               title: " Workers \(parked) stopped\(snap.armed ? ", armed" : "")", focused: ui.focus == .workers, glyphs: glyphs)
        let rows = rect.height - 1
        guard rows > 0 else { return }
        let target = ui.target(snap)
        let first = max(0, min(ui.workerIndex - rows + 1, snap.workers.count - rows))
        for (i, w) in snap.workers.dropFirst(max(0, first)).prefix(rows).enumerated() {
            let y = rect.y + 1 + i
            let selected = ui.focus == .workers && ui.workerIndex == first + i
            let state = w.state == 1 ? "stopped" : w.state == 2 ? "stepped" : "running"
            let flags = (w.armed ? "B" : "-") + (w.tracing ? "T" : "-")
            var where_ = w.description
            if let p = snap.stops[w.pid]?.position {
                where_ = "\(DebuggerPosition.shortName(p.file)):\(p.line) \(p.name)"
            } else if w.stopped, let f = w.file, let l = w.line {
                where_ = "\(DebuggerPosition.shortName(f)):\(l)"
            }
            let mark = w.pid == target ? (glyphs == .ascii ? ">" : "▶") : " "
            let role: CanvasRole = selected ? .selected : w.stopped ? .warn : .normal
            if selected { canvas.fill(y: y, x: rect.x, count: rect.width, role: .selected) }
            canvas.put("\(mark)\(pad(String(w.pid), 8)) \(state) \(flags) \(where_)", x: rect.x, y: y, role: role, limit: rect.width)
        }
    }

    /// `expr = value`; values that changed since the previous stop are marked.
    private static func watches(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, glyphs: ViewGlyphs) {
        ViewDebugger.paneTitle(&canvas, x: rect.x, y: rect.y, width: rect.width, title: " Watches (w adds, x removes)",
                               focused: ui.focus == .watches, glyphs: glyphs)
        if ui.watches.isEmpty {
            canvas.put(" none — w adds one, e.g. $ru or $var(x)", x: rect.x, y: rect.y + 1, role: .dim, limit: rect.width)
            return
        }
        let stop = ui.target(snap).flatMap { snap.stops[$0] }
        for (i, w) in ui.watches.prefix(rect.height - 1).enumerated() {
            let y = rect.y + 1 + i
            let value = stop?.watches[w]
            let changed = value != nil && stop?.previous[w] != nil && stop?.previous[w] != value
            let selected = ui.focus == .watches && ui.watchIndex == i
            if selected { canvas.fill(y: y, x: rect.x, count: rect.width, role: .selected) }
            let x = rect.x + canvas.put(" \(w) = ", x: rect.x, y: y, role: selected ? .selected : .label, limit: rect.width)
            let text = (value?.display ?? "–") + (changed ? " (changed)" : "")
            canvas.put(text, x: x, y: y, role: selected ? .selected : changed ? .warn : .normal, limit: rect.x + rect.width - x)
        }
    }

    /// The SIP message the target worker is processing, one header per row.
    private static func message(_ canvas: inout Canvas, rect: ViewRect, ui: ModelDebuggerUI, snap: DebuggerSnapshot, glyphs: ViewGlyphs) {
        guard rect.height > 0 else { return }
        let text = ui.target(snap).flatMap { snap.stops[$0]?.message }
        let source = snap.flavor.extended ? "dbg.bp msg" : "$mb"
        ViewDebugger.paneTitle(&canvas, x: rect.x, y: rect.y, width: rect.width, title: " Message (\(source))",
                               focused: ui.focus == .message, glyphs: glyphs)
        guard let text else {
            canvas.put(" no worker stopped", x: rect.x, y: rect.y + 1, role: .dim, limit: rect.width)
            return
        }
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (i, l) in lines.dropFirst(ui.messageScroll).prefix(rect.height - 1).enumerated() {
            canvas.put(" " + l, x: rect.x, y: rect.y + 1 + i, role: i == 0 && ui.messageScroll == 0 ? .accent : .normal, limit: rect.width)
        }
    }

    private static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? s : s + String(repeating: " ", count: n - s.count)
    }
}
