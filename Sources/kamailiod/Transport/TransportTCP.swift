#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// A framed stream message on its way to a worker.
struct TransportStreamJob: Sendable {
    /// The framed message.
    var bytes: [UInt8]
    /// Where it came from (connection id included).
    var info: ReceiveInfo
}

/// A bound, listening stream socket.
struct TransportStreamListener: Sendable {
    /// Position in the manager's listener list.
    var index: Int
    /// Stream transport of the listener (tcp; tls once a factory is registered).
    var proto: TransportProto
    /// Non-blocking listening socket.
    var fd: Int32
    /// Bound address (kernel-chosen port filled in).
    var address: SocketAddress

    /// Opens a listening TCP socket for `spec` at `address`.
    static func open(index: Int, spec: ListenSpec, address: SocketAddress,
                     backlog: Int32) throws(TransportError) -> TransportStreamListener {
        // SO_REUSEADDR: a restart must not wait out TIME_WAIT of the old daemon's connections.
        let (fd, bound) = try TransportSocket.openBound(spec: spec, address: address, type: SOCK_STREAM,
                                                        nonBlocking: true, backlog: backlog) { fd in
            TransportSocket.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        }
        return TransportStreamListener(index: index, proto: spec.proto, fd: fd, address: bound)
    }
}

/// Per-connection read state, touched only by the I/O thread.
private final class TransportStreamReader {
    let connection: TransportConnection
    var framer: TransportStreamFramer
    /// A framed message the worker queue refused; reading is paused until it is taken.
    var blocked: TransportStreamJob?
    /// When the buffered partial message started (0: none), for the incomplete timer.
    var partialSince: UInt64 = 0
    var inEpoll = false

    init(connection: TransportConnection, framer: TransportStreamFramer) {
        self.connection = connection
        self.framer = framer
    }
}

/// The stream I/O thread: one epoll set with the listening sockets, every connection and a
/// wake-up pipe. It accepts, reads, frames and hands complete messages to the worker
/// pool; it closes idle and stalled connections; it is the only place that closes one.
final class TransportTCPLoop: @unchecked Sendable {
    // @unchecked: `readers`, `paused`, `disabledListeners`, `lastRefusalLog` and `pool` are
    // confined to the I/O thread (`run`); other threads touch only the Mutex/Atomic fields
    // and immutable ones.
    private var readers: [UInt64: TransportStreamReader] = [:]
    private var paused: [UInt64] = []
    private var disabledListeners: [TransportStreamListener] = []
    private var lastRefusalLog: UInt64 = 0

    private let epoll: TransportEpoll
    private let epfd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let wakePending = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let inbox = Mutex<[TransportConnection]>([])

    /// The listening sockets; closed when `run` returns.
    let listeners: [TransportStreamListener]
    /// Shared with the manager's senders.
    let table: TransportConnectionTable
    private let options: TransportOptions
    private let stats: TransportStatistics
    /// Set by `attach` before the I/O thread starts (pthread_create orders the write
    /// before the thread's reads); read only on the I/O thread afterwards.
    private var pool: TransportWorkerPool<TransportStreamJob>?

    private static let wakeTag: UInt64 = 0
    private static let listenerTag: UInt64 = 1 << 63
    private static let pong: [UInt8] = [13, 10]

    /// Creates the epoll set and registers the listeners; throws errno on failure.
    init(listeners: [TransportStreamListener], table: TransportConnectionTable,
         options: TransportOptions, stats: TransportStatistics) throws(TransportErrno) {
        self.listeners = listeners
        self.table = table
        self.options = options
        self.stats = stats
        guard let epoll = TransportEpoll() else { throw TransportErrno(ENOSYS) }
        self.epoll = epoll
        epfd = epoll.create()
        guard epfd >= 0 else { throw TransportErrno(errno) }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            let e = errno
            TransportSocket.close(epfd)
            throw TransportErrno(e)
        }
        for fd in fds {
            TransportSocket.setNonBlocking(fd, true)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        _ = epoll.control(epfd, .add, fd: wakeRead, tag: Self.wakeTag)
        for l in listeners { _ = epoll.control(epfd, .add, fd: l.fd, tag: Self.listenerTag | UInt64(l.index)) }
    }

