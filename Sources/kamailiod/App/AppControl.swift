#if canImport(Glibc)
import Glibc
#endif
import BuiltinModules
import Control
import Foundation
import SIPCore
import SIPTransport
import ScriptEngine
import Shared
import Synchronization

/// The control interfaces of the running daemon: the RPC method table and the servers
/// that ctl (binrpc: kamcmd) and jsonrpcs (FIFO: kamctl; datagram: kamcli) configure.
///
/// Started after the transport (methods read its listeners) and stopped before it. Each
/// server runs on its own threads, so RPC work never runs on a SIP worker.
final class DaemonControl {
    /// The method table all servers share.
    let registry = RPCRegistry()
    /// The `stats.*` table.
    let statistics = RPCStatistics()
    /// Counts received messages for the `core:` statistics; the transport is started
    /// with `countingHandler(_:)` so every message passes it.
    private var coreStatistics: DaemonCoreStatistics?

    /// Wraps the SIP handler so received requests and replies are counted (`core:` group).
    func countingHandler(_ inner: any MessageHandler) -> any MessageHandler {
        let counting = DaemonCoreStatistics(wrapping: inner)
        coreStatistics = counting
        return counting
    }
    /// Requests and replies received so far (0 before the transport started).
    var messagesReceived: Int {
        guard let c = coreStatistics else { return 0 }
        return c.requests.current + c.replies.current
    }
    private var binrpc: [ControlBinrpcServer] = []
    private var datagram: [ControlDatagramServer] = []
    private var fifo: [ControlFIFOServer] = []

    /// The directory relative control paths go to: `-Y`, else the script's `run_dir`
    /// (`rundir`), else Kamailio's `/run/kamailio` — except for the embedded default
    /// configuration, which must work without root: `$XDG_RUNTIME_DIR/kamailiod`, or
    /// `/tmp/kamailiod-<uid>` (see README, "Control interfaces").
    static func runtimeDirectory(option: String?, core: ScriptCoreConfig, embeddedConfig: Bool) -> String {
        if let option { return option }
        if let dir = core.values["run_dir"] ?? core.values["rundir"] { return dir.text }
        guard embeddedConfig else { return "/run/kamailio" }
        if let xdg = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !xdg.isEmpty { return xdg + "/kamailiod" }
        return "/tmp/kamailiod-\(getuid())"
    }

    /// `name` inside `dir` unless it is already absolute.
    static func resolve(_ name: String, in dir: String) -> String {
        name.hasPrefix("/") ? name : (dir.hasSuffix("/") ? dir + name : dir + "/" + name)
    }

    /// Registers the methods and opens every configured endpoint; throws when one cannot
    /// be opened (Kamailio does not start then either).
    func start(script: LoadedScript, modules: BuiltinModuleSet, transport: TransportManager, arguments: [String],
               runDir: String) throws {
        let env = ControlEnvironment(registry: registry, statistics: statistics, transport: transport,
                                     script: script, arguments: arguments)
        env.registerAll(sl: modules.sl.stats)
        coreStatistics?.register(in: statistics)
        let ctlLoaded = script.module(named: "ctl") != nil
        let jsonLoaded = script.module(named: "jsonrpcs") != nil
        guard ctlLoaded || jsonLoaded else { return }
        try ensureDirectory(runDir)
        var endpoints: [ControlEndpointInfo] = []
        if ctlLoaded {
            let s = modules.ctl.settings
            let access = ControlFileAccess(mode: s.mode, user: s.user, group: s.group)
            for text in s.binrpc.isEmpty ? ["unix:kamailio_ctl"] : s.binrpc {
                let address = try RPCAddress(parsing: text)
                switch address {
                case .unixStream(let p):
                    let server = try ControlBinrpcServer(address: .unixStream(path: Self.resolve(p, in: runDir)),
                                                         access: access, registry: registry)
                    try server.start()
                    binrpc.append(server)
                    endpoints.append(server.endpoint)
                case .tcp:
                    let server = try ControlBinrpcServer(address: address, access: access, registry: registry)
                    try server.start()
                    binrpc.append(server)
                    endpoints.append(server.endpoint)
                case .unixDatagram(let p):
                    let server = try ControlDatagramServer(address: .unixDatagram(path: Self.resolve(p, in: runDir)),
                                                           wireProtocol: .binrpc, access: access, registry: registry)
                    try server.start()
                    datagram.append(server)
                    endpoints.append(server.endpoint)
                case .udp:
                    let server = try ControlDatagramServer(address: address, wireProtocol: .binrpc, access: access,
                                                           registry: registry)
                    try server.start()
                    datagram.append(server)
                    endpoints.append(server.endpoint)
                case .fifo:
                    throw ControlError("ctl: binrpc over a FIFO is not supported (\(text))")
                }
            }
        }
        if jsonLoaded {
            let s = modules.jsonrpcs.settings
            var options = ControlServerOptions()
            options.sendTimeout = Double(max(1, s.dgramTimeout)) / 1000
            if s.fifoEnabled {
                let server = try ControlFIFOServer(
                    path: Self.resolve(s.fifoName, in: runDir), replyDirectory: s.fifoReplyDir,
                    access: ControlFileAccess(mode: s.fifoMode, user: s.fifoUser, group: s.fifoGroup),
                    registry: registry, prettyJSON: s.prettyFormat)
                try server.start()
                fifo.append(server)
                endpoints.append(server.endpoint)
            }
            if s.datagramEnabled {
                let address: RPCAddress = s.dgramSocket.hasPrefix("udp:")
                    ? try RPCAddress(parsing: s.dgramSocket)
                    : .unixDatagram(path: Self.resolve(s.dgramSocket.hasPrefix("unix:") ? String(s.dgramSocket.dropFirst(5)) : s.dgramSocket, in: runDir))
                let server = try ControlDatagramServer(
                    address: address, wireProtocol: .jsonRPC,
                    access: ControlFileAccess(mode: s.dgramMode, user: s.dgramUser, group: s.dgramGroup),
                    registry: registry, options: options, prettyJSON: s.prettyFormat)
                try server.start()
                datagram.append(server)
                endpoints.append(server.endpoint)
            }
        }
        env.setServers(endpoints: endpoints, binrpc: binrpc.filter { $0.address.isStream })
    }

