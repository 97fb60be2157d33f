/// The overview screen: server facts, memory, and live rates with sparklines.
enum ViewOverview {
    /// The rate rows: (label, series, role of the label).
    static let rows: [(String, String, CanvasRole)] = [
        ("Requests", "requests", .accent),
        ("Replies 1xx", "replies_1xx", .normal),
        ("Replies 2xx", "replies_2xx", .good),
        ("Replies 3xx", "replies_3xx", .normal),
        ("Replies 4xx", "replies_4xx", .warn),
        ("Replies 5xx", "replies_5xx", .bad),
        ("Replies 6xx", "replies_6xx", .bad),
        ("Transactions", "transactions", .accent),
    ]

    /// The level rows.
    static let levels: [(String, String)] = [
        ("Active transactions", "transactions_active"),
        ("Active dialogs", "dialogs_active"),
        ("Registered contacts", "registrations"),
    ]

    /// Draws the overview into `rect`.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, context: ViewContext) {
        let snap = context.snapshot
        let info = snap.info
        var y = rect.y
        let x = rect.x + 1
        let labelWidth = 12
        func kv(_ label: String, _ value: String, role: CanvasRole = .accent, at col: Int? = nil) -> Int {
            let cx = col ?? x
            canvas.put(CanvasWidth.fit(label, to: labelWidth), x: cx, y: y, role: .label)
            return canvas.put(value, x: cx + labelWidth, y: y, role: role, limit: rect.x + rect.width - cx - labelWidth)
        }
        _ = kv("Server", info.version.isEmpty ? "-" : info.version)
        let uptimeCol = rect.x + max(labelWidth + 34, rect.width / 2)
        if let up = info.uptime, uptimeCol + labelWidth < rect.x + rect.width {
            let live = up + (snap.connection.phase == .connected ? Int(context.now - info.uptimeReadAt) : 0)
            let used = kv("Uptime", ModelSIPText.duration(live), at: uptimeCol)
            if !info.upSince.isEmpty {
                canvas.put("  since \(info.upSince)", x: uptimeCol + labelWidth + used, y: y, role: .dim,
                           limit: rect.x + rect.width - uptimeCol - labelWidth - used)
            }
        }
        y += 1
        if let mem = info.memory, mem.total > 0 {
            let frac = Double(mem.used) / Double(mem.total)
            let pct = Int((frac * 100).rounded())
            canvas.put(CanvasWidth.fit("Memory", to: labelWidth), x: x, y: y, role: .label)
            let bar = ViewSparkline.gauge(frac, width: 20, glyphs: context.glyphs)
            canvas.put(bar, x: x + labelWidth, y: y, role: pct >= 90 ? .bad : pct >= 75 ? .warn : .good)
            canvas.put(" \(pct)%  \(ModelSIPText.bytes(mem.used)) of \(ModelSIPText.bytes(mem.total)) shm, peak \(ModelSIPText.bytes(mem.maxUsed))",
                       x: x + labelWidth + 20, y: y, role: .normal, limit: rect.width - labelWidth - 22)
        } else {
            _ = kv("Memory", "-", role: .dim)
        }
        y += 1
        let procs = info.processes
        let workers = procs.filter { $0.description.contains("receiver") || $0.description.contains("worker") }.count
        _ = kv("Processes", procs.isEmpty ? "-" : "\(procs.count) processes, \(workers) SIP workers")
        y += 2

        // Rates table.
        let nameW = 20
        let numW = 8
        let sparkX = x + nameW + numW * 3 + 2
        let sparkW = max(0, min(RateSeries.capacity, rect.x + rect.width - sparkX - 1))
        canvas.fill(y: y, x: rect.x, count: rect.width, role: .header)
        canvas.put(CanvasWidth.fit("Traffic", to: nameW), x: x, y: y, role: .header)
        canvas.put(CanvasWidth.fit("now/s", to: numW, right: true), x: x + nameW, y: y, role: .header)
        canvas.put(CanvasWidth.fit("avg/s", to: numW, right: true), x: x + nameW + numW, y: y, role: .header)
        canvas.put(CanvasWidth.fit("peak/s", to: numW, right: true), x: x + nameW + numW * 2, y: y, role: .header)
        let span = Int(Double(sparkW) * context.interval)
        if sparkW > 10 { canvas.put("last \(ModelSIPText.duration(span))", x: sparkX, y: y, role: .header) }
        y += 1
        func seriesRow(_ label: String, _ s: RateSeries, _ role: CanvasRole) {
            guard y < rect.y + rect.height else { return }
            canvas.put(CanvasWidth.fit(label, to: nameW), x: x, y: y, role: role)
            canvas.put(CanvasWidth.fit(ViewSparkline.number(s.current), to: numW, right: true), x: x + nameW, y: y, role: .accent)
            canvas.put(CanvasWidth.fit(ViewSparkline.number(s.average.map { ($0 * 10).rounded() / 10 }), to: numW, right: true),
                       x: x + nameW + numW, y: y)
            canvas.put(CanvasWidth.fit(ViewSparkline.number(s.peak), to: numW, right: true), x: x + nameW + numW * 2, y: y, role: .dim)
            canvas.put(ViewSparkline.render(s.points, width: sparkW, glyphs: context.glyphs), x: sparkX, y: y, role: .spark)
            y += 1
        }
        for (label, key, role) in rows { seriesRow(label + "/s", snap.rates[key], role) }
        y += 1
        if y < rect.y + rect.height {
            canvas.fill(y: y, x: rect.x, count: rect.width, role: .header)
            canvas.put(CanvasWidth.fit("Load", to: nameW), x: x, y: y, role: .header)
            canvas.put(CanvasWidth.fit("now", to: numW, right: true), x: x + nameW, y: y, role: .header)
            canvas.put(CanvasWidth.fit("avg", to: numW, right: true), x: x + nameW + numW, y: y, role: .header)
            canvas.put(CanvasWidth.fit("peak", to: numW, right: true), x: x + nameW + numW * 2, y: y, role: .header)
            y += 1
        }
        for (label, key) in levels { seriesRow(label, snap.rates[key], .normal) }
        if y < rect.y + rect.height, !info.dialogs.isEmpty {
            let d = info.dialogs
            let text = "dialogs: \(d["starting"] ?? 0) starting, \(d["connecting"] ?? 0) connecting, "
                + "\(d["answering"] ?? 0) answering, \(d["ongoing"] ?? 0) ongoing"
            canvas.put(text, x: x + nameW, y: y, role: .dim, limit: rect.width - nameW - 2)
            y += 1
        }
        y += 1
        // Processes, as many as fit, in two columns when wide enough.
        guard y + 1 < rect.y + rect.height, !procs.isEmpty else { return }
        canvas.fill(y: y, x: rect.x, count: rect.width, role: .header)
        canvas.put("Processes", x: x, y: y, role: .header)
        y += 1
        let colW = rect.width >= 100 ? (rect.width - 2) / 2 : rect.width - 2
        let perCol = rect.y + rect.height - y
        for (i, p) in procs.enumerated() {
            let col = i / max(1, perCol)
            guard col < (rect.width >= 100 ? 2 : 1) else { break }
            let py = y + i % max(1, perCol)
            let px = x + col * colW
            canvas.put(CanvasWidth.fit(String(p.pid), to: 7, right: true), x: px, y: py, role: .accent)
            canvas.put(p.description, x: px + 8, y: py, role: .normal, limit: colW - 9)
        }
    }
}
