import Shared

/// Text and JSON shapes of `kamcon dump`, built from the same models the screens use.
enum AppDumpTables {
    /// Header, rows and normalised JSON for `what`.
    static func table(_ what: String, _ values: [RPCValue], now: Double) -> ([String], [[String]], RPCValue) {
        switch what {
        case "transactions":
            var seen: [String: Double] = [:]
            let rows = TransactionRow.parse(values, now: now, firstSeen: &seen)
            let cols = TransactionRow.columns
            return (cols.map(\.title), rows.map { r in cols.map { $0.cell(r).display } },
                    .array(rows.map { r in .object([
                        "id": .string(r.id), "method": .string(r.method), "call_id": .string(r.callID),
                        "from": .string(r.from), "to": .string(r.to), "cseq": .string(r.cseq), "state": .string(r.state),
                        "branches": .int(r.branches), "last_reply": .string(r.lastReply), "branch": .string(r.branch),
                    ]) }))
        case "dialogs":
            let rows = DialogRow.parse(values)
            let cols = DialogRow.columns(now: now)
            return (["Id"] + cols.map(\.title), rows.map { r in [r.id] + cols.map { $0.cell(r).display } },
                    .array(rows.map { r in .object([
                        "h_entry": .int(r.hEntry), "h_id": .int(r.hID), "call_id": .string(r.callID),
                        "from": .string(r.from), "to": .string(r.to), "state": .int(r.state), "state_name": .string(r.stateName),
                        "start": .int(r.start), "duration": .int(r.liveDuration(now: now)), "timeout": .int(r.timeout),
                        "profiles": .array(r.profiles.map { .string($0) }),
                    ]) }))
        case "registrations":
            let recs = ModelRegistrations.parse(values)
            var rows: [[String]] = []
            for r in recs {
                for c in r.contacts {
                    rows.append([r.aor, c.address, String(c.expires), c.q.map { ViewSparkline.number($0) } ?? "-",
                                 c.received.isEmpty ? "-" : c.received, c.userAgent, c.path.isEmpty ? "-" : c.path])
                }
                if r.contacts.isEmpty { rows.append([r.aor, "-", "-", "-", "-", "-", "-"]) }
            }
            return (["AoR", "Contact", "Expires", "Q", "Received", "User-Agent", "Path"], rows,
                    .array(recs.map { r in .object([
                        "table": .string(r.table), "aor": .string(r.aor),
                        "contacts": .array(r.contacts.map { c in .object([
                            "address": .string(c.address), "expires": .int(c.expires), "q": c.q.map { .double($0) } ?? .null,
                            "received": .string(c.received), "user_agent": .string(c.userAgent), "path": .string(c.path),
                            "socket": .string(c.socket),
                        ]) }),
                    ]) }))
        default:
            let counters = StatCounter.parse(values)
            return (["Counter", "Value"], counters.map { [$0.key, String($0.value)] },
                    .struct(counters.map { RPCMember($0.key, .int($0.value)) }))
        }
    }

    /// Rows as left-aligned columns separated by two spaces (numbers stay readable, and
    /// `awk` still splits on runs of blanks).
    static func align(_ rows: [[String]]) -> String {
        guard let n = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: n)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], CanvasWidth.of(c)) } }
        var out = ""
        for r in rows {
            let cells = r.enumerated().map { i, c in i == r.count - 1 ? c : CanvasWidth.fit(c, to: widths[i]) }
            out += cells.joined(separator: "  ") + "\n"
        }
        return out
    }
}
