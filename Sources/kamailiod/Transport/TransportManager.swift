#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The daemon's transport layer: opens the `listen=` sockets, runs the receiver threads
/// and the stream I/O thread, hands every message to the `MessageHandler`, and sends.
///
/// Worker numbering (the `worker` argument of `handleMessage`): UDP receivers come first,
/// `children` per UDP listener in listener order, then the `tcpChildren` stream workers;
/// `workerCount` is the total, so per-worker state can be an array.
///
/// Life cycle: `init` → `start(handler:)` once → `send` from any thread → `stop()` once.
public final class TransportManager: Sendable {
    /// The listen entries, in order; `ListenerInfo.index` refers to these.
    public let specs: [ListenSpec]
    /// The options given at init.
    public let options: TransportOptions
    /// Counters for RPC statistics.
    public let statistics = TransportStatistics()
    /// Total worker threads that may call the handler (see the type's doc).
    public let workerCount: Int
    /// Kernel thread ids of the workers, by worker index (filled as they start).
    public let threadIdentities: TransportThreadIdentities

    /// Everything `start` built; published once, read lock-free by `send` on every packet,
    /// and kept alive (retained) until the manager goes away.
    private let published = Atomic<Unmanaged<TransportRuntime>?>(nil)
    /// Serializes `start` and `stop` against each other.
    private let lifecycle = Mutex<Phase>(.idle)

    private enum Phase { case idle, running, stopped }

    /// Prepares a transport for `listens`; nothing is opened until `start`.
    public init(listens: [ListenSpec], options: TransportOptions = TransportOptions()) {
        self.specs = listens
        self.options = options
        let udp = listens.filter { $0.proto == .udp }.count
        let streams = listens.contains { $0.proto != .udp }
        self.workerCount = udp * max(1, options.children) + (streams ? options.effectiveTCPChildren : 0)
        threadIdentities = TransportThreadIdentities(count: workerCount)
    }

    deinit {
        stop()
        published.load(ordering: .acquiring)?.release()
    }

    /// The open listeners, in `specs` order (empty before `start`).
    public var listeners: [ListenerInfo] { runtime?.infos ?? [] }

    private var runtime: TransportRuntime? {
        published.load(ordering: .acquiring)?.takeUnretainedValue()
    }

    // MARK: - Start and stop

    /// Opens every listener and starts the threads. Throws, with every socket opened so far
    /// closed again, when a listener cannot be resolved or bound.
    public func start(handler: any MessageHandler) throws(TransportError) {
        // A peer closing a stream must give EPIPE, never kill the process: our own sends use
        // MSG_NOSIGNAL, but OpenSSL writes with plain write(2). Whoever embeds the transport
        // (the daemon, the tests) gets this, not only the daemon's start-up.
        signal(SIGPIPE, SIG_IGN)
        try lifecycle.withLock { phase throws(TransportError) in
            guard phase == .idle else { throw .alreadyStarted }
            let rt = try TransportRuntime.open(specs: specs, options: options, stats: statistics, handler: handler)
            do throws(TransportError) {
                try rt.startThreads(handler: handler, options: options, stats: statistics, identities: threadIdentities)
            } catch {
                rt.stop()
                throw error
            }
            published.store(Unmanaged.passRetained(rt), ordering: .releasing)
            phase = .running
            for l in rt.infos {
                options.log(.info, "listening on \(l.proto.name):\(l.address) (advertised \(l.advertisedHost):\(l.advertisedPort))")
            }
        }
    }

    /// Closes the sockets and joins every thread. Returns once the ports are free again;
    /// a handler that is still running is waited for. Idempotent.
    public func stop() {
        lifecycle.withLock { phase in
            guard phase == .running else {
                phase = .stopped
                return
            }
            phase = .stopped
            runtime?.stop()
        }
    }

    // MARK: - Sending

