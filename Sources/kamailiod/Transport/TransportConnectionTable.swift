#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Result of one non-blocking read or write on a stream.
public enum StreamIOResult: Sendable, Equatable {
    /// This many bytes were moved (always > 0).
    case transferred(Int)
    /// The socket has no data / no buffer space now; wait for readiness.
    case wouldBlock
    /// The peer closed the stream (read returned 0).
    case closed
    /// The stream failed with this errno.
    case failed(Int32)
}

/// The byte pipe under a SIP stream connection. Plain TCP moves bytes straight through;
/// a TLS sibling implements the same hooks on top of its record layer (its handshake
/// running inside `read`/`write`), and the reader, framer and table stay the same.
public protocol StreamConnection: Sendable {
    /// The socket, for epoll registration and readiness waits.
    var fd: Int32 { get }
    /// Reads available bytes into `buffer` without blocking (I/O thread only).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIOResult
    /// Writes some of `bytes` without blocking (callers hold the connection's write lock).
    func write(_ bytes: UnsafeRawBufferPointer) -> StreamIOResult
    /// Shuts the socket down both ways, waking any thread blocked on it; fd stays valid.
    func shutdown()
    /// Releases the socket. Called once, by the I/O thread, under the write lock.
    func close()
    /// Monotonic nanoseconds when a handshake began that has not finished; 0 for none.
    var handshakePendingSince: UInt64 { get }
    /// Idle seconds before the connection is closed, overriding `tcp_connection_lifetime`.
    var idleLifetime: Double? { get }
}

extension StreamConnection {
    /// Plain streams have no handshake.
    public var handshakePendingSince: UInt64 { 0 }
    /// Plain streams use `tcp_connection_lifetime`.
    public var idleLifetime: Double? { nil }
}

/// Makes the byte pipe for a connected, non-blocking socket of one stream transport
/// (`isOutbound`: we connected, so a TLS pipe plays the client). Nil refuses the socket;
/// the caller then closes it.
public typealias StreamConnectionFactory = @Sendable (_ fd: Int32, _ isOutbound: Bool) -> (any StreamConnection)?

/// Plain TCP: `recv`/`send` on a non-blocking socket.
struct PlainStreamConnection: StreamConnection {
    /// The connected socket.
    let fd: Int32

    /// One `recv`; EINTR retried.

    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIOResult {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .transferred(n) }
            if n == 0 { return .closed }
            let e = errno
            if e == EINTR { continue }
            return e == EAGAIN || e == EWOULDBLOCK ? .wouldBlock : .failed(e)
        }
    }

    /// One non-blocking `send`; EINTR retried.
    func write(_ bytes: UnsafeRawBufferPointer) -> StreamIOResult {
        while true {
            // MSG_NOSIGNAL: a peer that went away must give EPIPE, not kill the daemon.
            let n = send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if n >= 0 { return .transferred(n) }
            let e = errno
            if e == EINTR { continue }
            return e == EAGAIN || e == EWOULDBLOCK ? .wouldBlock : .failed(e)
        }
    }

    /// `shutdown(SHUT_RDWR)`: readers see EOF, writers EPIPE.
    func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Releases the descriptor.
    func close() { TransportSocket.close(fd) }
}

/// One open stream connection, inbound (accepted) or outbound (we connected).
///
/// Reads and the final close happen only on the TCP I/O thread; workers write under
/// `writeLock`. The descriptor is closed only under that lock after `isClosed` is set,
/// so a writer can never hit a descriptor number the kernel has already reused.
public final class TransportConnection: Sendable {
    /// Monotonic id, never reused while the daemon runs (`ReceiveInfo.connectionID`).
    public let id: UInt64
    /// Transport (tcp now; tls, ws later).
    public let proto: TransportProto
    /// The peer's address.
    public let peer: SocketAddress
    /// Our side of the connection.
    public let local: SocketAddress
    /// The listener it belongs to: the accepting one, or for outbound connections the
    /// listener of the same transport and family it was opened for.
    public let listenerIndex: Int
    /// True when we opened it.
    public let isOutbound: Bool
    /// The byte pipe.
    let stream: any StreamConnection
    /// Last read or write, monotonic nanoseconds; drives the idle timeout.
    let lastActivity: Atomic<UInt64>
    /// Set once; after it no write touches the descriptor.
    let closedFlag = Atomic<Bool>(false)
    /// Serializes writers so messages never interleave on the stream.
    let writeLock = Mutex<Void>(())

    /// A connection whose last activity is now.
    init(id: UInt64, proto: TransportProto, peer: SocketAddress, local: SocketAddress,
         listenerIndex: Int, isOutbound: Bool, stream: any StreamConnection) {
        self.id = id
        self.proto = proto
        self.peer = peer
        self.local = local
        self.listenerIndex = listenerIndex
        self.isOutbound = isOutbound
        self.stream = stream
        self.lastActivity = Atomic(TransportClock.nowNanos())
    }

    /// True once the connection was closed or marked broken.
    public var isClosed: Bool { closedFlag.load(ordering: .acquiring) }

    /// Seconds since the last read or write, for RPC listings (`core.tcp_list`).
    public var idleSeconds: Double {
        let now = TransportClock.nowNanos()
        let last = lastActivity.load(ordering: .relaxed)
        return now > last ? Double(now - last) / 1e9 : 0
    }