    /// Where the servers listen, for the start-up log line.
    var summary: String {
        (binrpc.map { "binrpc \($0.address)" } + datagram.map { "\($0.wireProtocol == .binrpc ? "binrpc" : "jsonrpc") \($0.address)" }
            + fifo.map { "jsonrpc fifo:\($0.path)" }).joined(separator: ", ")
    }

    /// Closes every server and removes their files.
    func stop() {
        for s in binrpc { s.stop() }
        for s in datagram { s.stop() }
        for s in fifo { s.stop() }
    }

    /// Creates the runtime directory (owner only) when missing. A directory that exists
    /// must belong to us or root: in a shared place such as /tmp another user could have
    /// made it to swap our sockets for theirs.
    private func ensureDirectory(_ dir: String) throws {
        var st = stat()
        if stat(dir, &st) != 0 {
            guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
                throw ControlError("cannot create the runtime directory \(dir): \(RPCSocketIO.errnoText(errno))")
            }
            guard stat(dir, &st) == 0 else { throw ControlError("cannot read the runtime directory \(dir)") }
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw ControlError("\(dir) is not a directory") }
        guard st.st_uid == geteuid() || st.st_uid == 0 else {
            throw ControlError("the runtime directory \(dir) belongs to another user (uid \(st.st_uid))")
        }
    }
}

/// Address helpers for the daemon wiring.
extension RPCAddress {
    /// True for stream addresses (`unix:`, `tcp:`).
    var isStream: Bool {
        switch self {
        case .unixStream, .tcp: return true
        default: return false
        }
    }
}

/// Kamailio's `core:` statistics that kamailiod can count honestly: received requests per
/// method and received replies per class and for the codes Kamailio singles out. Counted
/// by wrapping the message handler, on the worker thread, from the first line's bytes only.
final class DaemonCoreStatistics: MessageHandler {
    /// One relaxed atomic counter (a class, so counters can sit in arrays).
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func bump() { value.wrappingAdd(1, ordering: .relaxed) }
        var current: Int { value.load(ordering: .relaxed) }
    }

    /// Request methods Kamailio counts one by one.
    static let methods = ["ack", "bye", "cancel", "info", "invite", "message", "notify", "options", "prack",
                          "publish", "refer", "register", "subscribe", "update"]
    /// Reply codes Kamailio counts one by one.
    static let replyCodes = [401, 404, 407, 480, 486]

    /// The SIP handler every message goes on to.
    let inner: any MessageHandler
    /// Counters: all requests, per method, all replies, per class, 18x, per code.
    let requests = Counter()
    let byMethod: [String: Counter]
    /// The same counters by method bytes, scanned per request: no String per message.
    let methodCounters: [(name: [UInt8], counter: Counter)]
    let replies = Counter()
    let byClass = (0...6).map { _ in Counter() }
    let replies18x = Counter()
    let byCode: [Int: Counter]

    init(wrapping inner: any MessageHandler) {
        self.inner = inner
        let byMethod = Dictionary(uniqueKeysWithValues: Self.methods.map { ($0, Counter()) })
        self.byMethod = byMethod
        methodCounters = byMethod.map { (Array($0.key.utf8), $0.value) }
        byCode = Dictionary(uniqueKeysWithValues: Self.replyCodes.map { ($0, Counter()) })
    }

    func handleMessage(_ bytes: [UInt8], info: ReceiveInfo, worker: Int) {
        count(bytes)
        inner.handleMessage(bytes, info: info, worker: worker)
    }

    /// Classifies one message by its first line: `SIP/2.0 NNN` is a reply, else the first
    /// token is the request method. Keep-alives and junk count as nothing.
    func count(_ b: [UInt8]) {
        if b.count >= 11, b.starts(with: Self.replyPrefix) {
            let digits = b[8...10]
            guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return }
            let code = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            replies.bump()
            if (1...6).contains(code / 100) { byClass[code / 100].bump() }
            if code / 10 == 18 { replies18x.bump() }
            byCode[code]?.bump()
            return
        }
        guard let space = b.prefix(16).firstIndex(of: 0x20), space > 0 else { return }
        requests.bump()
        let method = b[..<space]
        for e in methodCounters where e.name.count == method.count && SIPBytes.equalsIgnoringCase(e.name, method) {
            e.counter.bump()
            return
        }
    }

    private static let replyPrefix = Array("SIP/2.0 ".utf8)

    /// Adds the counters to the `core:` group.
    func register(in stats: RPCStatistics) {
        stats.register(group: "core", name: "rcv_requests") { [requests] in requests.current }
        for (m, c) in byMethod { stats.register(group: "core", name: "rcv_requests_\(m)") { c.current } }
        stats.register(group: "core", name: "rcv_replies") { [replies] in replies.current }
        for k in 1...6 { stats.register(group: "core", name: "rcv_replies_\(k)xx") { [byClass] in byClass[k].current } }
        stats.register(group: "core", name: "rcv_replies_18x") { [replies18x] in replies18x.current }
        for (code, c) in byCode { stats.register(group: "core", name: "rcv_replies_\(code)") { c.current } }
    }
}
