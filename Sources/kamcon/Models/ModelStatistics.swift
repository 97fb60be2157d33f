import Shared

/// One counter from `stats.get_statistics all` (`group:name = value`).
struct StatCounter: Equatable, Sendable {
    /// Group (`core`, `sl`, `usrloc` …).
    var group: String
    /// Counter name.
    var name: String
    /// Current value.
    var value: Int

    /// `group:name`.
    var key: String { "\(group):\(name)" }

    /// Parses `core:rcv_requests = 38` lines; other lines are skipped.
    static func parse(_ values: [RPCValue]) -> [StatCounter] {
        ModelRecords.strings(values).compactMap { line in
            guard let eq = line.range(of: " = ") ?? line.range(of: "=") else { return nil }
            let key = line[..<eq.lowerBound].trimmingCharacters(in: .whitespaces)
            let valueText = line[eq.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let value = Int(valueText) ?? Double(valueText).map({ Int($0) }) else { return nil }
            let group: String
            let name: String
            if let colon = key.firstIndex(of: ":") {
                group = String(key[..<colon])
                name = String(key[key.index(after: colon)...])
            } else {
                group = ""
                name = key
            }
            return StatCounter(group: group, name: name, value: value)
        }
    }
}

/// A counter with its change since kamcon attached and its current rate.
struct StatRow: Equatable, Sendable {
    /// The counter.
    var counter: StatCounter
    /// Change since the baseline taken at attach.
    var delta: Int
    /// Change per second over the last poll interval.
    var rate: Double
    /// True for the group heading line (its counter carries the group name only).
    var isGroup: Bool = false
}

/// Counters with deltas since attach. The baseline is the first sample; when a counter
/// drops below it (daemon restarted, `stats.reset_statistics`) the baseline follows it
/// down so deltas never go negative.
struct StatisticsBook: Equatable, Sendable {
    /// Values at attach.
    private(set) var baseline: [String: Int] = [:]
    /// Previous sample and its time, for rates.
    private(set) var previous: [String: Int] = [:]
    private var previousAt: Double?
    /// Latest counters in server order.
    private(set) var counters: [StatCounter] = []
    /// Rates per second from the last two samples.
    private(set) var rates: [String: Double] = [:]

    /// Takes a new sample.
    mutating func update(_ sample: [StatCounter], at now: Double) {
        var newRates: [String: Double] = [:]
        let dt = previousAt.map { now - $0 } ?? 0
        for c in sample {
            let k = c.key
            if let b = baseline[k] {
                if c.value < b { baseline[k] = c.value }
            } else {
                baseline[k] = c.value
            }
            if dt > 0, let p = previous[k], c.value >= p { newRates[k] = Double(c.value - p) / dt }
        }
        previous = Dictionary(sample.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        previousAt = now
        counters = sample
        rates = newRates
    }

    /// Current value of `group:name`.
    func value(_ key: String) -> Int? { previous[key] }

    /// Sum of several counters (missing ones count 0; nil when none exists).
    func sum(_ keys: [String]) -> Int? {
        let found = keys.compactMap { previous[$0] }
        return found.isEmpty ? nil : found.reduce(0, +)
    }

    /// Rows for the statistics screen: a heading per group, then its counters; filter
    /// matches group or name; sort column 0 name, 1 value, 2 delta, 3 rate.
    func rows(state: ModelListState) -> [StatRow] {
        let needle = state.filter.lowercased()
        var groups: [String] = []
        var byGroup: [String: [StatRow]] = [:]
        for c in counters where needle.isEmpty || c.key.lowercased().contains(needle) {
            if byGroup[c.group] == nil { groups.append(c.group) }
            byGroup[c.group, default: []].append(
                StatRow(counter: c, delta: c.value - (baseline[c.key] ?? c.value), rate: rates[c.key] ?? 0))
        }
        var out: [StatRow] = []
        for g in groups {
            var rows = byGroup[g] ?? []
            if let col = state.sortColumn {
                func lt(_ a: StatRow, _ b: StatRow) -> Bool {
                    switch col {
                    case 1: return a.counter.value < b.counter.value
                    case 2: return a.delta < b.delta
                    case 3: return a.rate < b.rate
                    default: return a.counter.name < b.counter.name
                    }
                }
                rows.sort { state.ascending ? lt($0, $1) : lt($1, $0) }
            }
            out.append(StatRow(counter: StatCounter(group: g, name: "", value: rows.count), delta: 0, rate: 0, isGroup: true))
            out += rows
        }
        return out
    }

    /// Column titles (the sort keys cycle through these).
    static let columnTitles = ["Counter", "Value", "Δ since attach", "Rate/s"]
}

import Foundation
