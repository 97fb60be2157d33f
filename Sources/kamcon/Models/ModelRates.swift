/// A counter or gauge sampled over time: the history the overview draws as a sparkline.
struct RateSeries: Equatable, Sendable {
    /// How many points are kept (two minutes at the default 1 s interval).
    static let capacity = 120
    /// Points per sample: rate per second for counters, the level for gauges.
    private(set) var points: [Double] = []
    private var lastValue: Int?
    private var lastAt: Double?
    /// True for levels (active dialogs), false for counters turned into rates.
    let isGauge: Bool

    /// A new, empty series.
    init(gauge: Bool) { isGauge = gauge }

    /// Adds a sample of the underlying value. Counters that go backwards (daemon restart)
    /// restart the rate instead of drawing a negative spike.
    mutating func add(_ value: Int?, at now: Double) {
        guard let value else { return }
        if isGauge {
            append(Double(value))
        } else if let lv = lastValue, let la = lastAt, now > la, value >= lv {
            append(Double(value - lv) / (now - la))
        }
        lastValue = value
        lastAt = now
    }

    private mutating func append(_ p: Double) {
        points.append(p)
        if points.count > RateSeries.capacity { points.removeFirst(points.count - RateSeries.capacity) }
    }

    /// The latest point.
    var current: Double? { points.last }

    /// Mean of the kept points.
    var average: Double? { points.isEmpty ? nil : points.reduce(0, +) / Double(points.count) }

    /// Highest kept point.
    var peak: Double? { points.max() }
}

/// The series the overview shows, keyed by what they measure.
struct RateBook: Equatable, Sendable {
    /// Series names in display order with whether each is a gauge.
    static let names: [(String, Bool)] = [
        ("requests", false), ("replies_1xx", false), ("replies_2xx", false), ("replies_3xx", false),
        ("replies_4xx", false), ("replies_5xx", false), ("replies_6xx", false),
        ("transactions", false), ("transactions_active", true), ("dialogs_active", true),
        ("registrations", true),
    ]
    /// The series.
    private(set) var series: [String: RateSeries] = Dictionary(
        uniqueKeysWithValues: RateBook.names.map { ($0.0, RateSeries(gauge: $0.1)) })

    /// Adds one sample to a named series.
    mutating func add(_ name: String, _ value: Int?, at now: Double) {
        series[name, default: RateSeries(gauge: false)].add(value, at: now)
    }

    /// The series called `name`.
    subscript(name: String) -> RateSeries { series[name] ?? RateSeries(gauge: false) }

    /// Feeds every series from one poll: counters from `stats.get_statistics`, plus
    /// `tm.stats`, `dlg.stats_active` and the registration count.
    ///
    /// Replies per class are those received from downstream (`core:rcv_replies_Nxx`) plus
    /// those sent statelessly (`sl:*`); tm's locally generated replies are not counted twice.
    mutating func sample(stats: StatisticsBook, info: ServerInfo, contacts: Int?, at now: Double) {
        add("requests", stats.value("core:rcv_requests"), at: now)
        let sl: [String: [String]] = [
            "1": ["sl:1xx_replies"],
            "2": ["sl:200_replies", "sl:202_replies", "sl:2xx_replies"],
            "3": ["sl:300_replies", "sl:301_replies", "sl:302_replies", "sl:3xx_replies"],
            "4": ["sl:400_replies", "sl:401_replies", "sl:403_replies", "sl:404_replies", "sl:407_replies",
                  "sl:408_replies", "sl:483_replies", "sl:4xx_replies"],
            "5": ["sl:500_replies", "sl:5xx_replies"],
            "6": ["sl:6xx_replies"],
        ]
        for c in 1...6 {
            let keys = ["core:rcv_replies_\(c)xx"] + (sl[String(c)] ?? [])
            add("replies_\(c)xx", stats.sum(keys), at: now)
        }
        add("transactions", info.tm["total"] ?? info.tm["created"], at: now)
        add("transactions_active", info.tm["current"] ?? info.tm["inuse"], at: now)
        add("dialogs_active", info.dialogs["all"] ?? stats.value("dialog:active_dialogs"), at: now)
        add("registrations", contacts ?? stats.value("usrloc:registered_users"), at: now)
    }
}
