#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A SIP transport protocol, as named in `listen=` lines, Via headers and `$proto`.
public enum TransportProto: UInt8, Sendable, Hashable, CaseIterable {
    /// RFC 3261 transports plus WebSocket (RFC 7118).
    case udp, tcp, tls, sctp, ws, wss

    /// Lower-case name as used in `listen=udp:...` and `;transport=` (`udp`, `tcp`, ...).
    public var name: String {
        switch self {
        case .udp: "udp"
        case .tcp: "tcp"
        case .tls: "tls"
        case .sctp: "sctp"
        case .ws: "ws"
        case .wss: "wss"
        }
    }

    /// Upper-case token used in a Via sent-protocol (`SIP/2.0/UDP`).
    public var viaToken: String { name.uppercased() }

    /// Stream transports need Content-Length framing and keep connections.
    public var isStream: Bool { self != .udp }

    /// Parses `udp`, `TCP`, ... (case-insensitive); nil for unknown tokens.
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "udp": self = .udp
        case "tcp": self = .tcp
        case "tls": self = .tls
        case "sctp": self = .sctp
        case "ws": self = .ws
        case "wss": self = .wss
        default: return nil
        }
    }

    /// Default port of the transport (RFC 3261 §19.1.2: 5060, 5061 for TLS).
    public var defaultPort: UInt16 { self == .tls || self == .wss ? 5061 : 5060 }
}

/// An IPv4 or IPv6 socket address, stored as the kernel's `sockaddr_storage`
/// so it can be handed to `sendto`/`connect` without conversion.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The raw address; only the first `length` bytes are meaningful.
    public private(set) var storage: sockaddr_storage
    /// `sizeof(sockaddr_in)` or `sizeof(sockaddr_in6)`.
    public let length: socklen_t

    /// Wraps an address the kernel returned (`recvfrom`, `accept`, `getsockname`).
    public init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// Builds an address from a numeric IPv4 or IPv6 literal (no brackets) and a port.
    /// Returns nil when `ip` is not a numeric address; no DNS lookup is made.
    public init?(ip: String, port: UInt16) {
        var ss = sockaddr_storage()
        var host = Substring(ip)
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        let ok: Bool = withUnsafeMutablePointer(to: &ss) { p in
            if host.contains(":") {
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s6 in
                    s6.pointee.sin6_family = sa_family_t(AF_INET6)
                    s6.pointee.sin6_port = port.bigEndian
                    return String(host).withCString { inet_pton(AF_INET6, $0, &s6.pointee.sin6_addr) } == 1
                }
            }
            return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s4 in
                s4.pointee.sin_family = sa_family_t(AF_INET)
                s4.pointee.sin_port = port.bigEndian
                return String(host).withCString { inet_pton(AF_INET, $0, &s4.pointee.sin_addr) } == 1
            }
        }
        guard ok else { return nil }
        self.storage = ss
        self.length = host.contains(":") ? socklen_t(MemoryLayout<sockaddr_in6>.size)
                                         : socklen_t(MemoryLayout<sockaddr_in>.size)
    }

    /// True for AF_INET6 addresses.
    public var isIPv6: Bool { Int32(storage.ss_family) == AF_INET6 }

    /// The port in host byte order.
    public var port: UInt16 {
        get {
            withUnsafePointer(to: storage) { p in
                isIPv6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                       : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        }
        set {
            let v6 = isIPv6
            withUnsafeMutablePointer(to: &storage) { p in
                if v6 {
                    p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port = newValue.bigEndian }
                } else {
                    p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port = newValue.bigEndian }
                }
            }
        }
    }

    /// The numeric address without brackets (`127.0.0.1`, `::1`).
    public var ipString: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let v6 = isIPv6
        withUnsafePointer(to: storage) { p in
            if v6 {
                p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { s6 in
                    var a = s6.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
                }
            } else {
                p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { s4 in
                    var a = s4.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
                }
            }
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address as it appears in a SIP URI host: IPv6 in brackets.
    public var hostString: String { isIPv6 ? "[\(ipString)]" : ipString }

    /// `127.0.0.1:5060` or `[::1]:5060`.
    public var description: String { "\(hostString):\(port)" }

    /// Byte-wise equality of the meaningful part of the address.
    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        guard a.length == b.length else { return false }
        return withUnsafeBytes(of: a.storage) { pa in
            withUnsafeBytes(of: b.storage) { pb in
                pa.prefix(Int(a.length)).elementsEqual(pb.prefix(Int(a.length)))
            }
        }
    }

    /// Hashes the meaningful bytes, consistent with `==`.
    public func hash(into h: inout Hasher) {
        withUnsafeBytes(of: storage) { h.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }
}

