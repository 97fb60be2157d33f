#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrappers around the POSIX socket calls the transports use. They return errno
/// values instead of throwing so the hot paths stay allocation-free; start-up code turns
/// them into `TransportError`s with the listen spec in the text.
enum TransportSocket {
    /// `strerror(errno)` as a Swift string, for log lines and error texts.
    static func errorText(_ code: Int32) -> String {
        guard let p = strerror(code) else { return "errno \(code)" }
        return String(cString: p)
    }

    /// Opens a close-on-exec socket; `type` is `SOCK_DGRAM` or `SOCK_STREAM`.
    static func open(family: Int32, type: __socket_type, nonBlocking: Bool) -> Result<Int32, TransportErrno> {
        var t = Int32(type.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        if nonBlocking { t |= Int32(SOCK_NONBLOCK.rawValue) }
        let fd = socket(family, t, 0)
        return fd >= 0 ? .success(fd) : .failure(TransportErrno(errno))
    }

    /// Opens a listener socket for `spec`: IPV6_V6ONLY on IPv6 (so a `[::]` listener never
    /// swallows IPv4 traffic meant for another socket), `configure` before bind, then bind,
    /// `listen` when a backlog is given, and the bound address read back (port 0 → real port).
    static func openBound(spec: ListenSpec, address: SocketAddress, type: __socket_type, nonBlocking: Bool,
                          backlog: Int32?, configure: (Int32) -> Void) throws(TransportError) -> (Int32, SocketAddress) {
        let family = Int32(address.storage.ss_family)
        let fd: Int32
        switch open(family: family, type: type, nonBlocking: nonBlocking) {
        case .success(let s): fd = s
        case .failure(let e): throw .cannotBind(spec, e.code)
        }
        if family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
        configure(fd)
        var e = bind(fd, to: address)
        if e == 0, let backlog, listen(fd, backlog) != 0 { e = errno }
        guard e == 0, let bound = localAddress(fd) else {
            let reason = e == 0 ? errno : e
            close(fd)
            throw .cannotBind(spec, reason)
        }
        return (fd, bound)
    }

    /// Sets an integer socket option; returns errno or 0.
    @discardableResult
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Int32 {
        var v = value
        return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0 ? 0 : errno
    }

    /// Reads an integer socket option (nil on error).
    static func getOption(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &v, &len) == 0 ? v : nil
    }

    /// Binds `fd` to `address`; returns errno or 0.
    static func bind(_ fd: Int32, to address: SocketAddress) -> Int32 {
        withUnsafePointer(to: address.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                Glibc.bind(fd, sa, address.length) == 0 ? 0 : errno
            }
        }
    }

    /// The local address of a bound socket (`getsockname`), used to learn kernel-chosen ports.
    static func localAddress(_ fd: Int32) -> SocketAddress? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &ss) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return rc == 0 ? SocketAddress(storage: ss, length: len) : nil
    }

    /// Switches `O_NONBLOCK` on or off.
    static func setNonBlocking(_ fd: Int32, _ on: Bool) {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0 else { return }
        _ = fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK)
    }

    /// Closes `fd`, ignoring EINTR (Linux always releases the descriptor).
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Kamailio's `maxbuffer` probe: asks for `maximum` bytes of SO_RCVBUF and, when the
    /// system refuses (BSDs answer ENOBUFS above their cap), halves the request until one
    /// is accepted. Linux silently caps at `net.core.rmem_max` (and reports double the
    /// granted value), so the returned figure is what getsockopt reports afterwards.
    static func probeReceiveBuffer(_ fd: Int32, maximum: Int) -> Int {
        let current = Int(getOption(fd, SOL_SOCKET, SO_RCVBUF) ?? 0)
        var request = min(maximum, Int(Int32.max))
        while request > current {
            if setOption(fd, SOL_SOCKET, SO_RCVBUF, Int32(request)) == 0 { break }
            request /= 2
        }
        return Int(getOption(fd, SOL_SOCKET, SO_RCVBUF) ?? Int32(current))
    }

    /// Non-blocking connect bounded by `timeoutMillis`. Returns the connected (still
    /// non-blocking) socket or errno (`ETIMEDOUT` when the timer ran out).
    static func connect(to address: SocketAddress, from source: SocketAddress?,
                        timeoutMillis: Int32) -> Result<Int32, TransportErrno> {
        let family = Int32(address.storage.ss_family)
        let fd: Int32
        switch open(family: family, type: SOCK_STREAM, nonBlocking: true) {
        case .success(let s): fd = s
        case .failure(let e): return .failure(e)
        }
        if family == AF_INET6 { setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 1) }
        if let source {
            // Kamailio sends from the listener's address so the peer sees the address
            // that Via/Record-Route advertise; port 0 lets the kernel pick the port.
            var s = source
            s.port = 0
            let e = bind(fd, to: s)
            if e != 0 { close(fd); return .failure(TransportErrno(e)) }
        }
        let rc = withUnsafePointer(to: address.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, address.length) }
        }
        if rc != 0 {
            let e = errno
            guard e == EINPROGRESS || e == EINTR else { close(fd); return .failure(TransportErrno(e)) }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var remaining = timeoutMillis
            let deadline = TransportClock.nowNanos() + UInt64(max(0, timeoutMillis)) * 1_000_000
            while true {
                let n = poll(&pfd, 1, remaining)
                if n > 0 { break }
                if n == 0 { close(fd); return .failure(TransportErrno(ETIMEDOUT)) }
                if errno != EINTR { let e2 = errno; close(fd); return .failure(TransportErrno(e2)) }
                remaining = TransportClock.millisUntil(deadline)
            }
            let soError = getOption(fd, SOL_SOCKET, SO_ERROR) ?? EIO
            if soError != 0 { close(fd); return .failure(TransportErrno(soError)) }
        }
        // Whole messages per write: Nagle only adds latency (see the accept path).
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        return .success(fd)
    }

    /// Waits until `fd` is writable or `deadline` (monotonic nanoseconds) passes.
    /// Returns false on timeout or when the socket reports an error/hang-up.
    static func waitWritable(_ fd: Int32, deadline: UInt64) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let remaining = TransportClock.millisUntil(deadline)
            if remaining <= 0 { return false }
            let n = poll(&pfd, 1, remaining)
            if n > 0 { return pfd.revents & Int16(POLLOUT) != 0 }
            if n == 0 { return false }
            if errno != EINTR { return false }
        }
    }
}

