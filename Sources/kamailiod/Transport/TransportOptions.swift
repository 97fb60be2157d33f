#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Severity of a transport log line; the daemon maps these onto its own levels.
public enum TransportLogLevel: Int, Sendable, Comparable {
    /// Something failed (a send, a bind, an accept).
    case error
    /// Something was refused or dropped (connection limit), or a peer misbehaved
    /// (unframeable stream, stalled message).
    case warning
    /// Start-up and shutdown facts.
    case info
    /// Per-connection events.
    case debug

    /// Lower raw value means more severe (`error < debug`).
    public static func < (a: TransportLogLevel, b: TransportLogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Tunables of the transport layer, named after the Kamailio core parameters they mirror.
public struct TransportOptions: Sendable {
    /// UDP receiver threads per UDP listener (Kamailio `children`).
    public var children: Int = 8
    /// Threads that run framed TCP messages (Kamailio `tcp_children`; defaults to `children`).
    public var tcpChildren: Int?
    /// Upper bound for the SO_RCVBUF probe of UDP sockets (Kamailio `maxbuffer`).
    public var maxReceiveBuffer: Int = 262_144
    /// Seconds a TCP connection may stay idle before it is closed (`tcp_connection_lifetime`).
    public var tcpConnectionLifetime: Double = 120
    /// Most TCP connections open at once, inbound and outbound (`tcp_max_connections`).
    public var tcpMaxConnections: Int = 2048
    /// Seconds an outbound TCP connect may take (`tcp_connect_timeout`).
    public var tcpConnectTimeout: Double = 10
    /// Seconds one TCP send may block on a full socket buffer (`tcp_send_timeout`).
    public var tcpSendTimeout: Double = 10
    /// Largest SIP message accepted on a stream, header block plus body.
    public var maxMessageSize: Int = 65535
    /// Largest header block accepted on a stream before the blank line is seen. It equals
    /// `maxMessageSize` by default because real traffic carries single headers of 50+ KB
    /// (registrations with many Contacts); set lower to shed slow-header attacks earlier.
    public var maxHeaderBytes: Int = 65535
    /// Seconds a connection may hold a partial message before it is closed, so a peer
    /// that sends half a request and goes silent cannot pin buffers (slowloris).
    public var incompleteMessageTimeout: Double = 10
    /// Framed TCP messages waiting for a worker; when full, reading stops (back-pressure).
    public var tcpQueueCapacity: Int = 1024
    /// Where transport log lines go; the daemon wires its logger here.
    public var log: @Sendable (TransportLogLevel, String) -> Void = { _, _ in }
    /// Byte pipes for stream transports other than plain TCP, by protocol. A TLS module
    /// registers `.tls` here; `listen=tls:...` is accepted only when a factory exists.
    public var streamFactories: [TransportProto: StreamConnectionFactory] = [:]

    /// Defaults as in Kamailio's core.
    public init() {}

    /// `tcpChildren`, or `children` when unset; at least one.
    public var effectiveTCPChildren: Int { max(1, tcpChildren ?? children) }

    /// True when this layer can serve `proto`: UDP, TCP, or a stream with a factory.
    public func supports(_ proto: TransportProto) -> Bool {
        proto == .udp || proto == .tcp || streamFactories[proto] != nil
    }

    /// Wraps a connected socket for `proto`: plain TCP, else the registered factory.
    func makeStream(fd: Int32, proto: TransportProto, isOutbound: Bool) -> (any StreamConnection)? {
        if let factory = streamFactories[proto] { return factory(fd, isOutbound) }
        return proto == .tcp ? PlainStreamConnection(fd: fd) : nil
    }
}

/// A start-up failure with a message an operator can act on.
public enum TransportError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The host of a listen spec did not resolve to an address.
    case cannotResolve(ListenSpec)
    /// `socket()`/`bind()`/`listen()` failed; carries errno.
    case cannotBind(ListenSpec, Int32)
    /// A thread could not be created.
    case cannotStartThread(String)
    /// `start` was called twice, or after `stop`.
    case alreadyStarted
    /// The listen spec names a transport this layer does not serve (yet).
    case unsupportedProtocol(ListenSpec)

    /// E.g. `cannot bind udp:127.0.0.1:5060: Address already in use`.
    public var description: String {
        switch self {
        case .cannotResolve(let s): "cannot resolve listen address \(s)"
        case .cannotBind(let s, let e): "cannot bind \(s): \(TransportSocket.errorText(e))"
        case .cannotStartThread(let n): "cannot start thread \(n)"
        case .alreadyStarted: "transport already started"
        case .unsupportedProtocol(let s): "unsupported transport in listen \(s)"
        }
    }
}

/// One open listener, as the daemon needs it for Via sent-by, Record-Route and `is_myself`.
///
/// The send path copies it for every message; its fields live in one shared immutable
/// object, so such a copy is one retain instead of one per string it holds.
public struct ListenerInfo: Sendable, Hashable {
    /// The values; never changed once made.
    private struct Fields: Sendable, Hashable {
        var index: Int
        var proto: TransportProto
        var address: SocketAddress
        var spec: ListenSpec
        var advertisedHost: String
        var advertisedPort: UInt16
        var receiveBufferSize: Int
    }