    /// Records traffic for the idle timer.
    func touch() { lastActivity.store(TransportClock.nowNanos(), ordering: .relaxed) }

    /// Writes all of `bytes`, waiting for buffer space until `deadline`. On a timeout or
    /// error the connection is marked broken and shut down (the I/O thread then closes
    /// it), as Kamailio does after `tcp_send_timeout`: a half-written message has
    /// desynchronized the stream anyway.
    func writeAll(_ bytes: UnsafeRawBufferPointer, deadline: UInt64) -> Result<Void, TransportErrno> {
        writeLock.withLock { _ -> Result<Void, TransportErrno> in
            var offset = 0
            while offset < bytes.count {
                if closedFlag.load(ordering: .acquiring) { return .failure(TransportErrno(EPIPE)) }
                let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
                switch stream.write(rest) {
                case .transferred(let n):
                    offset += n
                case .wouldBlock:
                    if !TransportSocket.waitWritable(stream.fd, deadline: deadline) {
                        markBroken()
                        return .failure(TransportErrno(ETIMEDOUT))
                    }
                case .closed:
                    markBroken()
                    return .failure(TransportErrno(EPIPE))
                case .failed(let e):
                    markBroken()
                    return .failure(TransportErrno(e))
                }
            }
            touch()
            return .success(())
        }
    }

    /// Writes what fits now and gives up otherwise; for the keep-alive pong from the
    /// I/O thread, which must never block.
    func tryWrite(_ bytes: [UInt8]) {
        _ = writeLock.withLockIfAvailable { _ in
            guard !closedFlag.load(ordering: .acquiring) else { return }
            _ = bytes.withUnsafeBytes { stream.write($0) }
        }
    }

    /// Marks the connection unusable and wakes its reader; the I/O thread closes it.
    func markBroken() {
        closedFlag.store(true, ordering: .releasing)
        stream.shutdown()
    }

    /// Final close (I/O thread only): no writer is inside once the lock is held.
    func closeNow() {
        closedFlag.store(true, ordering: .releasing)
        stream.shutdown()
        writeLock.withLock { _ in stream.close() }
    }
}

/// All open stream connections, by id and by peer address, for `send` to find one.
/// One mutex, held for dictionary operations only; I/O happens outside it.
final class TransportConnectionTable: Sendable {
    private struct State {
        var byID: [UInt64: TransportConnection] = [:]
        var byPeer: [PeerKey: [UInt64]] = [:]
        /// Extra addresses a connection answers for (RFC 5923 / `force_tcp_alias`).
        var aliases: [UInt64: [PeerKey]] = [:]
        var nextID: UInt64 = 1
    }

    /// Connections are looked up by transport and peer address.
    private struct PeerKey: Hashable {
        var proto: TransportProto
        var address: SocketAddress
    }

    private let state = Mutex(State())
    /// Most connections allowed at once.
    let limit: Int

    /// An empty table admitting at most `limit` connections.
    init(limit: Int) { self.limit = max(1, limit) }

    /// A fresh connection id (monotonic, starts at 1; 0 means "no connection").
    func allocateID() -> UInt64 {
        state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
    }

    /// Adds a connection unless the table is full; returns false when refused.
    func insert(_ c: TransportConnection) -> Bool {
        state.withLock { s in
            guard s.byID.count < limit else { return false }
            s.byID[c.id] = c
            s.byPeer[PeerKey(proto: c.proto, address: c.peer), default: []].append(c.id)
            return true
        }
    }

    /// Removes a connection; returns it when it was present.
    @discardableResult
    func remove(id: UInt64) -> TransportConnection? {
        state.withLock { s in
            guard let c = s.byID.removeValue(forKey: id) else { return nil }
            for key in [PeerKey(proto: c.proto, address: c.peer)] + (s.aliases.removeValue(forKey: id) ?? []) {
                s.byPeer[key]?.removeAll { $0 == id }
                if s.byPeer[key]?.isEmpty == true { s.byPeer[key] = nil }
            }
            return c
        }
    }

    /// Lets connection `id` carry messages for `address` too (the peer listens there but
    /// reuses this connection, RFC 5923). False when the connection is gone.
    @discardableResult
    func addAlias(id: UInt64, address: SocketAddress) -> Bool {
        state.withLock { s in
            guard let c = s.byID[id] else { return false }
            let key = PeerKey(proto: c.proto, address: address)
            if key.address == c.peer || s.aliases[id]?.contains(key) == true { return true }
            s.aliases[id, default: []].append(key)
            s.byPeer[key, default: []].append(id)
            return true
        }
    }

    /// The open connection with this id.
    func connection(id: UInt64) -> TransportConnection? {
        state.withLock { s in s.byID[id] }.flatMap { $0.isClosed ? nil : $0 }
    }

    /// The most recently opened live connection to `address` over `proto`.
    func connection(to address: SocketAddress, proto: TransportProto) -> TransportConnection? {
        state.withLock { s in
            guard let ids = s.byPeer[PeerKey(proto: proto, address: address)] else { return nil }
            for id in ids.reversed() {
                if let c = s.byID[id], !c.isClosed { return c }
            }
            return nil
        }
    }

    /// Number of connections in the table.
    var count: Int { state.withLock { $0.byID.count } }

    /// A copy of all connections, for the sweeper and for RPC dumps.
    func all() -> [TransportConnection] { state.withLock { Array($0.byID.values) } }
}
