import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// A request this server makes itself inside an existing dialog (RFC 3261 §12.2.1.1):
/// the dialog module's BYEs. The caller fills in the dialog's view of the leg.
public struct TMLocalRequest: Sendable {
    /// Method name (`BYE`).
    public var method: String
    /// The remote target (the peer's Contact URI).
    public var remoteTarget: [UInt8]
    /// The route set towards the peer, nearest hop first, URIs without `<>`.
    public var routeSet: [[UInt8]]
    /// From header value (our side of the dialog, with its tag).
    public var from: [UInt8]
    /// To header value (the peer, with its tag).
    public var to: [UInt8]
    /// Call-ID.
    public var callID: [UInt8]
    /// CSeq number (the method is `method`).
    public var cseq: UInt32
    /// Extra header lines, each ending in CRLF.
    public var headers: [UInt8] = []
    /// Listener to send from when it fits the next hop (-1: any).
    public var listenerIndex: Int = -1

    /// A request with the dialog's leg data.
    public init(method: String, remoteTarget: [UInt8], routeSet: [[UInt8]], from: [UInt8], to: [UInt8],
                callID: [UInt8], cseq: UInt32) {
        self.method = method
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
        self.from = from
        self.to = to
        self.callID = callID
        self.cseq = cseq
    }

    /// Request-URI, Route headers and next hop per §12.2.1.1: with a loose router first
    /// (`;lr`) the remote target is the Request-URI and the route set goes in Route; with a
    /// strict router first, it becomes the Request-URI and the remote target the last Route.
    func layout() -> (requestURI: [UInt8], routes: [[UInt8]], nextHop: [UInt8]) {
        guard let first = routeSet.first else { return (remoteTarget, [], remoteTarget) }
        let loose = (try? SIPURI(bytes: first[...]))?.param("lr") != nil
        if loose { return (remoteTarget, routeSet, first) }
        return (first, Array(routeSet.dropFirst()) + [remoteTarget], first)
    }
}

/// Local non-INVITE client transactions (RFC 3261 §17.1.2): Timer E retransmits over UDP
/// (T1 doubling up to T2), Timer F gives up (a 408 for the caller), Timer K absorbs
/// retransmitted finals. Replies are matched by our Via branch (`z9hG4bKuac<salt>.<id>`) before
/// tm looks at its proxied transactions. Volume is small (BYEs of ended dialogs), so one
/// table under one lock is enough; the timers run on a queue of their own.
public final class TMUAC: TMTimerHandler, Sendable {
    /// One local transaction.
    struct Transaction {
        var fsm: TMClientFSM
        let bytes: [UInt8]
        let destination: Destination
        let completion: @Sendable (Int) -> Void
        var completed = false
    }

    private let runtime: CoreRuntime
    private let sender: @Sendable ([UInt8], Destination) -> Bool
    private let now: @Sendable () -> UInt64
    /// tm, for its timer modparams; a weak reference, not a closure (see TMTimerQueue).
    private struct Owner: Sendable { weak var tm: TMModule? }
    private let owner = Mutex(Owner())
    private let transactions = Mutex<[UInt64: Transaction]>([:])
    private let nextID = Atomic<UInt64>(1)
    /// Random per start, so branches stay unique across restarts (§8.1.1.7).
    private let salt = UInt32.random(in: 1...UInt32.max)
    /// The timer thread of local transactions.
    let timers: TMTimerQueue
    /// Branch prefix of our Vias (after the magic cookie).
    static let branchPrefix: [UInt8] = Array("z9hG4bKuac".utf8)

    /// A UAC sending through `send`; without `autoStart` tests drive the timers.
    init(runtime: CoreRuntime, now: @escaping @Sendable () -> UInt64,
         send: @escaping @Sendable ([UInt8], Destination) -> Bool, autoStart: Bool = true) {
        self.runtime = runtime
        self.now = now
        self.sender = send
        timers = TMTimerQueue(autoStart: autoStart)
        timers.setHandler(self)
    }

    /// Where T1/T2/fr_timer come from when a request starts (tm's modparams).
    func setOwner(_ tm: TMModule) {
        owner.withLock { $0.tm = tm }
    }

    /// Local transactions in progress (tests, statistics).
    public var pending: Int { transactions.withLock { $0.count } }

