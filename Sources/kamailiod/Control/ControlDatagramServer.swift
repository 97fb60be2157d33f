#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Shared
import Synchronization

/// jsonrpcs's datagram server (spec §5), or ctl's binrpc on `unixd:`/`udp:`: one request
/// per datagram, the reply sent from the listening socket to the sender's address.
///
/// A Unix client that did not bind its socket has no address and gets no reply (as with
/// Kamailio). A reply larger than one datagram can carry is sent in consecutive pieces,
/// which is what jsonrpcs does; on Unix sockets the kernel takes far larger datagrams, so
/// a reply normally arrives whole.
public final class ControlDatagramServer: Sendable {
    /// Where it listens (`unixDatagram` or `udp`).
    public let address: RPCAddress
    /// What it speaks.
    public let wireProtocol: RPCDatagramProtocol
    private let access: ControlFileAccess
    private let registry: RPCRegistry
    private let options: ControlServerOptions
    private let style: RPCJSONStyle
    private let stopSignal: ControlStopSignal
    private let state = Mutex<(fd: Int32, port: UInt16)>((-1, 0))

    /// The largest request jsonrpcs reads from one datagram.
    public static let maxRequestSize = 65456
    /// Reply pieces when one datagram is too small (a UDP datagram's payload limit).
    static let replyChunkSize = 65000

    /// Creates a server; `prettyJSON` is jsonrpcs's `pretty_format`.
    public init(address: RPCAddress, wireProtocol: RPCDatagramProtocol = .jsonRPC,
                access: ControlFileAccess = ControlFileAccess(mode: 0o660), registry: RPCRegistry,
                options: ControlServerOptions = ControlServerOptions(), prettyJSON: Bool = true) throws(ControlError) {
        switch address {
        case .unixDatagram, .udp: break
        default: throw ControlError("datagram server cannot listen on \(address)")
        }
        self.address = address
        self.wireProtocol = wireProtocol
        self.access = access
        self.registry = registry
        self.options = options
        self.style = prettyJSON ? .pretty : .compact
        self.stopSignal = try ControlStopSignal()
    }

    /// Opens the socket (Unix: created with the configured mode first) and starts the thread.
    public func start() throws(ControlError) {
        let fd: Int32
        switch address {
        case .unixDatagram(let path):
            fd = try ControlSocketIO.unixSocket(path: path, type: ControlSocketIO.datagramType, access: access)
        case .udp(let host, let port):
            fd = try ControlSocketIO.inetSocket(host: host, port: port, type: ControlSocketIO.datagramType)
        default:
            throw ControlError("unsupported address \(address)")
        }
        let port = ControlSocketIO.boundPort(fd)
        state.withLock { $0 = (fd, port) }
        ControlSocketIO.startThread(wireProtocol == .jsonRPC ? "jsonrpcs dgram" : "ctl dgram") { [self] in serve(fd) }
    }

    /// The bound UDP port (0 for Unix sockets).
    public var boundPort: UInt16 { state.withLock { $0.port } }

    /// The endpoint as `ctl.listen` shows it.
    public var endpoint: ControlEndpointInfo {
        let proto = wireProtocol == .binrpc ? "binrpc" : "jsonrpc"
        switch address {
        case .unixDatagram(let path): return ControlEndpointInfo(proto: proto, transport: "unix_dgram", address: path, port: "")
        case .udp(let host, _): return ControlEndpointInfo(proto: proto, transport: "udp", address: host, port: String(boundPort))
        default: return ControlEndpointInfo(proto: proto, transport: "", address: address.description, port: "")
        }
    }

    /// Stops the thread, closes the socket and removes the socket file.
    public func stop() {
        stopSignal.fire()
        if case .unixDatagram(let path) = address { unlink(path) }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 17)
        while ControlSocketIO.waitReadable(fd, stop: stopSignal) {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &len)
                    }
                }
            }
            guard n >= 0 else { continue }
            let datagram = Array(buffer[0..<min(n, ControlDatagramServer.maxRequestSize)])
            guard let reply = answer(datagram) else { continue }
            // An unbound Unix client has only the address family: nowhere to answer.
            guard len > socklen_t(MemoryLayout<sa_family_t>.size) else { continue }
            send(reply, fd: fd, to: storage, length: len)
        }
    }

    /// The reply bytes for one request datagram, or nil when it gets none.
    func answer(_ datagram: [UInt8]) -> [UInt8]? {
        switch wireProtocol {
        case .binrpc:
            do {
                let packet = try BinrpcPacket.decode(datagram, maxBodySize: 65535)
                guard case .request(let method, let params) = packet.body else {
                    return BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded()
                }
                let outcome = registry.execute(method, params: params, transport: .binrpc)
                return BinrpcPacket(cookie: packet.cookie, body: outcome.binrpcBody).encoded()
            } catch {
                return BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded()
            }
        case .jsonRPC:
            // Only the first document counts; anything after it is ignored (spec §5).
            guard let (value, _) = try? RPCJSONParser.parseFirst(datagram) else { return nil }
            return ControlJSONRPC.answer(value, registry: registry, style: style, refusedGetEmptyResult: true)?.reply
        }
    }

    private func send(_ reply: [UInt8], fd: Int32, to storage: sockaddr_storage, length: socklen_t) {
        var address = storage
        let deadline = ContinuousClock.now + .milliseconds(Int(options.sendTimeout * 1000))
        var offset = 0
        var chunk = reply.count
        while offset < reply.count {
            let size = min(chunk, reply.count - offset)
            let r = reply.withUnsafeBytes { raw in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, raw.baseAddress.map { $0 + offset }, size, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), $0, length)
                    }
                }
            }
            if r >= 0 {
                offset += size
                continue
            }
            switch errno {
            case EMSGSIZE where chunk > ControlDatagramServer.replyChunkSize:
                chunk = ControlDatagramServer.replyChunkSize
            case EAGAIN, EWOULDBLOCK, EINTR, ENOBUFS:
                // The client's queue is full: wait a little, within the send timeout.
                guard ContinuousClock.now < deadline else { return }
                usleep(2000)
            default:
                return
            }
        }
    }
}

/// The JSON-RPC request handling both jsonrpcs transports share (spec §6).
enum ControlJSONRPC {
    /// Validates and runs one parsed document. Returns the reply and the request's
    /// `reply_name`, or nil when Kamailio sends nothing. Refused requests (bad version,
    /// bad params, batch) are dropped on the FIFO but answered with an empty result on the
    /// datagram socket — `refusedGetEmptyResult` picks which (spec §4.2, §5).
    static func answer(_ document: RPCValue, registry: RPCRegistry, style: RPCJSONStyle,
                       refusedGetEmptyResult: Bool) -> (reply: [UInt8], replyName: String?)? {
        let request: JSONRPCRequest
        do {
            request = try JSONRPCRequest.decode(document)
        } catch {
            guard refusedGetEmptyResult else { return nil }
            switch error {
            case .parse, .notAnObject: return nil
            case .batchNotSupported:
                return (JSONRPCReply(.result(.struct([])), id: nil).encoded(style: style), nil)
            case .badVersion(let id), .missingMethod(let id), .badParams(let id):
                return (JSONRPCReply(.result(.struct([])), id: id?.echoed).encoded(style: style), nil)
            }
        }
        let outcome = registry.execute(request.method, params: request.params, transport: .jsonRPC)
        let returnsArray = registry.method(named: request.method)?.returnsArray ?? false
        let reply = JSONRPCReply(outcome.jsonOutcome(returnsArray: returnsArray), replyingTo: request)
        return (reply.encoded(style: style), request.replyName)
    }
}