    deinit {
        TransportSocket.close(wakeRead)
        TransportSocket.close(wakeWrite)
        TransportSocket.close(epfd)
    }

    /// Hands the loop its worker pool; call before starting the thread.
    func attach(pool: TransportWorkerPool<TransportStreamJob>) {
        self.pool = pool
    }

    /// Wakes the loop (from any thread); coalesced, at most one byte in the pipe.
    func wake() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var b: UInt8 = 1
            _ = Glibc.write(wakeWrite, &b, 1)
        }
    }

    /// Asks the loop to finish; `run` returns within one epoll round.
    func requestStop() {
        stopping.store(true, ordering: .releasing)
        wake()
    }

    /// Adds a connection a worker opened, so replies and requests coming back on it are read.
    func register(_ connection: TransportConnection) {
        inbox.withLock { $0.append(connection) }
        wake()
    }

    // MARK: - The I/O thread

    /// The I/O thread's body. On return all connections and listeners are closed.
    func run() {
        let eventCapacity = 128
        let events = UnsafeMutableRawPointer.allocate(byteCount: eventCapacity * TransportEpoll.eventSize, alignment: 8)
        defer { events.deallocate() }
        let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { readBuffer.deallocate() }
        let sweepEvery = sweepInterval()
        var nextSweep = TransportClock.nowNanos() + sweepEvery
        while !stopping.load(ordering: .acquiring) {
            let n = epoll.wait(epfd, into: events, capacity: eventCapacity,
                               timeoutMillis: TransportClock.millisUntil(nextSweep))
            if n < 0 && errno != EINTR {
                options.log(.error, "tcp epoll_wait failed: \(TransportSocket.errorText(errno))")
                usleep(10_000)
            }
            for i in 0..<max(0, Int(n)) {
                let (bits, tag) = TransportEpoll.event(events, i)
                if tag == Self.wakeTag {
                    drainWakePipe()
                    registerInbox()
                    resumePaused()
                } else if tag & Self.listenerTag != 0 {
                    acceptAll(listenerIndex: Int(tag & ~Self.listenerTag))
                } else if let r = readers[tag] {
                    readable(r, events: bits, buffer: readBuffer)
                }
            }
            let now = TransportClock.nowNanos()
            if now >= nextSweep {
                sweep(now: now)
                nextSweep = now + sweepEvery
            }
        }
        shutdownAll()
    }

    /// Idle checks run a few times per timeout so a connection outlives its limit by at
    /// most a quarter of it (clamped to 10 ms ... 1 s).
    private func sweepInterval() -> UInt64 {
        let shortest = min(options.tcpConnectionLifetime, options.incompleteMessageTimeout)
        return TransportClock.nanos(seconds: min(1, max(0.01, shortest / 4)))
    }

    private func drainWakePipe() {
        wakePending.store(false, ordering: .releasing)
        var sink = [UInt8](repeating: 0, count: 64)
        while Glibc.read(wakeRead, &sink, sink.count) > 0 {}
    }

    private func registerInbox() {
        let fresh = inbox.withLock { list -> [TransportConnection] in
            defer { list.removeAll() }
            return list
        }
        for c in fresh { adopt(c) }
    }

    /// Starts reading a connection (accepted here or opened by a worker).
    private func adopt(_ c: TransportConnection) {
        let r = TransportStreamReader(connection: c, framer: TransportStreamFramer(
            maxMessageSize: options.maxMessageSize, maxHeaderBytes: options.maxHeaderBytes))
        readers[c.id] = r
        r.inEpoll = epoll.control(epfd, .add, fd: c.stream.fd, tag: c.id)
        if !r.inEpoll { close(r, reason: "epoll registration failed", level: .error) }
    }

    private func acceptAll(listenerIndex: Int) {
        guard let l = listeners.first(where: { $0.index == listenerIndex }) else { return }
        while true {
            var ss = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &ss) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    // accept4 is hidden behind _GNU_SOURCE in Swift's Glibc; two fcntls do.
                    accept(l.fd, $0, &len)
                }
            }
            if fd < 0 {
                let e = errno
                if e == EINTR || e == ECONNABORTED { continue }
                if e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM {
                    // The listener stays readable; park it until the next sweep instead of
                    // spinning on the same error.
                    options.log(.error, "tcp accept on \(l.address) failed: \(TransportSocket.errorText(e))")
                    _ = epoll.control(epfd, .delete, fd: l.fd, tag: 0)
                    disabledListeners.append(l)
                }
                return
            }
            TransportSocket.setNonBlocking(fd, true)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let peer = SocketAddress(storage: ss, length: len)
            if table.count >= table.limit {
                TransportStatistics.bump(stats.tcpConnectionsRefused)
                TransportSocket.close(fd)
                let now = TransportClock.nowNanos()
                if now - lastRefusalLog > 1_000_000_000 {
                    lastRefusalLog = now
                    options.log(.warning, "tcp connection from \(peer) refused: \(table.limit) connections open (tcp_max_connections)")
                }
                continue
            }
            // SIP writes whole messages; Nagle would hold a 200 OK sent right after a
            // 100 Trying until the peer's delayed ACK (up to 40 ms).
            TransportSocket.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            guard let stream = options.makeStream(fd: fd, proto: l.proto, isOutbound: false) else {
                TransportSocket.close(fd)
                continue
            }
            let c = TransportConnection(id: table.allocateID(), proto: l.proto, peer: peer,
                                        local: TransportSocket.localAddress(fd) ?? l.address,
                                        listenerIndex: l.index, isOutbound: false, stream: stream)
            guard table.insert(c) else { stream.close(); continue }
            TransportStatistics.bump(stats.tcpConnectionsTotal)
            stats.tcpConnectionsCurrent.wrappingAdd(1, ordering: .relaxed)
            options.log(.debug, "tcp connection \(c.id) accepted from \(peer) on \(l.address)")
            adopt(c)
        }
    }

    private func readable(_ r: TransportStreamReader, events: UInt32, buffer: UnsafeMutableRawBufferPointer) {
        switch r.connection.stream.read(into: buffer) {
        case .transferred(let n):
            r.connection.touch()
            TransportStatistics.bump(stats.tcpReceivedBytes, by: UInt64(n))
            r.framer.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            drain(r)
            // A full buffer may leave bytes a TLS layer already took off the socket, which
            // epoll would not report again: read on while the buffer fills.
            if n == buffer.count, readers[r.connection.id] != nil, r.blocked == nil {
                readable(r, events: 0, buffer: buffer)
            }
        case .wouldBlock:
            if events & (TransportEpoll.error | TransportEpoll.hangUp) != 0 { close(r, reason: "socket error", level: .debug) }
        case .closed:
            closeAfterRead(r, reason: "closed by peer")
        case .failed(let e):
            closeAfterRead(r, reason: "read failed: \(TransportSocket.errorText(e))")
        }
    }

    /// A peer that goes away with half a message sent is worth a warning; otherwise the
    /// end of a connection is routine.
    private func closeAfterRead(_ r: TransportStreamReader, reason: String) {
        if r.framer.hasPartialMessage {
            close(r, reason: "\(reason) in the middle of a message", level: .warning)
        } else {
            close(r, reason: reason, level: .debug)
        }
    }

    /// Frames everything buffered; pauses the connection when the queue is full.
    private func drain(_ r: TransportStreamReader) {
        while r.blocked == nil {
            let output: TransportStreamFramer.Output
            do {
                output = try r.framer.next()
            } catch {
                TransportStatistics.bump(stats.framingErrors)
                close(r, reason: "framing error (\(error))", level: .warning)
                return
            }
            switch output {
            case .message(let bytes):
                // The stall timer measures progress: a completed message restarts it, so a
                // busy stream whose reads always end mid-message is never cut.
                r.partialSince = 0
                let c = r.connection
                let job = TransportStreamJob(bytes: bytes, info: ReceiveInfo(
                    proto: c.proto, source: c.peer, local: c.local,
                    listenerIndex: c.listenerIndex, connectionID: c.id))
                TransportStatistics.bump(stats.tcpReceivedMessages)
                if pool?.submit(job, lane: c.id) != true {
                    r.blocked = job
                    pause(r)
                }
            case .keepAlivePing:
                TransportStatistics.bump(stats.keepAlivePongs)
                r.connection.tryWrite(Self.pong)
            case .needMoreData:
                if !r.framer.hasPartialMessage {
                    r.partialSince = 0
                } else if r.partialSince == 0 {
                    r.partialSince = TransportClock.nowNanos()
                }
                return
            }
        }
    }

    /// Stops reading from a connection until the pool has room (back-pressure: the peer's
    /// TCP window fills instead of our memory).
    private func pause(_ r: TransportStreamReader) {
        if r.inEpoll {
            _ = epoll.control(epfd, .delete, fd: r.connection.stream.fd, tag: 0)
            r.inEpoll = false
        }
        paused.append(r.connection.id)
    }

    private func resumePaused() {
        guard !paused.isEmpty else { return }
        let ids = paused
        paused = []
        for id in ids {
            guard let r = readers[id] else { continue }
            if let job = r.blocked {
                guard pool?.submit(job, lane: id) == true else { paused.append(id); continue }
                r.blocked = nil
            }
            drain(r)
            guard readers[id] != nil, r.blocked == nil else { continue }
            r.inEpoll = epoll.control(epfd, .add, fd: r.connection.stream.fd, tag: id)
        }
    }

    /// Closes idle connections, stalled partial messages and connections writers broke.
    private func sweep(now: UInt64) {
        for l in disabledListeners { _ = epoll.control(epfd, .add, fd: l.fd, tag: Self.listenerTag | UInt64(l.index)) }
        disabledListeners.removeAll()
        let lifetime = TransportClock.nanos(seconds: options.tcpConnectionLifetime)
        let incomplete = TransportClock.nanos(seconds: options.incompleteMessageTimeout)
        for r in Array(readers.values) {
            let c = r.connection
            if c.isClosed {
                close(r, reason: "send failed", level: .debug)
            } else if r.blocked != nil {
                continue // waiting for us, not for the peer
            } else if r.partialSince != 0, now &- r.partialSince > incomplete {
                TransportStatistics.bump(stats.framingErrors)
                close(r, reason: "incomplete message for \(options.incompleteMessageTimeout) s", level: .warning)
            } else if case let hs = c.stream.handshakePendingSince, hs != 0, now &- hs > min(incomplete, idleLimit(c, lifetime)) {
                TransportStatistics.bump(stats.framingErrors)
                let waited = Double((now &- hs) / 100_000_000) / 10
                close(r, reason: "\(c.proto.name) handshake not finished after \(waited) s", level: .warning)
            } else if case let last = c.lastActivity.load(ordering: .relaxed), now > last, now - last > idleLimit(c, lifetime) {
                // `last` may be newer than `now` when a worker wrote meanwhile: not idle.
                TransportStatistics.bump(stats.tcpIdleClosed)
                close(r, reason: "idle for \(c.stream.idleLifetime ?? options.tcpConnectionLifetime) s", level: .debug)
            }
        }
    }

    /// Idle nanoseconds allowed on `c`: its stream's own lifetime (TLS `connection_timeout`)
    /// or `tcp_connection_lifetime`.
    private func idleLimit(_ c: TransportConnection, _ lifetime: UInt64) -> UInt64 {
        c.stream.idleLifetime.map { TransportClock.nanos(seconds: $0) } ?? lifetime
    }

    private func close(_ r: TransportStreamReader, reason: String, level: TransportLogLevel) {
        let c = r.connection
        if r.inEpoll { _ = epoll.control(epfd, .delete, fd: c.stream.fd, tag: 0) }
        r.inEpoll = false
        readers[c.id] = nil
        if table.remove(id: c.id) != nil { stats.tcpConnectionsCurrent.wrappingSubtract(1, ordering: .relaxed) }
        c.closeNow()
        options.log(level, "tcp connection \(c.id) with \(c.peer) closed: \(reason)")
    }

    /// Closes listeners and every connection (those still in the inbox too).
    private func shutdownAll() {
        registerInbox()
        for r in Array(readers.values) { close(r, reason: "shutting down", level: .debug) }
        closeStragglers()
        for l in listeners { TransportSocket.close(l.fd) }
    }

    /// Closes connections that workers added after the loop stopped (called after they
    /// were joined, so nothing races the close).
    func closeStragglers() {
        let late = inbox.withLock { list -> [TransportConnection] in
            defer { list.removeAll() }
            return list
        }
        for c in late + table.all() {
            if table.remove(id: c.id) != nil { stats.tcpConnectionsCurrent.wrappingSubtract(1, ordering: .relaxed) }
            c.closeNow()
        }
    }
}
