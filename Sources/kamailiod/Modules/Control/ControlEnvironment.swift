#if canImport(Glibc)
import Glibc
#endif
import Control
import Foundation
import SIPTransport
import ScriptEngine
import Shared
import Synchronization

/// What the `core.*`, `ctl.*` and `stats.*` methods read: the running daemon's facts.
///
/// Built once at start-up by the daemon; the server lists are filled in after the control
/// servers are open (they are only read by RPC handlers, which run after that).
public final class ControlEnvironment: Sendable {
    /// The method table.
    public let registry: RPCRegistry
    /// The statistics table.
    public let statistics: RPCStatistics
    /// The started transport (listeners, connections, counters); nil in tests.
    public let transport: TransportManager?
    /// The loaded script (core parameters, loaded modules).
    public let script: LoadedScript
    /// The daemon's command line, program name first (`core.arg`).
    public let arguments: [String]
    /// When the daemon started (`core.uptime`).
    public let startTime: Date
    /// The control endpoints and ctl's binrpc servers, set once they are open.
    private let servers = Mutex<(endpoints: [ControlEndpointInfo], binrpc: [ControlBinrpcServer])>(([], []))

    /// Creates an environment.
    public init(registry: RPCRegistry, statistics: RPCStatistics, transport: TransportManager?, script: LoadedScript,
                arguments: [String], startTime: Date = Date()) {
        self.registry = registry
        self.statistics = statistics
        self.transport = transport
        self.script = script
        self.arguments = arguments
        self.startTime = startTime
    }

    /// Records the open control endpoints (`core.ps`, `ctl.listen`) and the binrpc stream
    /// servers (`ctl.who`, `ctl.connections`).
    public func setServers(endpoints: [ControlEndpointInfo], binrpc: [ControlBinrpcServer]) {
        servers.withLock { $0 = (endpoints, binrpc) }
    }

    /// The open control endpoints.
    public var endpoints: [ControlEndpointInfo] { servers.withLock { $0.endpoints } }

    /// ctl's binrpc stream servers.
    public var binrpcServers: [ControlBinrpcServer] { servers.withLock { $0.binrpc } }

    /// Registers the method sets of the core and of every loaded module that exports
    /// methods, and the statistics the core and sl keep.
    public func registerAll(sl: SLStatistics?) {
        registry.register(ControlMethods.core(self))
        registry.register(statistics.methods())
        for case let provider as any RPCMethodProvider in script.modules {
            registry.register(provider.rpcMethods(self))
        }
        if let sl, script.module(named: "sl") != nil {
            registry.register(ControlMethods.slStats(sl))
            ControlStatisticsFeed.registerSL(sl, in: statistics)
        }
        if let transport { ControlStatisticsFeed.registerTCP(transport, in: statistics) }
        ControlStatisticsFeed.registerMemory(in: statistics)
    }
}

/// The process's memory, read from the kernel, in the shape of Kamailio's shared-memory
/// report (`core.shmmem`, `shmem:` statistics). We have no fixed pool, so: total is the
/// machine's memory, used and real_used the resident set, max_used its peak.
struct ControlMemory {
    /// Bytes, as `core.shmmem` names them; fragments is always 0 (no pool).
    var total = 0, free = 0, used = 0, realUsed = 0, maxUsed = 0, fragments = 0

    /// Reads /proc now.
    static func current() -> ControlMemory {
        var m = ControlMemory()
        let status = procValues("/proc/self/status")
        m.used = (status["VmRSS"] ?? 0) * 1024
        m.realUsed = m.used
        m.maxUsed = max(m.used, (status["VmHWM"] ?? 0) * 1024)
        m.total = (procValues("/proc/meminfo")["MemTotal"] ?? 0) * 1024
        m.free = max(0, m.total - m.used)
        return m
    }

    /// `Name:  1234 kB` lines as name → number.
    private static func procValues(_ path: String) -> [String: Int] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var out: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == ":" || $0 == " " || $0 == "\t" })
            if parts.count >= 2, let n = Int(parts[1]) { out[String(parts[0])] = n }
        }
        return out
    }
}

/// Feeds module and transport counters into the statistics table under Kamailio's names.
enum ControlStatisticsFeed {
    /// `sl:` — per-code counters for the codes sl singles out, class counters for the rest.
    static func registerSL(_ sl: SLStatistics, in stats: RPCStatistics) {
        for code in ControlMethods.slCodes {
            stats.register(group: "sl", name: "\(code)_replies") { Int(truncatingIfNeeded: sl.replies(code: code)) }
        }
        for c in 1...6 {
            stats.register(group: "sl", name: "\(c)xx_replies") { Int(truncatingIfNeeded: sl.repliesByClass[c]) }
        }
        stats.register(group: "sl", name: "xxx_replies") { 0 }
        stats.register(group: "sl", name: "sent_replies") {
            Int(truncatingIfNeeded: sl.totalReplies)
        }
        stats.register(group: "sl", name: "sent_err_replies") { 0 }
        stats.register(group: "sl", name: "failures") { Int(truncatingIfNeeded: sl.failures.load(ordering: .relaxed)) }
        stats.register(group: "sl", name: "received_ACKs") {
            Int(truncatingIfNeeded: sl.filteredACKs.load(ordering: .relaxed))
        }
    }

    /// `tcp:` — from the transport's stream counters.
    static func registerTCP(_ transport: TransportManager, in stats: RPCStatistics) {
        let t = transport.statistics
        func add(_ name: String, resettable: Bool = true, _ read: @escaping @Sendable (TransportStatsSnapshot) -> Int) {
            stats.register(group: "tcp", name: name, resettable: resettable) { read(t.snapshot()) }
        }
        add("con_reset") { _ in 0 }
        add("con_timeout") { Int(truncatingIfNeeded: $0.tcpIdleClosed) }
        add("connect_failed") { Int(truncatingIfNeeded: $0.tcpConnectFailures) }
        add("connect_success") { _ in 0 }
        add("current_opened_connections", resettable: false) { $0.tcpConnectionsCurrent }
        add("current_write_queue_size", resettable: false) { _ in 0 }
        add("established") { Int(truncatingIfNeeded: $0.tcpConnectionsTotal) }
        add("local_reject") { Int(truncatingIfNeeded: $0.tcpConnectionsRefused) }
        add("passive_open") { Int(truncatingIfNeeded: $0.tcpConnectionsTotal) }
        add("send_timeout") { _ in 0 }
        add("sendq_full") { _ in 0 }
    }

    /// `shmem:` — the process memory (see `ControlMemory`).
    static func registerMemory(in stats: RPCStatistics) {
        let fields: [(String, @Sendable (ControlMemory) -> Int)] = [
            ("fragments", { $0.fragments }), ("free_size", { $0.free }), ("max_used_size", { $0.maxUsed }),
            ("real_used_size", { $0.realUsed }), ("total_size", { $0.total }), ("used_size", { $0.used }),
        ]
        for (name, read) in fields {
            stats.register(group: "shmem", name: name, resettable: false) { read(ControlMemory.current()) }
        }
    }
}
