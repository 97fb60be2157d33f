#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// One bound UDP socket and its receiver threads.
///
/// As in Kamailio, `children` threads block in `recvfrom` on the same socket (the kernel
/// hands each datagram to one of them) and each runs the handler to completion before
/// reading again; there is no queue in between, so a slow script shows up as kernel
/// receive-buffer drops, which `maxbuffer` sizes.
final class TransportUDPListener: Sendable {
    /// Position in the manager's listener list.
    let index: Int
    /// The socket; blocking, owned by this listener until `close()`.
    let fd: Int32
    /// The bound address (with the kernel-chosen port when the spec said 0).
    let address: SocketAddress
    /// SO_RCVBUF granted by the `maxbuffer` probe.
    let receiveBufferSize: Int
    private let stopping = Atomic<Bool>(false)

    /// Largest datagram a receiver accepts: the IPv4/IPv6 UDP payload limit plus slack, so
    /// nothing legal is ever truncated.
    static let receiveBufferBytes = 65536

    private init(index: Int, fd: Int32, address: SocketAddress, receiveBufferSize: Int) {
        self.index = index
        self.fd = fd
        self.address = address
        self.receiveBufferSize = receiveBufferSize
    }

    /// Creates and binds the socket for `spec` at `address` and probes its receive buffer.
    static func open(index: Int, spec: ListenSpec, address: SocketAddress,
                     maxReceiveBuffer: Int) throws(TransportError) -> TransportUDPListener {
        // No SO_REUSEADDR on UDP: on Linux it would let a second daemon bind the same
        // port silently and steal half the traffic, instead of failing at start.
        var rcvbuf = 0
        let (fd, bound) = try TransportSocket.openBound(spec: spec, address: address, type: SOCK_DGRAM,
                                                        nonBlocking: false, backlog: nil) { fd in
            rcvbuf = TransportSocket.probeReceiveBuffer(fd, maximum: maxReceiveBuffer)
        }
        return TransportUDPListener(index: index, fd: fd, address: bound, receiveBufferSize: rcvbuf)
    }

    /// The receiver loop of one worker thread; returns after `shutdownForStop()`.
    func receiveLoop(worker: Int, handler: any MessageHandler, stats: TransportStatistics,
                     log: @Sendable (TransportLogLevel, String) -> Void) {
        // The buffer is this thread's for its whole life: no allocation per datagram
        // except the exact-size copy handed to the handler.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.receiveBufferBytes, alignment: 16)
        defer { buffer.deallocate() }
        var source = sockaddr_storage()
        while true {
            var sourceLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &source) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &sourceLength)
                }
            }
            if n > 0 {
                TransportStatistics.bump(stats.udpReceivedDatagrams)
                TransportStatistics.bump(stats.udpReceivedBytes, by: UInt64(n))
                let bytes = [UInt8](unsafeUninitializedCapacity: n) { dst, count in
                    UnsafeMutableRawBufferPointer(dst).copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    count = n
                }
                let info = ReceiveInfo(proto: .udp, source: SocketAddress(storage: source, length: sourceLength),
                                       local: address, listenerIndex: index)
                handler.handleMessage(bytes, info: info, worker: worker)
                // After shutdown() the kernel still hands out queued datagrams; with a 4 MB
                // buffer that could be thousands of messages, so stop() drops them instead.
                if stopping.load(ordering: .relaxed) { return }
                continue
            }
            // n == 0 is an empty datagram (ignored) or, after shutdown(), the stop signal.
            if stopping.load(ordering: .acquiring) { return }
            if n < 0 {
                let e = errno
                if e == EINTR || e == EAGAIN { continue }
                log(.error, "udp recvfrom on \(address) failed: \(TransportSocket.errorText(e))")
                // Avoid a hot loop on a persistent error; such errors are not expected.
                usleep(10_000)
            }
        }
    }

    /// Sends one datagram from this socket; returns 0 or errno.
    func send(_ bytes: [UInt8], to destination: SocketAddress) -> Int32 {
        bytes.withUnsafeBytes { p in
            withUnsafePointer(to: destination.storage) { sp in
                sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                    while true {
                        if sendto(fd, p.baseAddress, p.count, 0, sa, destination.length) >= 0 { return 0 }
                        let e = errno
                        if e != EINTR { return e }
                    }
                }
            }
        }
    }

    /// Wakes every receiver: Linux ends a blocked `recvfrom` with 0 once the socket is shut
    /// down, even an unconnected UDP one (the call itself reports ENOTCONN).
    func shutdownForStop() {
        stopping.store(true, ordering: .releasing)
        _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
    }

    /// Releases the socket; only after all receivers were joined.
    func close() { TransportSocket.close(fd) }
}
