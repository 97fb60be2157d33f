/// A binrpc client: what `kamcmd` does (spec §3).
///
/// On a stream address (`unix:`, `tcp:`) one connection stays open for many calls, as
/// kamcmd's interactive mode does; on a datagram address (`unixd:`, `udp:`) each call is one
/// datagram out and one back. Every reply's cookie is checked against the request's.
/// Not thread-safe: use one client per task.
public final class RPCBinrpcClient: RPCClient {
    /// The server address.
    public let address: RPCAddress
    /// How long one call may take.
    public var timeout: Duration
    private var fd: Int32
    private let isStream: Bool
    private var decoder = BinrpcStreamDecoder()
    private var generator = SystemRandomNumberGenerator()

    /// Connects to `address` (`unixStream`, `tcp`, `unixDatagram` or `udp`).
    public init(address: RPCAddress, timeout: Duration = .seconds(5)) throws(RPCClientError) {
        self.address = address
        self.timeout = timeout
        switch address {
        case .unixStream(let path):
            fd = try RPCSocketIO.connectUnix(path: path, type: RPCSocketIO.streamType, bindAutomatically: false)
            isStream = true
        case .tcp(let host, let port):
            fd = try RPCSocketIO.connectInet(host: host, port: port, type: RPCSocketIO.streamType,
                                             until: ContinuousClock.now + timeout)
            isStream = true
        case .unixDatagram(let path):
            fd = try RPCSocketIO.connectUnix(path: path, type: RPCSocketIO.datagramType, bindAutomatically: true)
            isStream = false
        case .udp(let host, let port):
            fd = try RPCSocketIO.connectInet(host: host, port: port, type: RPCSocketIO.datagramType,
                                             until: ContinuousClock.now + timeout)
            isStream = false
        case .fifo:
            throw .unsupportedAddress(address)
        }
    }

    deinit { close() }

    /// Closes the connection; later calls fail with `.connectionClosed`.
    public func close() {
        if fd >= 0 {
            RPCSocketIO.closeDescriptor(fd)
            fd = -1
        }
    }

    /// Calls `method` and returns every value the method added, in order.
    public func call(_ method: String, _ params: [RPCValue] = []) throws(RPCClientError) -> [RPCValue] {
        let cookie = UInt32.random(in: 1...UInt32.max, using: &generator)
        let reply = try exchange(BinrpcPacket.request(method, params, cookie: cookie))
        switch reply.body {
        case .reply(let values): return values
        case .fault(let fault): throw .fault(fault)
        case .request: throw .protocolError("server sent a request packet")
        }
    }

    /// Sends one packet and returns the server's packet with the same cookie.
    public func exchange(_ packet: BinrpcPacket) throws(RPCClientError) -> BinrpcPacket {
        guard fd >= 0 else { throw .connectionClosed }
        let deadline = ContinuousClock.now + timeout
        try RPCSocketIO.writeAll(fd, packet.encoded(), isSocket: true, until: deadline)
        if !isStream {
            // One datagram is one packet; a fresh decoder keeps a bad datagram from
            // poisoning the next call.
            decoder = BinrpcStreamDecoder()
        }
        while true {
            switch decoder.next() {
            case .packet(let reply):
                // A server's corrupt-packet fault carries cookie 0 and still has to reach
                // the caller. Any other cookie belongs to an earlier call that timed out:
                // kamcmd would give up, but an interactive console is better served by
                // skipping the stale reply (replies come in request order) and waiting on.
                if reply.cookie == packet.cookie || reply.cookie == 0 { return reply }
            case .malformed(_, _, let error), .corrupt(let error):
                close()
                throw .protocolError(error.description)
            case .needMoreData:
                let chunk = try RPCSocketIO.readSome(fd, max: 65536, until: deadline)
                if chunk.isEmpty {
                    close()
                    throw .connectionClosed
                }
                decoder.append(chunk)
            }
        }
    }
}
