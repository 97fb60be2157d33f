import Control
import Shared

/// tm's counters over the control interfaces: `tm.stats` and the `tm:` statistics group.
extension TMModule: RPCMethodProvider {
    /// Registers the `tm:` statistics and returns `tm.stats`.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        let s = stats
        let stat = environment.statistics
        func add(_ name: String, resettable: Bool = true, _ read: @escaping @Sendable () -> Int) {
            stat.register(group: "tm", name: name, resettable: resettable, read: read)
        }
        add("inuse_transactions", resettable: false) { [self] in currentTransactions }
        add("active_transactions", resettable: false) { [self] in currentTransactions }
        add("UAS_transactions") { Int(truncatingIfNeeded: s.total.load(ordering: .relaxed)) }
        add("local_replies") { Int(truncatingIfNeeded: s.localReplies.load(ordering: .relaxed)) }
        add("relayed_replies") { Int(truncatingIfNeeded: s.relayedReplies.load(ordering: .relaxed)) }
        for c in 2...6 {
            add("\(c)xx_transactions") { Int(truncatingIfNeeded: s.repliesByClass[c]) }
        }
        add("retransmissions") { Int(truncatingIfNeeded: s.retransmissions.load(ordering: .relaxed)) }
        add("canceled") { Int(truncatingIfNeeded: s.canceled.load(ordering: .relaxed)) }
        add("timeouts") { Int(truncatingIfNeeded: s.timeouts.load(ordering: .relaxed)) }
        return [RPCMethod("tm.stats", help: "Print transaction statistics.") { [self] call in
            let byClass = s.repliesByClass
            var members: [RPCMember] = [
                RPCMember("current", .int(currentTransactions)),
                RPCMember("waiting", .int(0)),
                RPCMember("total", .int(Int(truncatingIfNeeded: s.total.load(ordering: .relaxed)))),
                RPCMember("total_local", .int(Int(truncatingIfNeeded: s.localReplies.load(ordering: .relaxed)))),
                RPCMember("rpl_sent", .int(Int(truncatingIfNeeded: byClass.reduce(0, &+)))),
            ]
            for c in (2...6).reversed() {
                members.append(RPCMember("\(c)xx", .int(Int(truncatingIfNeeded: byClass[c]))))
            }
            call.add(.struct(members))
        }]
    }
}

/// dialog's counters: the `dialog:` statistics group (Kamailio's names).
extension DialogModule: RPCMethodProvider {
    /// Registers the `dialog:` statistics; no methods yet.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        let s = stats
        let stat = environment.statistics
        stat.register(group: "dialog", name: "active_dialogs", resettable: false) { s.active.load(ordering: .relaxed) }
        stat.register(group: "dialog", name: "early_dialogs", resettable: false) { s.early.load(ordering: .relaxed) }
        stat.register(group: "dialog", name: "processed_dialogs") { Int(truncatingIfNeeded: s.processed.load(ordering: .relaxed)) }
        stat.register(group: "dialog", name: "expired_dialogs") { Int(truncatingIfNeeded: s.expired.load(ordering: .relaxed)) }
        stat.register(group: "dialog", name: "failed_dialogs") { Int(truncatingIfNeeded: s.failed.load(ordering: .relaxed)) }
        return []
    }
}
