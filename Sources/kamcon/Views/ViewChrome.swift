import Shared

/// Title bar, tab bar, status line and key bar around every screen.
enum ViewChrome {
    /// Row 0: product, address, server version, uptime, connection bullet, refresh interval.
    static func title(_ canvas: inout Canvas, context: ViewContext) {
        canvas.fill(y: 0, role: .title)
        let snap = context.snapshot
        var left = " kamcon \(ProductVersion.version)  \(context.glyphs.vline) \(context.address)"
        if !snap.info.version.isEmpty { left += "  \(context.glyphs.vline) \(snap.info.version)" }
        let state: String
        let role: CanvasRole
        switch snap.connection.phase {
        case .connected: (state, role) = ("connected", .good)
        case .connecting: (state, role) = ("connecting", .warn)
        case .disconnected: (state, role) = ("DISCONNECTED", .bad)
        }
        let right = "\(context.paused ? "PAUSED  " : "")\(context.glyphs.bullet) \(state)  every \(ViewSparkline.number(context.interval))s "
        // The state on the right always shows; a long address gives way.
        let rx = max(0, canvas.width - CanvasWidth.of(right))
        canvas.put(CanvasWidth.truncate(left, to: max(0, rx - 1)), x: 0, y: 0, role: .title)
        canvas.put(right, x: rx, y: 0, role: context.paused ? .warn : .title)
        canvas.recolor(y: 0, x: rx + (context.paused ? 8 : 0), count: CanvasWidth.of(state) + 2, role: role)
    }

    /// Row 1: one tab per screen with its function key; the active tab stands out.
    static func tabs(_ canvas: inout Canvas, current: AppScreen) {
        canvas.fill(y: 1, role: .tab)
        var x = 0
        let compact = canvas.width < 110
        for s in AppScreen.allCases {
            let label = compact ? " \(s.shortTitle) " : " F\(s.functionKey) \(s.title) "
            let w = CanvasWidth.of(label)
            guard x + w <= canvas.width else { break }
            canvas.put(label, x: x, y: 1, role: s == current ? .tabActive : .tab)
            x += w + 1
        }
    }

    /// The status line: a mode prompt, a message, or the connection state.
    static func status(_ canvas: inout Canvas, y: Int, state: AppState, context: ViewContext) {
        let snap = context.snapshot
        let list = state.list(state.screen)
        switch state.mode {
        case .filter:
            let w = canvas.put(" Filter: ", x: 0, y: y, role: .prompt)
            canvas.put(list.filter + "▏", x: w, y: y, role: .accent)
            canvas.put("  Enter keeps, Esc clears", x: w + CanvasWidth.of(list.filter) + 2, y: y, role: .dim)
            return
        case .confirm(let c):
            canvas.fill(y: y, role: .warn)
            canvas.put(" " + c.question, x: 0, y: y, role: .warn)
            return
        case .addBinding(let text):
            let w = canvas.put(" Add binding (AOR CONTACT [EXPIRES]): ", x: 0, y: y, role: .prompt)
            canvas.put(text + "▏", x: w, y: y, role: .accent)
            return
        case .normal, .help:
            break
        }
        if snap.connection.phase != .connected {
            canvas.fill(y: y, role: .bad)
            canvas.put(" " + snap.connection.summary(address: context.address, now: context.now), x: 0, y: y, role: .bad)
            return
        }
        if let m = state.message, m.until > context.now {
            canvas.put(" " + m.text, x: 0, y: y, role: m.role)
            return
        }
        var parts: [String] = []
        if !list.filter.isEmpty, state.screen.isList { parts.append("filter \"\(list.filter)\"") }
        if state.paused { parts.append("paused") }
        let ago = snap.polledAt > 0 ? "updated \(ModelClock.timeOfDay(Int(snap.polledAt)))" : ""
        canvas.put(" " + ([ago] + parts).filter { !$0.isEmpty }.joined(separator: "  ·  "), x: 0, y: y, role: .dim)
    }

    /// The bottom key bar, generated from the command table (htop style: key, then label).
    static func keyBar(_ canvas: inout Canvas, y: Int, screen: AppScreen) {
        canvas.fill(y: y, role: .keyLabel)
        var x = 0
        for (key, label) in AppKeyTable.bar(for: screen) {
            let need = CanvasWidth.of(key) + CanvasWidth.of(label) + 3
            guard x + need <= canvas.width else { break }
            x += canvas.put(key, x: x, y: y, role: .keyName)
            x += canvas.put(" " + label + " ", x: x, y: y, role: .keyLabel)
            x += 1
        }
    }
}
