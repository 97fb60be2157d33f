#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns a decoded JSON-RPC reply into the client result, checking the echoed id.
private func unwrap(_ reply: JSONRPCReply, expecting id: JSONRPCID) throws(RPCClientError) -> [RPCValue] {
    if let got = reply.id, got != id {
        throw .protocolError("reply id \(got) does not match request id \(id)")
    }
    switch reply.outcome {
    case .result(let value): return [value]
    case .error(let fault): throw .fault(fault)
    }
}

/// A JSON-RPC client for jsonrpcs's datagram socket (Unix datagram or UDP): what kamcli
/// does by default (spec §5). The Unix socket is auto-bound to an abstract name because
/// the server answers to the sender address and an unbound client gets nothing back.
/// Not thread-safe: use one client per task.
public final class RPCJSONDatagramClient: RPCClient {
    /// The server address.
    public let address: RPCAddress
    /// How long one call may take; jsonrpcs stays silent on some bad requests.
    public var timeout: Duration
    private var fd: Int32
    private var nextID = Int.random(in: 1..<1_000_000)

    /// Opens a socket towards `address` (`unixDatagram` or `udp`).
    public init(address: RPCAddress, timeout: Duration = .seconds(5)) throws(RPCClientError) {
        self.address = address
        self.timeout = timeout
        switch address {
        case .unixDatagram(let path):
            fd = try RPCSocketIO.connectUnix(path: path, type: RPCSocketIO.datagramType, bindAutomatically: true)
        case .udp(let host, let port):
            fd = try RPCSocketIO.connectInet(host: host, port: port, type: RPCSocketIO.datagramType,
                                             until: ContinuousClock.now + timeout)
        default:
            throw .unsupportedAddress(address)
        }
    }

    deinit { close() }

    /// Closes the socket.
    public func close() {
        if fd >= 0 {
            RPCSocketIO.closeDescriptor(fd)
            fd = -1
        }
    }

    /// Calls `method`; returns `[result]`.
    public func call(_ method: String, _ params: [RPCValue] = []) throws(RPCClientError) -> [RPCValue] {
        guard fd >= 0 else { throw .connectionClosed }
        nextID += 1
        let id = JSONRPCID.int(nextID)
        let request = JSONRPCRequest(method: method, params: params, id: id)
        let deadline = ContinuousClock.now + timeout
        try RPCSocketIO.writeAll(fd, request.encoded(style: .compact), isSocket: true, until: deadline)
        while true {
            let datagram = try RPCSocketIO.readSome(fd, max: 65536, until: deadline)
            let reply: JSONRPCReply
            do {
                reply = try JSONRPCReply.decode(datagram)
            } catch {
                throw .protocolError("bad JSON-RPC reply: \(error)")
            }
            // A late answer to an earlier, timed-out call: skip it and keep waiting.
            if let got = reply.id, got != id, case .int(let n) = got, n < nextID { continue }
            return try unwrap(reply, expecting: id)
        }
    }
}

/// A JSON-RPC client for jsonrpcs's FIFO: what `kamctl` does (spec §4, and
/// `protocol/kamctl-rpc-over-fifo.txt`).
///
/// Each call creates a reply FIFO in `replyDirectory`, opens it for reading *before*
/// writing the request (so the server's open-for-write succeeds), reads until EOF and
/// removes the FIFO. The reply name has no dots, as jsonrpcs refuses those.
public final class RPCFIFOClient: RPCClient {
    /// The server FIFO.
    public let fifoPath: String
    /// Where the server looks for reply FIFOs (its `fifo_reply_dir`, default `/tmp/`).
    public var replyDirectory: String
    /// How long one call may take (the server gives no reply at all on bad requests).
    public var timeout: Duration
    private var generator = SystemRandomNumberGenerator()

    /// Creates a client for a `fifo:` address.
    public init(address: RPCAddress, replyDirectory: String = "/tmp/", timeout: Duration = .seconds(5))
        throws(RPCClientError)
    {
        guard case .fifo(let path) = address else { throw .unsupportedAddress(address) }
        self.fifoPath = path
        self.replyDirectory = replyDirectory.hasSuffix("/") ? replyDirectory : replyDirectory + "/"
        self.timeout = timeout
    }

    /// Calls `method`; returns `[result]`.
    public func call(_ method: String, _ params: [RPCValue] = []) throws(RPCClientError) -> [RPCValue] {
        let token = UInt32.random(in: 0...UInt32.max, using: &generator)
        let replyName = "kamcon_receiver_\(getpid())_\(token)"
        let id = JSONRPCID.int(Int(getpid()))
        let request = JSONRPCRequest(method: method, params: params, id: id, replyName: replyName)
        let text = try send(request.encoded(style: .spaced) + [0x0A], replyName: replyName)
        let reply: JSONRPCReply
        do {
            reply = try JSONRPCReply.decode(text)
        } catch {
            throw .protocolError("bad JSON-RPC reply: \(error)")
        }
        return try unwrap(reply, expecting: id)
    }

    /// Writes `document` to the server FIFO and returns everything written to the reply
    /// FIFO `replyName` until the server closes it.
    public func send(_ document: [UInt8], replyName: String) throws(RPCClientError) -> [UInt8] {
        let replyPath = replyDirectory + replyName
        unlink(replyPath)
        guard mkfifo(replyPath, 0o600) == 0 else { throw .system(call: "mkfifo \(replyPath)", errno: errno) }
        defer { unlink(replyPath) }
        // kamctl does `chmod a+w` so a server running as another user can open it.
        chmod(replyPath, 0o622)
        let deadline = ContinuousClock.now + timeout

        let replyFD = open(replyPath, O_RDONLY | O_NONBLOCK)
        guard replyFD >= 0 else { throw .system(call: "open \(replyPath)", errno: errno) }
        defer { RPCSocketIO.closeDescriptor(replyFD) }

        // Non-blocking open fails at once (ENXIO) when no server has the FIFO open.
        let serverFD = open(fifoPath, O_WRONLY | O_NONBLOCK)
        guard serverFD >= 0 else { throw .system(call: "open \(fifoPath)", errno: errno) }
        do {
            try RPCSocketIO.writeAll(serverFD, document, isSocket: false, until: deadline)
        } catch {
            RPCSocketIO.closeDescriptor(serverFD)
            throw error
        }
        RPCSocketIO.closeDescriptor(serverFD)

        // Until a writer has opened the reply FIFO, poll reports nothing (Linux reports
        // hang-up only after a writer came and went), so EOF below means "server done".
        var reply: [UInt8] = []
        while true {
            let chunk = try RPCSocketIO.readSome(replyFD, max: 65536, until: deadline)
            if chunk.isEmpty {
                if reply.isEmpty { throw .connectionClosed }
                return reply
            }
            reply += chunk
        }
    }
}
