#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Shared

/// jsonrpcs's FIFO server (spec §4): JSON-RPC documents written to a named pipe, each
/// answered through the reply FIFO its `reply_name` names in `fifo_reply_dir` — the
/// exchange `kamctl rpc` performs.
///
/// Documents are framed by brace counting; what cannot be parsed or validated is dropped
/// without a reply, as Kamailio does. A reply FIFO that is missing, not a FIFO, a symlink
/// or hard-linked is refused (the method has run; only its reply is lost).
public final class ControlFIFOServer: Sendable {
    /// The server FIFO.
    public let path: String
    /// Where reply FIFOs are looked up, with a trailing slash.
    public let replyDirectory: String
    private let access: ControlFileAccess
    private let registry: RPCRegistry
    private let options: ControlServerOptions
    private let style: RPCJSONStyle
    private let stopSignal: ControlStopSignal

    /// How often and how far apart the reply FIFO is tried while its reader is not there
    /// yet (jsonrpcs: 4 tries, 80 ms apart).
    static let replyOpenAttempts = 4
    /// The pause between those tries.
    static let replyOpenDelayMicroseconds: UInt32 = 80_000

    /// Creates a server; `prettyJSON` is jsonrpcs's `pretty_format`.
    public init(path: String, replyDirectory: String = "/tmp/", access: ControlFileAccess = ControlFileAccess(mode: 0o660),
                registry: RPCRegistry, options: ControlServerOptions = ControlServerOptions(),
                prettyJSON: Bool = true) throws(ControlError) {
        self.path = path
        self.replyDirectory = replyDirectory.hasSuffix("/") ? replyDirectory : replyDirectory + "/"
        self.access = access
        self.registry = registry
        self.options = options
        self.style = prettyJSON ? .pretty : .compact
        self.stopSignal = try ControlStopSignal()
    }

    /// Creates the FIFO with the configured mode and starts the reader thread.
    public func start() throws(ControlError) {
        let fd = try ControlSocketIO.fifo(path: path, access: access)
        ControlSocketIO.startThread("jsonrpcs fifo") { [self] in serve(fd) }
    }

    /// The endpoint as `ctl.listen`-style listings show it.
    public var endpoint: ControlEndpointInfo {
        ControlEndpointInfo(proto: "jsonrpc", transport: "fifo", address: path, port: "")
    }

    /// Stops the reader and removes the FIFO.
    public func stop() {
        stopSignal.fire()
        unlink(path)
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var framer = JSONRPCFIFOFramer()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while ControlSocketIO.waitReadable(fd, stop: stopSignal) {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                // We hold a write end ourselves, so 0 is not EOF; back off on odd errors.
                if n < 0 && errno != EAGAIN && errno != EINTR { usleep(10_000) }
                continue
            }
            for event in framer.feed(buffer[0..<n]) {
                guard case .document(let bytes) = event else { continue }
                handle(bytes)
            }
        }
    }

    /// Runs one document and writes its reply, when it has one and may get one.
    func handle(_ document: [UInt8]) {
        guard let value = try? RPCJSONParser.parse(document),
              let (reply, replyName) = ControlJSONRPC.answer(value, registry: registry, style: style,
                                                             refusedGetEmptyResult: false),
              let replyName,
              JSONRPCRequest.isAcceptableReplyName(replyName, replyDirectory: replyDirectory)
        else { return }
        writeReply(reply, to: replyDirectory + replyName)
    }

    /// Opens the reply FIFO without blocking and without following links, checks it is a
    /// FIFO with one link, writes the reply and closes it (the client reads until EOF).
    func writeReply(_ reply: [UInt8], to replyPath: String) {
        var fd: Int32 = -1
        for attempt in 0..<ControlFIFOServer.replyOpenAttempts {
            fd = open(replyPath, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 || errno != ENXIO { break }
            // ENXIO: no reader yet; the client may still be opening it.
            if attempt + 1 < ControlFIFOServer.replyOpenAttempts { usleep(ControlFIFOServer.replyOpenDelayMicroseconds) }
        }
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFIFO, st.st_nlink == 1 else { return }
        _ = ControlSocketIO.writeAll(fd, reply, isSocket: false, timeout: options.sendTimeout)
    }
}
