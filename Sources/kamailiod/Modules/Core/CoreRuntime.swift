import SIPCore
import ScriptEngine
import SIPTransport
import Synchronization

/// Log levels as Kamailio numbers them (`debug=`): lower is more severe.
public enum CoreLogLevel: Int, Sendable {
    case alert = -5, bug = -4, critical = -3, error = -1, warning = 0, notice = 1, info = 2, debug = 3

    /// Parses `L_ERR`, `L_WARN`, ... (xlog's level names) or a number.
    public init?(name: String) {
        switch name.uppercased() {
        case "L_ALERT": self = .alert
        case "L_BUG": self = .bug
        case "L_CRIT", "L_CRITICAL": self = .critical
        case "L_ERR", "L_ERROR": self = .error
        case "L_WARN", "L_WARNING": self = .warning
        case "L_NOTICE": self = .notice
        case "L_INFO": self = .info
        case "L_DBG", "L_DEBUG": self = .debug
        default:
            guard let n = Int(name), let l = CoreLogLevel(rawValue: n) else { return nil }
            self = l
        }
    }
}

/// What the daemon gives the built-in modules: the transport, the logger, and the facts
/// about this server (its addresses and names) that Via handling and `myself` need.
///
/// Created before the script is loaded (modules need it at fix-up time); `attach` is
/// called once after the transport has bound its sockets and before any worker starts,
/// so the set-once fields below are never written while workers read them.
public final class CoreRuntime: @unchecked Sendable {
    /// Writes one log line: level, module name, text.
    public let log: @Sendable (CoreLogLevel, String, String) -> Void
    /// True when a line at this level would be written (skip building the text otherwise).
    public let logEnabled: @Sendable (CoreLogLevel) -> Bool
    /// The runtime parameters of the core and every module (`cfg.*`); modules declare
    /// theirs when created and read them from the message's snapshot.
    public let cfg = CfgStore()

    // Set once in `attach`; `ready` is stored with release ordering after them, and
    // readers load it with acquire ordering first, so they see the finished values.
    private let ready = Atomic<Bool>(false)
    private var transportRef: TransportManager?
    private var ours: [OwnAddress] = []
    /// The listeners, and per listener the start of the Via we insert
    /// (`SIP/2.0/UDP host:port;branch=z9hG4bK`) and our Record-Route address
    /// (`sip:host:port;transport=tcp`), built once instead of per message.
    private(set) var listenerCache: [ListenerInfo] = []
    private(set) var viaPrefixes: [[UInt8]] = []
    private(set) var rrAddresses: [[UInt8]] = []
    /// Per listener `proto:ip:port` (`$fs`, usrloc's `socket` column).
    private(set) var socketTexts: [[UInt8]] = []
    /// `Server: ...` header line for local replies, without CRLF; nil for none.
    public private(set) var serverHeader: [UInt8]?
    /// `User-Agent: ...` header line for local requests, without CRLF; nil for none.
    public private(set) var userAgentHeader: [UInt8]?

    /// One name this server answers to: a bound address, an advertised one, or an alias.
    struct OwnAddress {
        var host: [UInt8]   // lower-case, IPv6 without brackets
        var port: UInt16?   // nil: any port (an alias written without one)
    }

    public init(log: @escaping @Sendable (CoreLogLevel, String, String) -> Void,
                logEnabled: @escaping @Sendable (CoreLogLevel) -> Bool) {
        self.log = log
        self.logEnabled = logEnabled
    }

