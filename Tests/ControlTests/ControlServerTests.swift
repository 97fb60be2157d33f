@testable import Control
import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A fresh short directory for socket files (Unix socket paths are limited to 107 bytes).
func scratchDirectory() -> String {
    let dir = "/tmp/ctltest-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    mkdir(dir, 0o700)
    return dir
}

func fileMode(_ path: String) -> (type: mode_t, perm: mode_t)? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return (st.st_mode & S_IFMT, st.st_mode & 0o7777)
}

@Suite("Control servers round trips", .serialized)
struct ControlServerTests {
    @Test("binrpc over a Unix stream socket: several calls on one connection, file mode, removal")
    func binrpcUnix() throws {
        let dir = scratchDirectory()
        let path = dir + "/ctl"
        let server = try ControlBinrpcServer(address: .unixStream(path: path), access: ControlFileAccess(mode: 0o600),
                                             registry: testRegistry())
        try server.start()
        #expect(fileMode(path)?.type == S_IFSOCK)
        #expect(fileMode(path)?.perm == 0o600)
        let client = try RPCBinrpcClient(address: .unixStream(path: path))
        #expect(try client.call("t.two", []) == [1, "last"])
        #expect(try client.call("t.echo", ["x", 300]) == ["x", "300"])
        #expect(throws: RPCClientError.fault(RPCFault(code: 500, message: "command no.such not found"))) {
            try client.call("no.such", [])
        }
        #expect(throws: RPCClientError.fault(RPCFault(code: 400, message: "error at parameter 0: expected string type but end of packet encountered"))) {
            try client.call("t.seti", [])
        }
        #expect(try client.call("system.methodHelp", ["t.two"]) == ["two values"])
        #expect(server.connections().count == 1)
        #expect(server.connections().first?.peerAddress == "<anonymous unix socket>")
        client.close()
        server.stop()
        #expect(fileMode(path) == nil)
        rmdir(dir)
    }

    @Test("pipelined requests are answered in order; a corrupt packet gets 400 with cookie 0 and a close")
    func pipeliningAndCorruptPacket() throws {
        let dir = scratchDirectory()
        let path = dir + "/ctl"
        let server = try ControlBinrpcServer(address: .unixStream(path: path), registry: testRegistry())
        try server.start()
        defer { server.stop(); rmdir(dir) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        guard case (var addr, let len)? = RPCSocketIO.unixAddress(path) else { throw RPCClientError.timeout }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        #expect(r == 0)
        let two = BinrpcPacket.request("t.two", cookie: 0x1111_1111).encoded() + BinrpcPacket.request("t.echo", ["a"], cookie: 0x22).encoded()
        _ = two.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var decoder = BinrpcStreamDecoder()
        var packets: [BinrpcPacket] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while packets.count < 2 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { break }
            decoder.append(buffer[0..<n])
            while case .packet(let p) = decoder.next() { packets.append(p) }
        }
        #expect(packets == [BinrpcPacket(cookie: 0x1111_1111, body: .reply([1, "last"])),
                            BinrpcPacket(cookie: 0x22, body: .reply(["a"]))])
        let corrupt: [UInt8] = [0xB1, 0x03, 0x0E, 1, 2, 3, 4] + Array(repeating: 0x78, count: 14)
        _ = corrupt.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var reply: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            reply += buffer[0..<n]
        }
        #expect(try BinrpcPacket.decode(reply) == BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)))
    }

    @Test("a stale socket file is replaced; a regular file in the way is refused")
    func staleFiles() throws {
        let dir = scratchDirectory()
        defer { rmdir(dir) }
        let path = dir + "/ctl"
        let first = try ControlBinrpcServer(address: .unixStream(path: path), registry: testRegistry())
        try first.start()
        // A crash leaves the file behind: simulate by starting a second server over it.
        let second = try ControlBinrpcServer(address: .unixStream(path: path), registry: testRegistry())
        try second.start()
        let client = try RPCBinrpcClient(address: .unixStream(path: path))
        #expect(try client.call("t.two", []) == [1, "last"])
        client.close()
        first.stop()
        second.stop()
        _ = FileManager.default.createFile(atPath: path, contents: Data("keep me".utf8))
        let third = try ControlBinrpcServer(address: .unixStream(path: path), registry: testRegistry())
        #expect(throws: ControlError.self) { try third.start() }
        #expect(FileManager.default.contents(atPath: path) == Data("keep me".utf8))
        unlink(path)
    }

    @Test("JSON-RPC over a Unix datagram socket, with jsonrpcs's empty result for a bad version")
    func datagramUnix() throws {
        let dir = scratchDirectory()
        let path = dir + "/rpc.sock"
        let server = try ControlDatagramServer(address: .unixDatagram(path: path), registry: testRegistry())
        try server.start()
        defer { server.stop(); rmdir(dir) }
        #expect(fileMode(path)?.perm == 0o660)
        let client = try RPCJSONDatagramClient(address: .unixDatagram(path: path))
        #expect(try client.call("t.two", []) == ["last"])
        #expect(try client.call("t.echo", ["hello", 42, 3.5]) == [["hello", "42", "3"]])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try client.call("no.such", []) }
        let bad = server.answer(Array(#"{"jsonrpc":"1.0","method":"t.two","id":4}"#.utf8))
        #expect(bad.map { String(decoding: $0, as: UTF8.self) } == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t},\n\t\"id\":\t4\n}")
        let batch = server.answer(Array(#"[{"jsonrpc":"2.0","method":"t.two","id":6}]"#.utf8))
        #expect(batch.map { String(decoding: $0, as: UTF8.self) } == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t}\n}")
    }

    @Test("a large datagram reply arrives whole over a Unix socket (as jsonrpcs sends it)")
    func largeDatagramReply() throws {
        let dir = scratchDirectory()
        let path = dir + "/rpc.sock"
        let server = try ControlDatagramServer(address: .unixDatagram(path: path), registry: testRegistry())
        try server.start()
        defer { server.stop(); rmdir(dir) }
        // The Shared client reads 64 KiB per datagram, so read this one with a raw socket.
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var local = sockaddr_un()
        local.sun_family = sa_family_t(AF_UNIX)
        _ = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sa_family_t>.size)) }
        }
        guard case (var addr, let len)? = RPCSocketIO.unixAddress(path) else { throw RPCClientError.timeout }
        let request = JSONRPCRequest(method: "t.echo", params: [RPCValue](repeating: 4, count: 15000), id: .int(1))
        let bytes = request.encoded(style: .compact)
        _ = bytes.withUnsafeBytes { raw in
            withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, raw.baseAddress, raw.count, 0, $0, len) }
            }
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 5000) == 1)
        var buffer = [UInt8](repeating: 0, count: 1 << 18)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        #expect(n > 65536)
        let reply = try JSONRPCReply.decode(buffer[0..<max(0, n)])
        #expect(reply.outcome == .result(.array([RPCValue](repeating: "4", count: 15000))))
    }

    @Test("binrpc and JSON-RPC over UDP on 127.0.0.1")
    func udp() throws {
        let json = try ControlDatagramServer(address: .udp(host: "127.0.0.1", port: 0), registry: testRegistry())
        try json.start()
        defer { json.stop() }
        let jc = try RPCJSONDatagramClient(address: .udp(host: "127.0.0.1", port: json.boundPort))
        #expect(try jc.call("t.two", []) == ["last"])
        let bin = try ControlDatagramServer(address: .udp(host: "127.0.0.1", port: 0), wireProtocol: .binrpc, registry: testRegistry())
        try bin.start()
        defer { bin.stop() }
        let bc = try RPCBinrpcClient(address: .udp(host: "127.0.0.1", port: bin.boundPort))
        #expect(try bc.call("t.two", []) == [1, "last"])
    }

    @Test("binrpc over TCP reports the peer in connections()")
    func tcp() throws {
        let server = try ControlBinrpcServer(address: .tcp(host: "127.0.0.1", port: 0), registry: testRegistry())
        try server.start()
        defer { server.stop() }
        let client = try RPCBinrpcClient(address: .tcp(host: "127.0.0.1", port: server.boundPort))
        #expect(try client.call("t.two", []) == [1, "last"])
        #expect(server.connections().first?.peerAddress == "127.0.0.1")
        #expect(server.endpoint.port == String(server.boundPort))
    }

    @Test("FIFO: kamctl-style exchange, mode 0660, removal; a symlinked reply FIFO is refused")
    func fifo() throws {
        let dir = scratchDirectory()
        let replyDir = scratchDirectory()
        let path = dir + "/rpc.fifo"
        let server = try ControlFIFOServer(path: path, replyDirectory: replyDir, registry: testRegistry())
        try server.start()
        #expect(fileMode(path)?.type == S_IFIFO)
        #expect(fileMode(path)?.perm == 0o660)
        let client = try RPCFIFOClient(address: .fifo(path: path), replyDirectory: replyDir, timeout: .seconds(3))
        #expect(try client.call("t.two", []) == ["last"])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try client.call("no.such", []) }
        // Two documents in one write: both run; the client reads until the first reply's
        // writer closes, so only the first reply is certain to be seen here.
        let doc = #"{"jsonrpc":"2.0","method":"t.two","reply_name":"rr_e","id":5}{"jsonrpc":"2.0","method":"system.methodHelp","params":["t.two"],"reply_name":"rr_e","id":6}"#
        let text = String(decoding: try client.send(Array(doc.utf8), replyName: "rr_e"), as: UTF8.self)
        #expect(text.hasPrefix("{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"last\",\n\t\"id\":\t5\n}"))
        // A symlink in place of the reply FIFO: nothing is written through it.
        let target = replyDir + "/target"
        mkfifo(target, 0o600)
        symlink(target, replyDir + "/evil")
        let fd = open(target, O_RDONLY | O_NONBLOCK)
        server.writeReply(Array("x".utf8), to: replyDir + "/evil")
        var b: UInt8 = 0
        #expect(read(fd, &b, 1) <= 0)
        close(fd)
        unlink(replyDir + "/evil")
        unlink(target)
        server.stop()
        #expect(fileMode(path) == nil)
        rmdir(dir)
        rmdir(replyDir)
    }
}
