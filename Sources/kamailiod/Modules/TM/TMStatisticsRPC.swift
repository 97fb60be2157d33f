import Control
import Shared
import Synchronization

/// tm's counters over the control interfaces: `tm.stats`, Kamailio's `tmx:` statistics
/// and kamailiod's own `tm:` extras; the other tm methods are in TMRPC.swift.
extension TMModule: RPCMethodProvider {
    /// Registers the statistics and returns tm's RPC methods.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        let s = stats
        let stat = environment.statistics
        @Sendable func load(_ a: borrowing Atomic<UInt64>) -> Int { Int(truncatingIfNeeded: a.load(ordering: .relaxed)) }
        func add(_ group: String, _ name: String, resettable: Bool = true, _ read: @escaping @Sendable () -> Int) {
            stat.register(group: group, name: name, resettable: resettable, read: read)
        }
        // Kamailio's tmx names.
        add("tmx", "inuse_transactions", resettable: false) { [self] in currentTransactions }
        add("tmx", "active_transactions", resettable: false) { [self] in max(0, currentTransactions - waitingTransactions()) }
        add("tmx", "UAS_transactions") { load(s.total) }
        add("tmx", "UAC_transactions") { load(s.totalLocal) }
        for c in 2...6 {
            add("tmx", "\(c)xx_transactions") { Int(truncatingIfNeeded: s.repliesByClass[c]) }
        }
        add("tmx", "rpl_received") { load(s.received) }
        add("tmx", "rpl_relayed") { load(s.relayedReplies) }
        add("tmx", "rpl_absorbed") { max(0, load(s.received) - load(s.relayedReplies)) }
        add("tmx", "rpl_generated") { load(s.localReplies) }
        add("tmx", "rpl_sent") { load(s.sent) }
        // kamailiod's extras, which Kamailio does not count.
        add("tm", "retransmissions") { load(s.retransmissions) }
        add("tm", "canceled") { load(s.canceled) }
        add("tm", "timeouts") { load(s.timeouts) }
        return [RPCMethod("tm.stats", help: "Print transaction statistics.") { [self] call in
            let byClass = s.repliesByClass
            var members: [RPCMember] = [
                RPCMember("current", .int(currentTransactions)),
                RPCMember("waiting", .int(waitingTransactions())),
                RPCMember("total", .int(load(s.total) + load(s.totalLocal))),
                RPCMember("total_local", .int(load(s.totalLocal))),
                RPCMember("rpl_received", .int(load(s.received))),
                RPCMember("rpl_generated", .int(load(s.localReplies))),
                RPCMember("rpl_sent", .int(load(s.sent))),
            ]
            for c in (2...6).reversed() {
                members.append(RPCMember("\(c)xx", .int(Int(truncatingIfNeeded: byClass[c]))))
            }
            members += [
                RPCMember("created", .int(Int(truncatingIfNeeded: table.created.load(ordering: .relaxed)))),
                RPCMember("freed", .int(Int(truncatingIfNeeded: table.freed.load(ordering: .relaxed)))),
                RPCMember("delayed_free", .int(0)),
            ]
            call.add(.struct(members))
        }] + transactionRPCMethods()
    }

    /// Transactions that have sent their final reply and wait to be freed (tm.stats
    /// `waiting`).
    func waitingTransactions() -> Int {
        table.allCells().reduce(0) { n, c in n + (c.lock.withLock { c.server.hasFinal && !c.removed } ? 1 : 0) }
    }
}
