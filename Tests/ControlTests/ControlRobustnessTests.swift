@testable import Control
import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A raw Unix stream connection for sending what no well-behaved client would.
final class RawUnixStream {
    let fd: Int32

    init(_ path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard case (var addr, let len)? = RPCSocketIO.unixAddress(path) else { throw RPCClientError.timeout }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, len) } }
        guard r == 0 else { throw RPCClientError.connectionClosed }
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// True when the server closed the connection within `seconds`.
    func closedByServer(within seconds: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(Double(seconds))
        while Date() < deadline {
            guard poll(&pfd, 1, 100) >= 0 else { return false }
            if pfd.revents == 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n == 0 || (n < 0 && errno == ECONNRESET) { return true }
        }
        return false
    }

    deinit { close(fd) }
}

@Suite("Control servers under bad input", .serialized)
struct ControlRobustnessTests {
    func server(_ options: ControlServerOptions = ControlServerOptions()) throws -> (ControlBinrpcServer, String, String) {
        let dir = scratchDirectory()
        let path = dir + "/ctl"
        let s = try ControlBinrpcServer(address: .unixStream(path: path), registry: testRegistry(), options: options)
        try s.start()
        return (s, path, dir)
    }

    @Test("a silent client, a lying length and a truncated frame do not stop other clients")
    func silentAndTruncatedClients() throws {
        var options = ControlServerOptions()
        options.idleTimeout = 0.5
        let (s, path, dir) = try server(options)
        defer { s.stop(); rmdir(dir) }
        let silent = try RawUnixStream(path)
        let lying = try RawUnixStream(path)
        lying.send([0xA1, 0x07, 0xEA, 0x60, 1, 2, 3, 4, 0x91, 0x0c])  // announces 60000 bytes, sends 2
        let client = try RPCBinrpcClient(address: .unixStream(path: path), timeout: .seconds(5))
        #expect(try client.call("t.two", []) == [1, "last"])
        // The idle timeout ends both stalled connections.
        #expect(silent.closedByServer(within: 3))
        #expect(lying.closedByServer(within: 3))
        let later = try RPCBinrpcClient(address: .unixStream(path: path), timeout: .seconds(5))
        #expect(try later.call("t.two", []) == [1, "last"])
    }

    @Test("a client that never reads its replies is dropped after the send timeout")
    func clientThatNeverReads() throws {
        var options = ControlServerOptions()
        options.sendTimeout = 0.3
        let (s, path, dir) = try server(options)
        defer { s.stop(); rmdir(dir) }
        let greedy = try RawUnixStream(path)
        let big = BinrpcPacket.request("t.echo", [RPCValue](repeating: .string(String(repeating: "x", count: 200)), count: 300),
                                       cookie: 1).encoded()
        for _ in 0..<40 { greedy.send(big) }
        let client = try RPCBinrpcClient(address: .unixStream(path: path), timeout: .seconds(5))
        #expect(try client.call("t.two", []) == [1, "last"])
        #expect(greedy.closedByServer(within: 5))
    }

    @Test("random bytes get a fault or a close, never a hang or a crash")
    func fuzzedStreams() throws {
        let (s, path, dir) = try server()
        defer { s.stop(); rmdir(dir) }
        var rng = SystemRandomNumberGenerator()
        for i in 0..<50 {
            let raw = try RawUnixStream(path)
            var bytes = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 2 == 0 { bytes[0] = 0xA1 }  // get past the magic check half of the time
            raw.send(bytes)
        }
        let client = try RPCBinrpcClient(address: .unixStream(path: path), timeout: .seconds(5))
        #expect(try client.call("t.two", []) == [1, "last"])
    }

    @Test("bad JSON on the datagram socket is dropped; good requests keep being answered")
    func badDatagrams() throws {
        let server = try ControlDatagramServer(address: .udp(host: "127.0.0.1", port: 0), registry: testRegistry())
        #expect(server.answer(Array("not json".utf8)) == nil)
        #expect(server.answer(Array("{\"jsonrpc\":\"2.0\",".utf8)) == nil)
        #expect(server.answer(Array("42".utf8)) == nil)
        let deep = String(repeating: "[", count: 10000)
        #expect(server.answer(Array(deep.utf8)) == nil)
        let binrpc = try ControlDatagramServer(address: .udp(host: "127.0.0.1", port: 0), wireProtocol: .binrpc,
                                               registry: testRegistry())
        let fault = binrpc.answer([0xA1, 0x00, 0x05, 0x01])
        #expect(fault.flatMap { try? BinrpcPacket.decode($0) } == BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)))
    }

    @Test("FIFO: garbage poisons only the next document; a reply path that is not a FIFO is refused")
    func badFIFOInput() throws {
        let dir = scratchDirectory()
        let replyDir = scratchDirectory()
        let path = dir + "/rpc.fifo"
        let server = try ControlFIFOServer(path: path, replyDirectory: replyDir, registry: testRegistry())
        try server.start()
        defer { server.stop(); rmdir(dir); rmdir(replyDir) }
        let client = try RPCFIFOClient(address: .fifo(path: path), replyDirectory: replyDir, timeout: .seconds(1))
        #expect(throws: RPCClientError.self) {
            _ = try client.send(Array("garbage {\"jsonrpc\":\"2.0\",\"method\":\"t.two\",\"reply_name\":\"r1\"}".utf8), replyName: "r1")
        }
        client.timeout = .seconds(5)  // the unanswered one above waited 1 s; this one is answered
        #expect(try client.call("t.two", []) == ["last"])
        // A regular file where the reply FIFO should be: nothing is written into it.
        let plain = replyDir + "/plain"
        _ = FileManager.default.createFile(atPath: plain, contents: Data())
        server.writeReply(Array("x".utf8), to: plain)
        #expect(FileManager.default.contents(atPath: plain) == Data())
        unlink(plain)
    }
}
