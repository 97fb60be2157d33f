#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin POSIX helpers shared by the RPC clients and the daemon's control servers.
///
/// Everything works on blocking descriptors and waits with `poll`, so every call has a
/// deadline and no client can hang forever on a silent server (jsonrpcs simply drops
/// requests it dislikes, spec §4.2).
public enum RPCSocketIO {
    /// `SOCK_STREAM`, spelled the same on every libc.
    public static var streamType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_STREAM.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    /// `SOCK_DGRAM`, spelled the same on every libc.
    public static var datagramType: Int32 {
        #if canImport(Glibc)
        Int32(SOCK_DGRAM.rawValue)
        #else
        SOCK_DGRAM
        #endif
    }

    /// Closes a descriptor (a free function, so classes with their own `close()` can call it).
    static func closeDescriptor(_ fd: Int32) {
        _ = close(fd)
    }

    /// `strerror` text for an errno.
    public static func errnoText(_ e: Int32) -> String {
        guard let p = strerror(e) else { return "errno \(e)" }
        return String(cString: p)
    }

    /// A `sockaddr_un` for `path`; nil when the path does not fit.
    public static func unixAddress(_ path: String) -> (sockaddr_un, socklen_t)? {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        return (addr, socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1))
    }

    /// Calls `body` with `addr` seen as a generic `sockaddr`.
    public static func withSockaddr<A, R>(_ addr: inout A, _ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }

    /// Opens a socket of `type` connected to a Unix path.
    static func connectUnix(path: String, type: Int32, bindAutomatically: Bool) throws(RPCClientError) -> Int32 {
        guard let (address, len) = unixAddress(path) else {
            throw .unsupportedAddress(type == streamType ? .unixStream(path: path) : .unixDatagram(path: path))
        }
        var addr = address
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw .system(call: "socket", errno: errno) }
        if bindAutomatically {
            // Linux autobind: a unique abstract name, so the server has an address to answer
            // to (an unbound datagram client gets no reply, spec §5) and there is no file
            // to clean up afterwards.
            var local = sockaddr_un()
            local.sun_family = sa_family_t(AF_UNIX)
            let r = withSockaddr(&local) { bind(fd, $0, socklen_t(MemoryLayout<sa_family_t>.size)) }
            guard r == 0 else {
                let e = errno
                close(fd)
                throw .system(call: "bind", errno: e)
            }
        }
        let r = withSockaddr(&addr) { connect(fd, $0, len) }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw .system(call: "connect \(path)", errno: e)
        }
        return fd
    }

    /// Opens a socket of `type` connected to `host:port` (first address that works); a TCP
    /// connect that has not completed by `deadline` counts as a timeout.
    static func connectInet(host: String, port: UInt16, type: Int32,
                            until deadline: ContinuousClock.Instant) throws(RPCClientError) -> Int32
    {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = type
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw .protocolError("cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(first) }
        var lastErrno: Int32 = 0
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype, ai.pointee.ai_protocol)
            if fd < 0 {
                lastErrno = errno
                continue
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 ? 0 : errno
            if result == EINPROGRESS {
                // Wait for the handshake within the deadline, then read its outcome.
                guard try waitWritable(fd, until: deadline) else {
                    close(fd)
                    throw .timeout
                }
                var soError: Int32 = 0
                var size = socklen_t(MemoryLayout<Int32>.size)
                result = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &size) == 0 ? soError : errno
            }
            if result == 0 {
                _ = fcntl(fd, F_SETFL, flags)
                return fd
            }
            lastErrno = result
            close(fd)
        }
        throw .system(call: "connect \(host):\(port)", errno: lastErrno)
    }

    /// Milliseconds left until `deadline`, for `poll` (0 when passed).
    static func millisecondsLeft(_ deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - ContinuousClock.now
        if left <= .zero { return 0 }
        let ms = left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1
        return Int32(clamping: ms)
    }

    /// Waits until `fd` is readable (or hung up); false on timeout.
    static func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant) throws(RPCClientError) -> Bool {
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, millisecondsLeft(deadline))
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { throw .system(call: "poll", errno: errno) }
        }
    }

    /// Waits until `fd` is writable; false on timeout.
    static func waitWritable(_ fd: Int32, until deadline: ContinuousClock.Instant) throws(RPCClientError) -> Bool {
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let r = poll(&pfd, 1, millisecondsLeft(deadline))
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { throw .system(call: "poll", errno: errno) }
        }
    }

    /// Writes all bytes to a socket (no SIGPIPE) or a pipe, within the deadline.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8], isSocket: Bool,
                         until deadline: ContinuousClock.Instant) throws(RPCClientError)
    {
        var offset = 0
        while offset < bytes.count {
            guard try waitWritable(fd, until: deadline) else { throw .timeout }
            let n = bytes.withUnsafeBytes { raw -> Int in
                let p = raw.baseAddress.map { $0 + offset }
                #if canImport(Glibc) || canImport(Musl)
                return isSocket ? send(fd, p, bytes.count - offset, Int32(MSG_NOSIGNAL)) : write(fd, p, bytes.count - offset)
                #else
                return isSocket ? send(fd, p, bytes.count - offset, 0) : write(fd, p, bytes.count - offset)
                #endif
            }
            if n > 0 {
                offset += n
            } else if n < 0 && errno != EINTR && errno != EAGAIN {
                throw .system(call: isSocket ? "send" : "write", errno: errno)
            }
        }
    }

    /// Reads what is available (up to `max` bytes) after waiting for readability; an empty
    /// result means end of file.
    static func readSome(_ fd: Int32, max: Int, until deadline: ContinuousClock.Instant) throws(RPCClientError) -> [UInt8] {
        while true {
            guard try waitReadable(fd, until: deadline) else { throw .timeout }
            var buffer = [UInt8](repeating: 0, count: max)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, max) }
            if n >= 0 {
                buffer.removeSubrange(n...)
                return buffer
            }
            if errno == EINTR || errno == EAGAIN { continue }
            if errno == ECONNREFUSED { throw .connectionClosed }
            throw .system(call: "read", errno: errno)
        }
    }
}