    /// Sends one message. UDP goes out of a UDP listener of the destination's family
    /// (`dest.listenerIndex` when it fits); TCP reuses `dest.connectionID` or any open
    /// connection to `dest.address`, else connects (blocking this thread for at most
    /// `tcpConnectTimeout`). Returns false, after a log line, when nothing was sent.
    public func send(_ bytes: [UInt8], to dest: Destination) -> Bool {
        guard let published = published.load(ordering: .acquiring) else { return notRunning(dest) }
        // Used without a retain of its own (two per packet): the runtime stays retained by
        // `published` until this manager's deinit, and the manager is alive during the call.
        return published._withUnsafeGuaranteedRef { rt in
            if rt.isStopped { return notRunning(dest) }
            if dest.proto == .udp { return sendUDP(bytes, to: dest, rt) }
            guard options.supports(dest.proto) else {
                options.log(.error, "cannot send to \(dest.proto.name):\(dest.address): transport not supported")
                return false
            }
            return sendStream(bytes, to: dest, rt)
        }
    }

    private func notRunning(_ dest: Destination) -> Bool {
        options.log(.error, "cannot send to \(dest.proto.name):\(dest.address): transport not running")
        return false
    }

    private func sendUDP(_ bytes: [UInt8], to dest: Destination, _ rt: TransportRuntime) -> Bool {
        guard let l = rt.udpListener(preferred: dest.listenerIndex, family: dest.address.isIPv6) else {
            options.log(.error, "cannot send to udp:\(dest.address): no udp listener of that address family")
            TransportStatistics.bump(statistics.udpSendErrors)
            return false
        }
        let e = l.send(bytes, to: dest.address)
        guard e == 0 else {
            options.log(.error, "udp send from \(l.address) to \(dest.address) failed: \(TransportSocket.errorText(e))")
            TransportStatistics.bump(statistics.udpSendErrors)
            return false
        }
        TransportStatistics.bump(statistics.udpSentDatagrams)
        TransportStatistics.bump(statistics.udpSentBytes, by: UInt64(bytes.count))
        return true
    }

    private func sendStream(_ bytes: [UInt8], to dest: Destination, _ rt: TransportRuntime) -> Bool {
        var connection = dest.connectionID != 0 ? rt.table.connection(id: dest.connectionID) : nil
        if connection == nil { connection = rt.table.connection(to: dest.address, proto: dest.proto) }
        if connection == nil { connection = rt.connect(to: dest, options: options, stats: statistics) }
        guard let c = connection else {
            TransportStatistics.bump(statistics.tcpSendErrors)
            return false
        }
        let deadline = TransportClock.nowNanos() + TransportClock.nanos(seconds: options.tcpSendTimeout)
        let result = bytes.withUnsafeBytes { c.writeAll($0, deadline: deadline) }
        if case .failure(let e) = result {
            options.log(.error, "tcp send to \(c.peer) on connection \(c.id) failed: \(e.text)")
            TransportStatistics.bump(statistics.tcpSendErrors)
            return false
        }
        TransportStatistics.bump(statistics.tcpSentMessages)
        TransportStatistics.bump(statistics.tcpSentBytes, by: UInt64(bytes.count))
        return true
    }

    // MARK: - Introspection

    /// The open stream connections (for RPC dumps such as `core.tcp_list`).
    public func connections() -> [TransportConnection] {
        runtime?.table.all().sorted { $0.id < $1.id } ?? []
    }

    /// Makes connection `id` the way to `port` on its peer's address as well (Kamailio's
    /// `force_tcp_alias`): requests to the peer's listening port then reuse it.
    @discardableResult
    public func addAlias(connectionID id: UInt64, port: UInt16) -> Bool {
        guard let rt = runtime, let c = rt.table.connection(id: id) else { return false }
        var address = c.peer
        address.port = port
        return rt.table.addAlias(id: id, address: address)
    }

    /// The open connection with this id, if any.
    public func connection(id: UInt64) -> TransportConnection? {
        runtime?.table.connection(id: id)
    }
}

/// What `start` opened: sockets, the stream loop, the worker pool and their threads.
/// Immutable after `startThreads`, except for the thread list (under its Mutex) and the
/// stop flag, so `send` can read it from any thread without a lock.
final class TransportRuntime: Sendable {
    /// What `TransportManager.listeners` reports.
    let infos: [ListenerInfo]
    /// UDP sockets, in listener order.
    let udp: [TransportUDPListener]
    /// Listening stream sockets (owned by the loop once it runs).
    let streamListeners: [TransportStreamListener]
    /// Open stream connections.
    let table: TransportConnectionTable
    /// The stream I/O thread's state; nil without stream listeners.
    let loop: TransportTCPLoop?
    /// Stream workers; nil without stream listeners.
    let pool: TransportWorkerPool<TransportStreamJob>?
    private let stopped = Atomic<Bool>(false)
    private let udpThreads = Mutex<[TransportThread]>([])
    private let loopThread = Mutex<TransportThread?>(nil)

