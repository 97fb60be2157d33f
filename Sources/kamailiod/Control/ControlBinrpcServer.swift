#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Shared
import Synchronization

/// A listening control endpoint as `ctl.listen` reports it.
public struct ControlEndpointInfo: Sendable, Equatable {
    /// Protocol spoken: `binrpc` (ctl) or `jsonrpc` (jsonrpcs).
    public var proto: String
    /// Kamailio's transport word: `unix_stream`, `unix_dgram`, `tcp`, `udp`, `fifo`.
    public var transport: String
    /// Socket path, FIFO path or IP address.
    public var address: String
    /// Port for inet sockets, "" for files.
    public var port: String
}

/// One open binrpc connection as `ctl.who` reports it.
public struct ControlConnectionInfo: Sendable, Equatable {
    /// The endpoint it was accepted on.
    public var endpoint: ControlEndpointInfo
    /// Peer address; Unix stream clients are `<anonymous unix socket>` as in Kamailio.
    public var peerAddress: String
    /// Peer port, "" for Unix sockets.
    public var peerPort: String
}

/// Tunables shared by the control servers.
public struct ControlServerOptions: Sendable {
    /// Seconds a stream client may stay silent before it is disconnected; a client that
    /// connects and never writes must not hold a thread forever.
    public var idleTimeout: Double = 120
    /// Seconds a reply may take to be written; a client that never reads is dropped.
    public var sendTimeout: Double = 5
    /// Open stream connections served at once; more are closed on accept.
    public var maxConnections = 128

    /// Kamailio-like defaults.
    public init() {}
}

/// ctl's binrpc server on a Unix stream socket or TCP (spec §3): several requests per
/// connection, answered in order, one thread per connection.
///
/// A corrupt packet gets `400 bad request: corrupted packet` with cookie 0 and the
/// connection is closed, as Kamailio does; a request whose body cannot be read gets a
/// 400 fault with its own cookie and the connection stays usable.
public final class ControlBinrpcServer: Sendable {
    /// Where it listens (`unixStream` or `tcp`).
    public let address: RPCAddress
    private let access: ControlFileAccess
    private let registry: RPCRegistry
    private let options: ControlServerOptions
    private let stopSignal: ControlStopSignal
    private let state = Mutex<State>(State())

    private struct State {
        var listenFD: Int32 = -1
        var port: UInt16 = 0
        var nextID = 0
        var connections: [Int: (fd: Int32, info: ControlConnectionInfo)] = [:]
        var stopped = false
    }

    /// Creates a server; nothing is opened before `start`.
    public init(address: RPCAddress, access: ControlFileAccess = ControlFileAccess(mode: 0o600),
                registry: RPCRegistry, options: ControlServerOptions = ControlServerOptions()) throws(ControlError) {
        switch address {
        case .unixStream, .tcp: break
        default: throw ControlError("binrpc stream server cannot listen on \(address)")
        }
        self.address = address
        self.access = access
        self.registry = registry
        self.options = options
        self.stopSignal = try ControlStopSignal()
    }

    /// Opens the socket (file created with the configured mode before the first accept)
    /// and starts the accept thread.
    public func start() throws(ControlError) {
        let fd: Int32
        switch address {
        case .unixStream(let path):
            fd = try ControlSocketIO.unixSocket(path: path, type: ControlSocketIO.streamType, access: access)
        case .tcp(let host, let port):
            fd = try ControlSocketIO.inetSocket(host: host, port: port, type: ControlSocketIO.streamType)
        default:
            throw ControlError("unsupported address \(address)")
        }
        let port = ControlSocketIO.boundPort(fd)
        state.withLock {
            $0.listenFD = fd
            $0.port = port
        }
        ControlSocketIO.startThread("ctl accept") { [self] in acceptLoop(fd) }
    }

    /// The endpoint as `ctl.listen` shows it (the real port for `tcp:...:0`).
    public var endpoint: ControlEndpointInfo {
        switch address {
        case .unixStream(let path):
            return ControlEndpointInfo(proto: "binrpc", transport: "unix_stream", address: path, port: "")
        case .tcp(let host, _):
            return ControlEndpointInfo(proto: "binrpc", transport: "tcp", address: host, port: String(state.withLock { $0.port }))
        default:
            return ControlEndpointInfo(proto: "binrpc", transport: "", address: address.description, port: "")
        }
    }