    /// Builds and sends `request`; `completion` gets the final status (408 on timeout)
    /// once, on a worker or the timer thread. False when the next hop cannot be resolved
    /// or no listener fits (completion is not called then).
    @discardableResult
    public func send(_ request: TMLocalRequest, completion: @escaping @Sendable (Int) -> Void) -> Bool {
        let (ruri, routes, hop) = request.layout()
        guard let uri = try? SIPURI(bytes: hop[...]), let host = uri.host else { return false }
        var proto: TransportProto = uri.scheme == .sips ? .tls : .udp
        if let t = uri.transport, let p = TransportProto(name: SIPBytes.string(t).lowercased()) { proto = p }
        let prefixes = runtime.viaPrefixes
        guard let addr = runtime.resolve(host.address, port: uri.port ?? proto.defaultPort),
              let out = runtime.listener(for: proto, address: addr, preferred: request.listenerIndex),
              out.index < prefixes.count else {
            runtime.log(.error, "tm", "local \(request.method): cannot send to \(SIPBytes.string(hop[...]))")
            return false
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        var via = prefixes[out.index] + Array("uac".utf8)
        TMModule.appendHex(UInt64(salt), to: &via)
        via.append(UInt8(ascii: "."))
        let bytes = Self.build(request, requestURI: ruri, routes: routes, via: via, id: id, userAgent: runtime.userAgentHeader)
        start(id: id, bytes: bytes, to: Destination(proto: proto, address: addr, listenerIndex: out.index),
              method: request.method, completion: completion)
        return true
    }

    /// Sends built request `bytes` (whose Via carries `id`) and runs its client transaction.
    func start(id: UInt64, bytes: [UInt8], to dest: Destination, method: String,
               completion: @escaping @Sendable (Int) -> Void) {
        var fsm = TMClientFSM(isInvite: false, reliable: dest.proto.isStream,
                              timers: owner.withLock { $0.tm }?.timerValues(nil) ?? TMTimerValues())
        let actions = fsm.start(now: now())
        transactions.withLock { $0[id] = Transaction(fsm: fsm, bytes: bytes, destination: dest, completion: completion) }
        if !sender(bytes, dest) { runtime.log(.warning, "tm", "local \(method): first send failed, retrying") }
        perform(id, actions, reply: 0)
    }

    /// The request text: our Via (`via` ends where the id goes), Max-Forwards, Route set, From/To/Call-ID/CSeq (§12.2.1.1).
    static func build(_ r: TMLocalRequest, requestURI: [UInt8], routes: [[UInt8]], via: [UInt8], id: UInt64,
                      userAgent: [UInt8]?) -> [UInt8] {
        var out = Array("\(r.method) ".utf8) + requestURI + Array(" SIP/2.0\r\nVia: ".utf8) + via
        TMModule.appendHex(id, to: &out)
        out += Array("\r\nMax-Forwards: 70\r\n".utf8)
        for route in routes { out += Array("Route: <".utf8) + route + Array(">\r\n".utf8) }
        out += Array("From: ".utf8) + r.from + Array("\r\nTo: ".utf8) + r.to + Array("\r\nCall-ID: ".utf8) + r.callID
        out += Array("\r\nCSeq: ".utf8) + Array(String(r.cseq).utf8) + Array(" \(r.method)\r\n".utf8)
        if let ua = userAgent { out += ua + [13, 10] }
        out += r.headers
        out += Array("Content-Length: 0\r\n\r\n".utf8)
        return out
    }

    /// The id in one of our branches (`z9hG4bKuac<salt>.<id>`, hex).
    static func transactionID(_ branch: ArraySlice<UInt8>) -> UInt64? {
        guard branch.count > branchPrefix.count, branch.prefix(branchPrefix.count).elementsEqual(branchPrefix),
              let dot = branch.firstIndex(of: UInt8(ascii: ".")), dot + 1 < branch.endIndex else { return nil }
        var id: UInt64 = 0
        for c in branch[(dot + 1)...] {
            switch c {
            case 48...57: id = id &* 16 &+ UInt64(c - 48)
            case 97...102: id = id &* 16 &+ UInt64(c - 87)
            default: return nil
            }
        }
        return id
    }

    /// A reply whose top Via is ours: true when it belongs to a local transaction (then it
    /// ends here: there is nobody upstream to relay it to).
    public func handleReply(_ msg: SIPMessage) -> Bool {
        guard let via = try? msg.topVia(), let br = via.branch, let id = Self.transactionID(br) else { return false }
        let t = now()
        let actions: [TMClientFSM.Action]? = transactions.withLock { table in
            guard var tx = table[id] else { return nil }
            let a = tx.fsm.replyReceived(msg.statusCode, now: t)
            table[id] = tx
            return a
        }
        if let actions { perform(id, actions, reply: msg.statusCode) }
        return true
    }

    /// Carries out what a local transaction asked for.
    private func perform(_ id: UInt64, _ actions: [TMClientFSM.Action], reply: Int) {
        for a in actions {
            switch a {
            case .retransmitRequest:
                if let tx = transactions.withLock({ $0[id] }) { _ = sender(tx.bytes, tx.destination) }
            case .schedule(let kind, let at):
                timers.schedule(TMTimerEntry(due: at, cell: id, kind: kind, branch: 0))
            case .passUp(let code) where code >= 200:
                complete(id, code: code, remove: false)
            case .timedOut:
                complete(id, code: 408, remove: true)
            case .passUp, .sendACK:
                break
            }
        }
    }

    /// Reports the final status once; the entry stays until Timer K unless `remove`.
    private func complete(_ id: UInt64, code: Int, remove: Bool) {
        let cb: (@Sendable (Int) -> Void)? = transactions.withLock { table in
            guard var tx = table[id] else { return nil }
            if remove { table[id] = nil }
            guard !tx.completed else { return nil }
            tx.completed = true
            if !remove { table[id] = tx }
            return tx.completion
        }
        cb?(code)
    }

    /// A timer of a local transaction fired (timer thread).
    public func timerFired(_ e: TMTimerEntry) {
        let actions: [TMClientFSM.Action]? = transactions.withLock { table in
            guard var tx = table[e.cell] else { return nil }
            let a = tx.fsm.timerFired(e.kind, now: e.due)
            if tx.fsm.state == .terminated && tx.completed {
                table[e.cell] = nil  // Timer K ran out: retransmitted finals no longer come
            } else {
                table[e.cell] = tx
            }
            return a
        }
        if let actions { perform(e.cell, actions, reply: 0) }
    }
}