/// Where a message came from and on which of our sockets, handed to the script with the bytes.
public struct ReceiveInfo: Sendable {
    /// The transport the message arrived on.
    public var proto: TransportProto
    /// The peer's address (`$si`, `$sp`).
    public var source: SocketAddress
    /// Our local address the message arrived on (`$Ri`, `$Rp`).
    public var local: SocketAddress
    /// Index of the listener in `TransportManager.listeners`.
    public var listenerIndex: Int
    /// Stream connection the message came on (0 for UDP), for replies over the same connection.
    public var connectionID: UInt64

    /// Describes one received message; `connectionID` is 0 for datagrams.
    public init(proto: TransportProto, source: SocketAddress, local: SocketAddress,
                listenerIndex: Int, connectionID: UInt64 = 0) {
        self.proto = proto
        self.source = source
        self.local = local
        self.listenerIndex = listenerIndex
        self.connectionID = connectionID
    }
}

/// Where to send a message. For stream transports an existing connection to `address`
/// (or `connectionID` when set) is reused; otherwise one is opened.
public struct Destination: Sendable, Hashable {
    /// Transport to send over.
    public var proto: TransportProto
    /// The next hop's address.
    public var address: SocketAddress
    /// Prefer this connection (replies go back on the connection the request came on).
    public var connectionID: UInt64
    /// Send from this listener when set (`-1`: pick one of the right family and transport).
    public var listenerIndex: Int

    /// A destination; by default any connection and any fitting listener.
    public init(proto: TransportProto, address: SocketAddress, connectionID: UInt64 = 0, listenerIndex: Int = -1) {
        self.proto = proto
        self.address = address
        self.connectionID = connectionID
        self.listenerIndex = listenerIndex
    }
}

/// One `listen=` entry: `udp:127.0.0.1:5060`, `tcp:[::1]:5060`, optionally `advertise host:port`.
public struct ListenSpec: Sendable, Hashable, CustomStringConvertible {
    /// Transport of the socket.
    public var proto: TransportProto
    /// Numeric address or host name as written (IPv6 without brackets).
    public var host: String
    /// Port to bind; 0 lets the kernel choose (read it back from `listeners`).
    public var port: UInt16
    /// `advertise` address used in Via/Record-Route instead of the bound one.
    public var advertiseHost: String?
    /// `advertise` port used in Via/Record-Route instead of the bound one.
    public var advertisePort: UInt16?

    /// A listen entry; `host` may be a numeric address, a name or `*`.
    public init(proto: TransportProto, host: String, port: UInt16,
                advertiseHost: String? = nil, advertisePort: UInt16? = nil) {
        self.proto = proto
        self.host = host
        self.port = port
        self.advertiseHost = advertiseHost
        self.advertisePort = advertisePort
    }

    /// `udp:127.0.0.1:5060`, `tcp:[::1]:5060`, as in `listen=`.
    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(proto.name):\(h):\(port)"
    }
}

/// Receives every framed message on a worker thread. Implemented by the daemon
/// (parse, run the routing script); the transport knows nothing of SIP semantics.
public protocol MessageHandler: Sendable {
    /// Handle one complete message. `worker` is the worker's index (0-based) and stable per thread.
    func handleMessage(_ bytes: [UInt8], info: ReceiveInfo, worker: Int)
}