    /// The bound TCP port (0 for Unix sockets).
    public var boundPort: UInt16 { state.withLock { $0.port } }

    /// Open connections, oldest first.
    public func connections() -> [ControlConnectionInfo] {
        state.withLock { s in s.connections.sorted { $0.key < $1.key }.map(\.value.info) }
    }

    /// Stops accepting, disconnects every client and removes the socket file.
    public func stop() {
        let fd = state.withLock { s -> Int32 in
            s.stopped = true
            let fd = s.listenFD
            s.listenFD = -1
            // Shutdown (not close) wakes connection threads blocked in I/O; each closes its
            // own descriptor, under this lock, so the number cannot be reused meanwhile.
            for c in s.connections.values { shutdown(c.fd, Int32(SHUT_RDWR)) }
            return fd
        }
        stopSignal.fire()
        if fd >= 0 { close(fd) }
        if case .unixStream(let path) = address { unlink(path) }
    }

    private func acceptLoop(_ listenFD: Int32) {
        while ControlSocketIO.waitReadable(listenFD, stop: stopSignal) {
            var storage = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listenFD, $0, &len) }
            }
            if fd < 0 {
                if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE { usleep(100_000); continue }
                return
            }
            ControlSocketIO.setCloseOnExec(fd)
            let peer: (String, String)
            if Int32(storage.ss_family) == AF_UNIX {
                peer = ("<anonymous unix socket>", "")
            } else {
                let hp = ControlSocketIO.hostAndPort(storage)
                peer = (hp.host, String(hp.port))
            }
            let info = ControlConnectionInfo(endpoint: endpoint, peerAddress: peer.0, peerPort: peer.1)
            let id = state.withLock { s -> Int? in
                guard !s.stopped, s.connections.count < options.maxConnections else { return nil }
                s.nextID += 1
                s.connections[s.nextID] = (fd, info)
                return s.nextID
            }
            guard let id else {
                close(fd)
                continue
            }
            ControlSocketIO.startThread("ctl conn \(id)") { [self] in
                serve(fd)
                state.withLock {
                    _ = $0.connections.removeValue(forKey: id)
                    close(fd)
                }
            }
        }
    }

    /// Reads packets and answers each in order until the client closes, goes silent for
    /// `idleTimeout`, stops reading, or sends a corrupt packet.
    private func serve(_ fd: Int32) {
        var decoder = BinrpcStreamDecoder(maxBodySize: 65535)
        var buffer = [UInt8](repeating: 0, count: 65536)
        let idle = Int32(min(options.idleTimeout * 1000, Double(Int32.max)))
        while ControlSocketIO.waitReadable(fd, stop: stopSignal, timeout: idle) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            guard n > 0 else { return }
            decoder.append(buffer[0..<n])
            while true {
                let (reply, keepOpen) = handle(decoder.next())
                guard let reply else {
                    if keepOpen { break } else { return }
                }
                guard ControlSocketIO.writeAll(fd, reply, isSocket: true, timeout: options.sendTimeout), keepOpen else { return }
            }
        }
    }

    /// The answer to one decoder event: bytes to send (nil: nothing yet) and whether the
    /// connection stays open.
    private func handle(_ event: BinrpcStreamEvent) -> (reply: [UInt8]?, keepOpen: Bool) {
        switch event {
        case .needMoreData:
            return (nil, true)
        case .packet(let packet):
            guard case .request(let method, let params) = packet.body else {
                return (BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded(), false)
            }
            let outcome = registry.execute(method, params: params, transport: .binrpc)
            return (BinrpcPacket(cookie: packet.cookie, body: outcome.binrpcBody).encoded(), true)
        case .malformed(let cookie, let type, let error):
            guard type == .request else {
                return (BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded(), false)
            }
            let fault: RPCFault = error.kind == .missingMethodName
                ? .badRequestMethod(error.description) : .badRequest(error.description)
            return (BinrpcPacket(cookie: cookie, body: .fault(fault)).encoded(), true)
        case .corrupt:
            return (BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded(), false)
        }
    }
}
