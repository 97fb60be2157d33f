import Shared
import Synchronization

/// The statistics table behind `stats.*` (Kamailio's kex counters): `group:name` values
/// that modules feed by registering a reader.
///
/// Counters stay where their owner keeps them (atomics in the hot path); the table only
/// holds closures that read them. Resetting a monotonic counter records a baseline that
/// later reads subtract, so owners need no reset hook; gauges (open connections, memory)
/// are marked non-resettable and ignore resets, as Kamailio's do.
public final class RPCStatistics: Sendable {
    /// One registered statistic.
    public struct Statistic: Sendable {
        /// Group (`sl`, `tcp`, `core`, ...).
        public var group: String
        /// Name inside the group (`200_replies`).
        public var name: String
        /// Reads the raw value.
        public var read: @Sendable () -> Int
        /// False for gauges: a reset leaves them alone.
        public var resettable: Bool
    }

    private struct Entry {
        var statistic: Statistic
        var baseline = 0
    }

    private let table = Mutex<[String: Entry]>([:])

    /// An empty table.
    public init() {}

    /// Adds (or replaces) `group:name`.
    public func register(group: String, name: String, resettable: Bool = true, read: @escaping @Sendable () -> Int) {
        let s = Statistic(group: group, name: name, read: read, resettable: resettable)
        table.withLock { $0["\(group):\(name)"] = Entry(statistic: s) }
    }

    /// The current value of `group:name`, if registered.
    public func value(group: String, name: String) -> Int? {
        table.withLock { t in t["\(group):\(name)"].map { $0.statistic.read() - $0.baseline } }
    }

    /// `(group, name, value)` for every statistic a selector picks, sorted by group then
    /// name: `all`, `group:` for a whole group, `group:name`, or a bare name (any group).
    public func select(_ selectors: [String]) -> [(group: String, name: String, value: Int)] {
        let keys = matchingKeys(selectors)
        return table.withLock { t in
            keys.compactMap { k in
                t[k].map { ($0.statistic.group, $0.statistic.name, $0.statistic.read() - $0.baseline) }
            }
        }
    }

    /// Resets what the selectors pick; returns the values before the reset.
    @discardableResult
    public func reset(_ selectors: [String]) -> [(group: String, name: String, value: Int)] {
        let keys = matchingKeys(selectors)
        return table.withLock { t in
            keys.compactMap { k -> (String, String, Int)? in
                guard var e = t[k] else { return nil }
                let raw = e.statistic.read()
                let old = raw - e.baseline
                if e.statistic.resettable {
                    e.baseline = raw
                    t[k] = e
                }
                return (e.statistic.group, e.statistic.name, old)
            }
        }
    }

    private func matchingKeys(_ selectors: [String]) -> [String] {
        let all = table.withLock { t in t.map { ($0.key, $0.value.statistic.group, $0.value.statistic.name) } }
        var picked = Set<String>()
        for sel in selectors {
            if sel == "all" {
                picked.formUnion(all.map(\.0))
            } else if sel.hasSuffix(":") {
                let g = String(sel.dropLast())
                picked.formUnion(all.filter { $0.1 == g }.map(\.0))
            } else if sel.contains(":") {
                picked.formUnion(all.filter { $0.0 == sel }.map(\.0))
            } else {
                picked.formUnion(all.filter { $0.2 == sel }.map(\.0))
            }
        }
        return picked.sorted()
    }

    /// Every string parameter; none is the fault `missing` (Kamailio's texts).
    static func selectors(_ call: RPCCall, missing: String) throws(RPCFault) -> [String] {
        var list: [String] = []
        while let s = call.optionalString() { list.append(s) }
        guard !list.isEmpty else { throw RPCFault(code: 400, message: missing) }
        return list
    }

    /// The `stats.*` methods over this table, with Kamailio's reply shapes and faults.
    public func methods() -> [RPCMethod] {
        let which = "Please provide which stats to retrieve"
        let name = "Please provide stats name"
        return [
            RPCMethod("stats.get_statistics", help: "get core and modules stats", signature: "<all|group:|name:s> ...",
                      returnsArray: true) { [self] call throws(RPCFault) in
                for s in select(try RPCStatistics.selectors(call, missing: which)) { call.add(.string("\(s.group):\(s.name) = \(s.value)")) }
            },
            RPCMethod("stats.fetch", help: "fetch core and modules stats as string values",
                      signature: "<all|group:|name:s> ...") { [self] call throws(RPCFault) in
                let picked = select(try RPCStatistics.selectors(call, missing: which))
                call.add(.struct(picked.map { RPCMember("\($0.group).\($0.name)", .string(String($0.value))) }))
            },
            RPCMethod("stats.fetchn", help: "fetch core and modules stats as number values",
                      signature: "<all|group:|name:s> ...") { [self] call throws(RPCFault) in
                let picked = select(try RPCStatistics.selectors(call, missing: which))
                call.add(.struct(picked.map { RPCMember("\($0.group).\($0.name)", .int($0.value)) }))
            },
            RPCMethod("stats.reset_statistics", help: "reset core and modules stats (silent operation)",
                      signature: "<all|group:|name:s> ...") { [self] call throws(RPCFault) in
                reset(try RPCStatistics.selectors(call, missing: name))
            },
            RPCMethod("stats.clear_statistics", help: "clear core and modules stats (verbose operation)",
                      signature: "<all|group:|name:s> ...") { [self] call throws(RPCFault) in
                for s in reset(try RPCStatistics.selectors(call, missing: name)) { call.add(.string("\(s.group):\(s.name) = \(s.value)")) }
            },
        ]
    }
}