    private final class Storage: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private let storage: Storage

    init(index: Int, proto: TransportProto, address: SocketAddress, spec: ListenSpec,
         advertisedHost: String, advertisedPort: UInt16, receiveBufferSize: Int) {
        storage = Storage(Fields(index: index, proto: proto, address: address, spec: spec,
                                 advertisedHost: advertisedHost, advertisedPort: advertisedPort,
                                 receiveBufferSize: receiveBufferSize))
    }

    /// Position in `TransportManager.listeners` (also `ReceiveInfo.listenerIndex`).
    public var index: Int { storage.fields.index }
    /// Transport of the socket.
    public var proto: TransportProto { storage.fields.proto }
    /// The bound address, with the real port when the spec asked for port 0. A wildcard
    /// listener (`*`, `0.0.0.0`) reports the wildcard here and in `ReceiveInfo.local` (no
    /// IP_PKTINFO yet); list concrete addresses where Via and `$Ri` must be exact.
    public var address: SocketAddress { storage.fields.address }
    /// The `listen=` entry it came from.
    public var spec: ListenSpec { storage.fields.spec }
    /// Host to put in Via/Record-Route: the `advertise` host, else the bound IP
    /// (IPv6 in brackets, as in a SIP URI).
    public var advertisedHost: String { storage.fields.advertisedHost }
    /// Port to put in Via/Record-Route: the `advertise` port, else the bound port.
    public var advertisedPort: UInt16 { storage.fields.advertisedPort }
    /// SO_RCVBUF the kernel granted after the `maxbuffer` probe (0 for TCP).
    public var receiveBufferSize: Int { storage.fields.receiveBufferSize }

    public static func == (a: ListenerInfo, b: ListenerInfo) -> Bool {
        a.storage === b.storage || a.storage.fields == b.storage.fields
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(storage.fields) }
}

/// Counters for the RPC statistics (`core.tcp_info`, `stats.get_statistics`-style output).
/// Atomics, because eight receiver threads bump them per packet.
public final class TransportStatistics: Sendable {
    /// UDP datagrams handed to the handler.
    let udpReceivedDatagrams = Atomic<UInt64>(0)
    /// Bytes of those datagrams.
    let udpReceivedBytes = Atomic<UInt64>(0)
    /// UDP datagrams sent.
    let udpSentDatagrams = Atomic<UInt64>(0)
    /// Bytes of those datagrams.
    let udpSentBytes = Atomic<UInt64>(0)
    /// UDP sends that failed (no listener of the family, sendto error).
    let udpSendErrors = Atomic<UInt64>(0)
    /// Framed stream messages handed to the workers.
    let tcpReceivedMessages = Atomic<UInt64>(0)
    /// Bytes read from stream connections.
    let tcpReceivedBytes = Atomic<UInt64>(0)
    /// Messages written to stream connections.
    let tcpSentMessages = Atomic<UInt64>(0)
    /// Bytes of those messages.
    let tcpSentBytes = Atomic<UInt64>(0)
    /// Stream sends that failed (no connection, connect or write error, timeout).
    let tcpSendErrors = Atomic<UInt64>(0)
    /// Stream connections open now.
    let tcpConnectionsCurrent = Atomic<Int>(0)
    /// Stream connections accepted or opened since start.
    let tcpConnectionsTotal = Atomic<UInt64>(0)
    /// Connections refused at `tcpMaxConnections`.
    let tcpConnectionsRefused = Atomic<UInt64>(0)
    /// Outbound connects that failed or timed out.
    let tcpConnectFailures = Atomic<UInt64>(0)
    /// Connections closed after `tcpConnectionLifetime` without traffic.
    let tcpIdleClosed = Atomic<UInt64>(0)
    /// Connections closed for unframeable input or a stalled partial message.
    let framingErrors = Atomic<UInt64>(0)
    /// CRLFCRLF keep-alive pings answered (RFC 5626 §3.5.1).
    let keepAlivePongs = Atomic<UInt64>(0)