    private init(infos: [ListenerInfo], udp: [TransportUDPListener], streamListeners: [TransportStreamListener],
                 table: TransportConnectionTable, loop: TransportTCPLoop?,
                 pool: TransportWorkerPool<TransportStreamJob>?) {
        self.infos = infos
        self.udp = udp
        self.streamListeners = streamListeners
        self.table = table
        self.loop = loop
        self.pool = pool
    }

    /// True once `stop` began.
    var isStopped: Bool { stopped.load(ordering: .acquiring) }

    /// Resolves and binds every spec; on failure closes what was opened and throws.
    static func open(specs: [ListenSpec], options: TransportOptions, stats: TransportStatistics,
                     handler: any MessageHandler) throws(TransportError) -> TransportRuntime {
        var udp: [TransportUDPListener] = []
        var streams: [TransportStreamListener] = []
        var infos: [ListenerInfo] = []
        func closeAll() {
            for u in udp { u.close() }
            for s in streams { TransportSocket.close(s.fd) }
        }
        do throws(TransportError) {
            for (index, spec) in specs.enumerated() {
                guard options.supports(spec.proto) else { throw .unsupportedProtocol(spec) }
                // A name with several addresses binds the first, as Kamailio's listen= does
                // unless told otherwise; list each address to listen on several.
                guard let address = TransportResolver.resolveAll(host: spec.host, port: spec.port).first else {
                    throw .cannotResolve(spec)
                }
                let bound: SocketAddress
                var rcvbuf = 0
                if spec.proto == .udp {
                    let l = try TransportUDPListener.open(index: index, spec: spec, address: address,
                                                          maxReceiveBuffer: options.maxReceiveBuffer)
                    udp.append(l)
                    bound = l.address
                    rcvbuf = l.receiveBufferSize
                } else {
                    let l = try TransportStreamListener.open(index: index, spec: spec, address: address, backlog: 1024)
                    streams.append(l)
                    bound = l.address
                }
                var advertised = spec.advertiseHost ?? bound.hostString
                if advertised.contains(":"), !advertised.hasPrefix("[") { advertised = "[\(advertised)]" }
                infos.append(ListenerInfo(index: index, proto: spec.proto, address: bound, spec: spec,
                                          advertisedHost: advertised,
                                          advertisedPort: spec.advertisePort ?? bound.port,
                                          receiveBufferSize: rcvbuf))
            }
        } catch {
            closeAll()
            throw error
        }
        let table = TransportConnectionTable(limit: options.tcpMaxConnections)
        var loop: TransportTCPLoop?
        var pool: TransportWorkerPool<TransportStreamJob>?
        if !streams.isEmpty {
            do {
                let l = try TransportTCPLoop(listeners: streams, table: table, options: options, stats: stats)
                loop = l
                pool = TransportWorkerPool<TransportStreamJob>(
                    capacity: options.tcpQueueCapacity,
                    run: { job, worker in handler.handleMessage(job.bytes, info: job.info, worker: worker) },
                    onSpace: { [weak l] in l?.wake() })
            } catch {
                closeAll()
                throw .cannotStartThread("tcp main (\(error.text))")
            }
        }
        return TransportRuntime(infos: infos, udp: udp, streamListeners: streams, table: table, loop: loop, pool: pool)
    }

