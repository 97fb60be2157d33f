#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns host names into socket addresses for listeners and for the daemon's next hops.
/// A-/AAAA-records only: NAPTR/SRV (RFC 3263) belong to the layer that picks transports.
public enum TransportResolver {
    /// One address for `host`: a numeric IPv4/IPv6 literal (brackets allowed) without any
    /// lookup, else the first getaddrinfo answer, of the preferred family when there is one.
    /// Blocks while the system resolver works, so call it from a worker, never the I/O thread.
    public static func resolve(host: String, port: UInt16, preferIPv6: Bool = false) -> SocketAddress? {
        if let numeric = SocketAddress(ip: host, port: port) { return numeric }
        let all = resolveAll(host: host, port: port)
        return all.first { $0.isIPv6 == preferIPv6 } ?? all.first
    }

    /// Every distinct address getaddrinfo gives for `host`, in its order. `*` means the
    /// IPv4 wildcard (Kamailio's `listen=udp:*:5060`).
    public static func resolveAll(host: String, port: UInt16) -> [SocketAddress] {
        if host == "*" { return SocketAddress(ip: "0.0.0.0", port: port).map { [$0] } ?? [] }
        if let numeric = SocketAddress(ip: host, port: port) { return [numeric] }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        // One socket type, so each address comes back once instead of per type.
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var out: [SocketAddress] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let ai = cursor {
            cursor = ai.pointee.ai_next
            let family = ai.pointee.ai_family
            guard family == AF_INET || family == AF_INET6, let sa = ai.pointee.ai_addr else { continue }
            var ss = sockaddr_storage()
            let len = min(Int(ai.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
            withUnsafeMutableBytes(of: &ss) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: sa, count: len))
            }
            var address = SocketAddress(storage: ss, length: socklen_t(len))
            address.port = port
            if !out.contains(address) { out.append(address) }
        }
        return out
    }
}