    /// All counters at zero.
    init() {}

    /// A consistent-enough copy of all counters (each read atomically).
    public func snapshot() -> TransportStatsSnapshot {
        TransportStatsSnapshot(
            udpReceivedDatagrams: udpReceivedDatagrams.load(ordering: .relaxed),
            udpReceivedBytes: udpReceivedBytes.load(ordering: .relaxed),
            udpSentDatagrams: udpSentDatagrams.load(ordering: .relaxed),
            udpSentBytes: udpSentBytes.load(ordering: .relaxed),
            udpSendErrors: udpSendErrors.load(ordering: .relaxed),
            tcpReceivedMessages: tcpReceivedMessages.load(ordering: .relaxed),
            tcpReceivedBytes: tcpReceivedBytes.load(ordering: .relaxed),
            tcpSentMessages: tcpSentMessages.load(ordering: .relaxed),
            tcpSentBytes: tcpSentBytes.load(ordering: .relaxed),
            tcpSendErrors: tcpSendErrors.load(ordering: .relaxed),
            tcpConnectionsCurrent: tcpConnectionsCurrent.load(ordering: .relaxed),
            tcpConnectionsTotal: tcpConnectionsTotal.load(ordering: .relaxed),
            tcpConnectionsRefused: tcpConnectionsRefused.load(ordering: .relaxed),
            tcpConnectFailures: tcpConnectFailures.load(ordering: .relaxed),
            tcpIdleClosed: tcpIdleClosed.load(ordering: .relaxed),
            framingErrors: framingErrors.load(ordering: .relaxed),
            keepAlivePongs: keepAlivePongs.load(ordering: .relaxed))
    }

    /// Adds `n` to a counter; relaxed, counters order nothing.
    @inline(__always)
    static func bump(_ counter: borrowing Atomic<UInt64>, by n: UInt64 = 1) {
        counter.wrappingAdd(n, ordering: .relaxed)
    }
}

/// Plain copy of `TransportStatistics` for RPC replies.
public struct TransportStatsSnapshot: Sendable, Hashable {
    /// UDP datagrams handed to the handler.
    public var udpReceivedDatagrams: UInt64
    /// Bytes of those datagrams.
    public var udpReceivedBytes: UInt64
    /// UDP datagrams sent.
    public var udpSentDatagrams: UInt64
    /// Bytes of those datagrams.
    public var udpSentBytes: UInt64
    /// UDP sends that failed (no listener of the family, sendto error).
    public var udpSendErrors: UInt64
    /// Framed stream messages handed to the workers.
    public var tcpReceivedMessages: UInt64
    /// Bytes read from stream connections.
    public var tcpReceivedBytes: UInt64
    /// Messages written to stream connections.
    public var tcpSentMessages: UInt64
    /// Bytes of those messages.
    public var tcpSentBytes: UInt64
    /// Stream sends that failed (no connection, connect or write error, timeout).
    public var tcpSendErrors: UInt64
    /// Stream connections open now.
    public var tcpConnectionsCurrent: Int
    /// Stream connections accepted or opened since start.
    public var tcpConnectionsTotal: UInt64
    /// Connections refused at `tcpMaxConnections`.
    public var tcpConnectionsRefused: UInt64
    /// Outbound connects that failed or timed out.
    public var tcpConnectFailures: UInt64
    /// Connections closed after `tcpConnectionLifetime` without traffic.
    public var tcpIdleClosed: UInt64
    /// Connections closed for unframeable input or a stalled partial message.
    public var framingErrors: UInt64
    /// CRLFCRLF keep-alive pings answered (RFC 5626 §3.5.1).
    public var keepAlivePongs: UInt64
}