    /// Starts the UDP receivers, the stream workers and the I/O thread.
    func startThreads(handler: any MessageHandler, options: TransportOptions,
                      stats: TransportStatistics, identities: TransportThreadIdentities) throws(TransportError) {
        var worker = 0
        for l in udp {
            for _ in 0..<max(1, options.children) {
                let index = worker
                let log = options.log
                guard let t = TransportThread.spawn(name: "udp-\(l.index)-\(index)", {
                    identities.recordCurrentThread(worker: index)
                    l.receiveLoop(worker: index, handler: handler, stats: stats, log: log)
                }) else { throw .cannotStartThread("udp receiver \(index)") }
                udpThreads.withLock { $0.append(t) }
                worker += 1
            }
        }
        guard let loop, let pool else { return }
        loop.attach(pool: pool)
        guard pool.start(count: options.effectiveTCPChildren, firstWorkerIndex: worker,
                         onThreadStart: { identities.recordCurrentThread(worker: $0) }) else {
            throw .cannotStartThread("tcp worker")
        }
        guard let t = TransportThread.spawn(name: "tcp-main", { loop.run() }) else {
            throw .cannotStartThread("tcp main")
        }
        loopThread.withLock { $0 = t }
    }

    /// Stops in an order that keeps stop() prompt: the I/O thread first (it shuts every
    /// connection down, waking writers blocked on them), then the UDP receivers, then the
    /// stream workers; connections workers opened meanwhile are closed last.
    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        loop?.requestStop()
        if let t = loopThread.withLock({ $0 }) { t.join() } else { for s in streamListeners { TransportSocket.close(s.fd) } }
        for l in udp { l.shutdownForStop() }
        for t in udpThreads.withLock({ $0 }) { t.join() }
        for l in udp { l.close() }
        pool?.stop()
        loop?.closeStragglers()
    }

    /// The UDP listener to send from: `preferred` when it is UDP and of the right family,
    /// else the first of the family.
    func udpListener(preferred: Int, family isIPv6: Bool) -> TransportUDPListener? {
        // by index: `first(where:)` retains and releases every listener it passes (per send)
        if preferred >= 0, let i = udp.indices.first(where: { udp[$0].index == preferred }),
           udp[i].address.isIPv6 == isIPv6 { return udp[i] }
        return udp.indices.first { udp[$0].address.isIPv6 == isIPv6 }.map { udp[$0] }
    }

    /// Opens an outbound stream connection for `dest` and hands it to the I/O thread.
    func connect(to dest: Destination, options: TransportOptions, stats: TransportStatistics) -> TransportConnection? {
        let family = dest.address.isIPv6
        let candidates = streamListeners.filter { $0.proto == dest.proto && $0.address.isIPv6 == family }
        guard let loop, let l = candidates.first(where: { $0.index == dest.listenerIndex }) ?? candidates.first else {
            options.log(.error, "cannot connect to \(dest.proto.name):\(dest.address): no \(dest.proto.name) listener of that address family")
            return nil
        }
        guard table.count < table.limit else {
            TransportStatistics.bump(stats.tcpConnectionsRefused)
            options.log(.warning, "cannot connect to \(dest.address): \(table.limit) connections open (tcp_max_connections)")
            return nil
        }
        let wildcard = l.address.ipString == "0.0.0.0" || l.address.ipString == "::"
        let timeout = Int32(clamping: TransportClock.nanos(seconds: options.tcpConnectTimeout) / 1_000_000)
        let fd: Int32
        switch TransportSocket.connect(to: dest.address, from: wildcard ? nil : l.address, timeoutMillis: max(1, timeout)) {
        case .success(let s): fd = s
        case .failure(let e):
            TransportStatistics.bump(stats.tcpConnectFailures)
            options.log(.error, "cannot connect to \(dest.proto.name):\(dest.address): \(e.text)")
            return nil
        }
        guard let stream = options.makeStream(fd: fd, proto: dest.proto, isOutbound: true) else {
            TransportSocket.close(fd)
            return nil
        }
        let c = TransportConnection(id: table.allocateID(), proto: dest.proto, peer: dest.address,
                                    local: TransportSocket.localAddress(fd) ?? l.address,
                                    listenerIndex: l.index, isOutbound: true, stream: stream)
        guard !isStopped, table.insert(c) else {
            stream.close()
            return nil
        }
        TransportStatistics.bump(stats.tcpConnectionsTotal)
        stats.tcpConnectionsCurrent.wrappingAdd(1, ordering: .relaxed)
        options.log(.debug, "tcp connection \(c.id) opened to \(dest.address) from \(c.local)")
        loop.register(c)
        return c
    }
}
