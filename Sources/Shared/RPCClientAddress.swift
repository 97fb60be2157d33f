/// Where an RPC server listens, in the address syntax of kamcmd's `-s` and the ctl
/// module's `binrpc` parameter (spec §2.1), plus `fifo:` and `dgram:` for the jsonrpcs
/// endpoints.
public enum RPCAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// A Unix stream socket (`unix:`/`unixs:`, or a bare path) — ctl's binrpc socket.
    case unixStream(path: String)
    /// A Unix datagram socket (`unixd:` or `dgram:`) — jsonrpcs's datagram socket.
    case unixDatagram(path: String)
    /// A named pipe (`fifo:`) — jsonrpcs's FIFO.
    case fifo(path: String)
    /// UDP (`udp:host:port`, or a bare `host:port`).
    case udp(host: String, port: UInt16)
    /// TCP (`tcp:host:port`).
    case tcp(host: String, port: UInt16)

    /// ctl's port when an address gives none.
    public static let defaultPort: UInt16 = 2049

    /// kamcmd's compiled-in default, `/run/kamailio/kamailio_ctl`.
    public static let defaultControlSocket = RPCAddress.unixStream(path: "/run/kamailio/kamailio_ctl")
    /// jsonrpcs's default FIFO.
    public static let defaultFIFO = RPCAddress.fifo(path: "/run/kamailio/kamailio_rpc.fifo")
    /// jsonrpcs's default datagram socket.
    public static let defaultDatagramSocket = RPCAddress.unixDatagram(path: "/run/kamailio/kamailio_rpc.sock")

    /// Why an address could not be parsed.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The text that was refused.
        public var text: String
        /// Why.
        public var reason: String
        /// `bad RPC address "x": reason`.
        public var description: String { "bad RPC address \"\(text)\": \(reason)" }
    }

    /// Parses `unix:/path`, `unixs:/path`, `unixd:/path`, `dgram:/path`, `fifo:/path`,
    /// `udp:host[:port]`, `tcp:host[:port]`, `[v6]:port`, a bare path (Unix stream) or a
    /// bare `host:port` (UDP), as ctl does.
    public init(parsing text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        let prefixes: [(String, String)] = [
            ("unixs:", "unix"), ("unixd:", "unixd"), ("unix:", "unix"), ("dgram:", "unixd"),
            ("fifo:", "fifo"), ("udp:", "udp"), ("tcp:", "tcp"),
        ]
        var kind: String?
        var rest = Substring(text)
        for (prefix, k) in prefixes where text.hasPrefix(prefix) {
            kind = k
            rest = text.dropFirst(prefix.count)
            break
        }
        if kind == nil {
            // No prefix: path-like means a Unix stream socket, host:port means UDP.
            kind = (rest.contains("/") || !rest.contains(":")) ? "unix" : "udp"
        }
        switch kind {
        case "unix", "unixd", "fifo":
            guard !rest.isEmpty else { throw fail("empty path") }
            let path = String(rest)
            self = kind == "unix" ? .unixStream(path: path) : kind == "unixd" ? .unixDatagram(path: path) : .fifo(path: path)
        default:
            let (host, port) = try RPCAddress.hostPort(rest, fail: fail)
            self = kind == "tcp" ? .tcp(host: host, port: port) : .udp(host: host, port: port)
        }
    }

    private static func hostPort(_ s: Substring, fail: (String) -> ParseError) throws(ParseError) -> (String, UInt16) {
        var host: Substring
        var portText: Substring?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw fail("unclosed [") }
            host = s[s.index(after: s.startIndex)..<close]
            let after = s[s.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("junk after ]") }
                portText = after.dropFirst()
            }
        } else if let colon = s.lastIndex(of: ":") {
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        } else {
            host = s
        }
        guard !host.isEmpty else { throw fail("empty host") }
        guard let portText else { return (String(host), defaultPort) }
        guard let port = UInt16(portText), port != 0 else { throw fail("bad port \"\(portText)\"") }
        return (String(host), port)
    }

    /// The address in the parseable syntax.
    public var description: String {
        func hp(_ h: String, _ p: UInt16) -> String { h.contains(":") ? "[\(h)]:\(p)" : "\(h):\(p)" }
        switch self {
        case .unixStream(let p): return "unix:\(p)"
        case .unixDatagram(let p): return "unixd:\(p)"
        case .fifo(let p): return "fifo:\(p)"
        case .udp(let h, let p): return "udp:" + hp(h, p)
        case .tcp(let h, let p): return "tcp:" + hp(h, p)
        }
    }
}

/// Why an RPC call through one of the clients failed.
public enum RPCClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The server answered with a fault.
    case fault(RPCFault)
    /// No (complete) answer before the deadline.
    case timeout
    /// A system call failed; `errno` says why.
    case system(call: String, errno: Int32)
    /// The server closed the connection before answering.
    case connectionClosed
    /// The answer could not be understood (bad packet, wrong cookie, not JSON-RPC).
    case protocolError(String)
    /// The address does not suit this client, or is too long for a socket address.
    case unsupportedAddress(RPCAddress)

    /// One line for people.
    public var description: String {
        switch self {
        case .fault(let f): return "error: \(f.code) - \(f.message)"
        case .timeout: return "timed out waiting for the reply"
        case .system(let call, let e): return "\(call): \(RPCSocketIO.errnoText(e))"
        case .connectionClosed: return "connection closed by the server"
        case .protocolError(let why): return "protocol error: \(why)"
        case .unsupportedAddress(let a): return "address not usable here: \(a)"
        }
    }
}

/// A connection to an RPC server that can call methods.
public protocol RPCClient: AnyObject {
    /// Calls `method`; returns the reply's top-level values (binrpc: all values the method
    /// added; JSON-RPC: one element, the `result`). A fault is thrown as `.fault`.
    func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue]
}

/// Which protocol to speak on a datagram address (kamcmd speaks binrpc on `unixd:`/`udp:`,
/// kamcli JSON-RPC on jsonrpcs's datagram socket).
public enum RPCDatagramProtocol: Sendable {
    /// binrpc, one packet per datagram.
    case binrpc
    /// JSON-RPC, one document per datagram.
    case jsonRPC
}

/// Opens the right client for an address.
public enum RPCClients {
    /// Stream addresses speak binrpc, FIFOs JSON-RPC, datagram addresses `datagramProtocol`.
    public static func connect(_ address: RPCAddress, timeout: Duration = .seconds(5),
                               datagramProtocol: RPCDatagramProtocol = .jsonRPC) throws(RPCClientError) -> any RPCClient
    {
        switch address {
        case .unixStream, .tcp:
            return try RPCBinrpcClient(address: address, timeout: timeout)
        case .fifo:
            return try RPCFIFOClient(address: address, timeout: timeout)
        case .unixDatagram, .udp:
            switch datagramProtocol {
            case .binrpc: return try RPCBinrpcClient(address: address, timeout: timeout)
            case .jsonRPC: return try RPCJSONDatagramClient(address: address, timeout: timeout)
            }
        }
    }
}