    /// Binds the runtime to the started transport. `aliases` are `host[:port]` strings
    /// (`alias=` lines); `serverHeader` is the whole header line (`Server: kamailiod`).
    public func attach(transport: TransportManager, aliases: [String], serverHeader: String?, userAgentHeader: String?) {
        transportRef = transport
        var list: [OwnAddress] = []
        for l in transport.listeners {
            list.append(OwnAddress(host: Self.normalise(l.address.ipString), port: l.address.port))
            list.append(OwnAddress(host: Self.normalise(l.advertisedHost), port: l.advertisedPort))
            if !l.spec.host.isEmpty { list.append(OwnAddress(host: Self.normalise(l.spec.host), port: l.address.port)) }
        }
        for a in aliases {
            var text = Substring(a)
            if let p = text.firstIndex(of: ":"), text.hasPrefix("udp:") || text.hasPrefix("tcp:") || text.hasPrefix("tls:") {
                text = text[text.index(after: p)...]
            }
            if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
                let host = text[text.index(after: text.startIndex)..<close]
                let port = UInt16(text[close...].dropFirst(2))
                list.append(OwnAddress(host: Self.normalise(String(host)), port: port))
            } else if let c = text.lastIndex(of: ":"), text.filter({ $0 == ":" }).count == 1 {
                list.append(OwnAddress(host: Self.normalise(String(text[..<c])), port: UInt16(text[text.index(after: c)...])))
            } else {
                list.append(OwnAddress(host: Self.normalise(String(text)), port: nil))
            }
        }
        ours = list
        listenerCache = transport.listeners
        // Kamailio leaves out the port when it is 5060, in Via and Record-Route alike
        // (not for TLS here, where a missing port would mean 5061 to us).
        func port(_ l: ListenerInfo) -> String { l.advertisedPort == 5060 && l.proto != .tls ? "" : ":\(l.advertisedPort)" }
        viaPrefixes = listenerCache.map { l in
            Array("SIP/2.0/\(l.proto.viaToken) \(Self.uriHost(l.advertisedHost))\(port(l));branch=z9hG4bK".utf8)
        }
        rrAddresses = listenerCache.map { l in
            Array("sip:\(Self.uriHost(l.advertisedHost))\(port(l))\(l.proto == .udp ? "" : ";transport=" + l.proto.name)".utf8)
        }
        socketTexts = listenerCache.map { l in Array("\(l.proto.name):\(l.address.hostString):\(l.address.port)".utf8) }
        self.serverHeader = serverHeader.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.userAgentHeader = userAgentHeader.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        ready.store(true, ordering: .releasing)
    }

    /// True once `attach` has run; messages that arrive before are dropped.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// The transport; nil only before `attach` (tests that never send).
    public var transport: TransportManager? { transportRef }

    /// A host as it goes into a URI or Via: IPv6 in brackets.
    static func uriHost(_ h: String) -> String {
        h.contains(":") && !h.hasPrefix("[") ? "[\(h)]" : h
    }

    private static func normalise(_ s: String) -> [UInt8] {
        var b = Array(s.lowercased().utf8)
        if b.first == UInt8(ascii: "["), b.last == UInt8(ascii: "]") { b = Array(b.dropFirst().dropLast()) }
        return b
    }

    /// True when `host`:`port` names this server (Kamailio's `myself`). A missing port
    /// means the transport's default (5060; 5061 for TLS).
    public func isMyself<C: Collection<UInt8>>(host: C, port: UInt16?, tls: Bool = false) -> Bool {
        isMyself(host: ArraySlice(host), port: port, tls: tls)
    }

    /// `isMyself` for a slice of a message, the per-message case: no copy of the host.
    public func isMyself(host: ArraySlice<UInt8>, port: UInt16?, tls: Bool = false) -> Bool {
        var h = host
        if h.first == UInt8(ascii: "["), h.last == UInt8(ascii: "]") { h = h.dropFirst().dropLast() }
        let p = port ?? (tls ? 5061 : 5060)
        for o in ours where (o.port == nil || o.port == p) && SIPBytes.equalsIgnoringCase(o.host, h) { return true }
        return false
    }

    /// True when the Via was written by this server.
    public func isOurVia(_ via: SIPVia) -> Bool {
        isMyself(host: via.host.address, port: via.port, tls: via.isTransport("tls"))
    }

    /// Number of listening sockets.
    public var listenerCount: Int { listenerCache.count }

    /// The listener a message arrived on.
    public func listener(_ index: Int) -> ListenerInfo? {
        index >= 0 && index < listenerCache.count ? listenerCache[index] : nil
    }

    /// A listener of `proto` whose family matches `address`, preferring `preferred`.
    public func listener(for proto: TransportProto, address: SocketAddress, preferred: Int) -> ListenerInfo? {
        let ls = listenerCache
        if preferred >= 0, preferred < ls.count, ls[preferred].proto == proto,
           ls[preferred].address.isIPv6 == address.isIPv6 {
            return ls[preferred]
        }
        return ls.first { $0.proto == proto && $0.address.isIPv6 == address.isIPv6 }
    }

    /// Sends bytes; logs and returns false on failure.
    @discardableResult
    public func send(_ bytes: [UInt8], to dest: Destination) -> Bool {
        guard let t = transportRef else { return false }
        if t.send(bytes, to: dest) { return true }
        if logEnabled(.error) { log(.error, "core", "failed to send \(bytes.count) bytes to \(dest.proto.name):\(dest.address)") }
        return false
    }
}