/// An errno value carried through `Result`.
struct TransportErrno: Error, Sendable {
    /// The errno code.
    let code: Int32
    /// Wraps an errno value.
    init(_ code: Int32) { self.code = code }
    /// `strerror` text.
    var text: String { TransportSocket.errorText(code) }
}

/// Monotonic time for idle and send timeouts; wall-clock jumps must not close connections.
enum TransportClock {
    /// CLOCK_MONOTONIC in nanoseconds.
    static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Milliseconds from now until `deadline`, rounded up, clamped to `0...Int32.max`.
    static func millisUntil(_ deadline: UInt64) -> Int32 {
        let now = nowNanos()
        guard deadline > now else { return 0 }
        return Int32(clamping: (deadline - now + 999_999) / 1_000_000)
    }

    /// Seconds as nanoseconds, for option values given as `Double` seconds.
    static func nanos(seconds: Double) -> UInt64 {
        seconds <= 0 ? 0 : UInt64(min(seconds, 1e9) * 1e9)
    }
}

/// A joinable pthread running a closure; Foundation's `Thread` cannot be joined, and
/// `stop()` must know all workers are gone before it closes their sockets.
struct TransportThread: Sendable {
    private let box: TransportThreadHandle

    /// Starts `body` on a new thread; `name` is kept for diagnostics (Glibc's
    /// `pthread_setname_np` is not visible to Swift without `_GNU_SOURCE`).
    static func spawn(name: String, _ body: @escaping @Sendable () -> Void) -> TransportThread? {
        let start = TransportThreadStart(name: name, body: body)
        var tid = pthread_t()
        let arg = Unmanaged.passRetained(start).toOpaque()
        let rc = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let start = Unmanaged<TransportThreadStart>.fromOpaque(raw).takeRetainedValue()
            start.body()
            return nil
        }, arg)
        guard rc == 0 else {
            Unmanaged<TransportThreadStart>.fromOpaque(arg).release()
            return nil
        }
        return TransportThread(box: TransportThreadHandle(tid: tid))
    }

    /// Waits for the thread to finish.
    func join() {
        _ = pthread_join(box.tid, nil)
    }
}

/// Holds the pthread id; immutable after creation.
private final class TransportThreadHandle: Sendable {
    let tid: pthread_t
    init(tid: pthread_t) { self.tid = tid }
}

/// What a new thread runs; passed through `pthread_create`'s context pointer.
private final class TransportThreadStart: Sendable {
    let name: String
    let body: @Sendable () -> Void
    init(name: String, body: @escaping @Sendable () -> Void) {
        self.name = name
        self.body = body
    }
}
