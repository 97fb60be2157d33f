import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Shared

@Suite("RPC clients")
struct RPCClientTests {
    @Test("addresses parse in ctl's and kamcmd's syntax")
    func addresses() throws {
        let table: [(String, RPCAddress)] = [
            ("unix:/run/kamailio/kamailio_ctl", .unixStream(path: "/run/kamailio/kamailio_ctl")),
            ("unixs:/var/run/kamailio//kamailio_ctl", .unixStream(path: "/var/run/kamailio//kamailio_ctl")),
            ("/tmp/ctl", .unixStream(path: "/tmp/ctl")),
            ("unixd:/tmp/d", .unixDatagram(path: "/tmp/d")),
            ("dgram:/run/kamailio/kamailio_rpc.sock", .unixDatagram(path: "/run/kamailio/kamailio_rpc.sock")),
            ("fifo:/run/kamailio/kamailio_rpc.fifo", .fifo(path: "/run/kamailio/kamailio_rpc.fifo")),
            ("udp:127.0.0.1:2046", .udp(host: "127.0.0.1", port: 2046)),
            ("udp:localhost", .udp(host: "localhost", port: 2049)),
            ("tcp:10.0.0.1:9000", .tcp(host: "10.0.0.1", port: 9000)),
            ("tcp:[::1]:9000", .tcp(host: "::1", port: 9000)),
            ("udp:[::1]", .udp(host: "::1", port: 2049)),
            ("127.0.0.1:2049", .udp(host: "127.0.0.1", port: 2049)),
        ]
        for (text, address) in table {
            #expect(try RPCAddress(parsing: text) == address, "\(text)")
            #expect(try RPCAddress(parsing: address.description) == address)
        }
        for bad in ["unix:", "udp:", "udp:host:0", "udp:host:99999", "tcp:[::1", "tcp:[::1]x", "fifo:", "udp::5"] {
            #expect(throws: RPCAddress.ParseError.self, "\(bad)") { try RPCAddress(parsing: bad) }
        }
    }

    @Test("the binrpc client calls methods over one stream connection and surfaces faults")
    func binrpcStream() throws {
        let (dir, listener) = try TestServers.binrpcStreamFixture(connections: 2, trickle: false)
        defer { TestServers.tearDown(dir, listener) }
        let client = try RPCBinrpcClient(address: .unixStream(path: dir + "/ctl"), timeout: .seconds(5))
        #expect(try client.call("core.version") == ["kamailio 5.6.3 (x86_64/linux) "])
        #expect(try client.call("core.echo", ["a", 1, 1.5]) == ["a", 1, 1.5])
        #expect(try client.call("core.uptime") == [.object(["now": "Fri Nov 27 13:49:49 2026", "uptime": 251])])
        #expect(throws: RPCClientError.fault(.commandNotFound("no.such.method"))) { try client.call("no.such.method", []) }
        // The connection survives a fault.
        #expect(try client.call("core.version").count == 1)
        client.close()
        #expect(throws: RPCClientError.connectionClosed) { try client.call("core.version", []) }

        // The server's corrupt-packet fault (cookie 0) reaches the caller.
        var bad = BinrpcPacket.request("x", cookie: 7).encoded()
        bad[1] = 0x20
        let reply = try rawExchange(path: dir + "/ctl", bad)
        #expect(reply == BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)))
    }

    /// Sends raw bytes (a damaged packet cannot be expressed as a `BinrpcPacket`) over a
    /// connection of our own and returns the server's answer.
    private func rawExchange(path: String, _ bytes: [UInt8]) throws -> BinrpcPacket {
        let fd = try RPCSocketIO.connectUnix(path: path, type: RPCSocketIO.streamType, bindAutomatically: false)
        defer { close(fd) }
        let deadline = ContinuousClock.now + .seconds(5)
        try RPCSocketIO.writeAll(fd, bytes, isSocket: true, until: deadline)
        var decoder = BinrpcStreamDecoder()
        while true {
            if case .packet(let p) = decoder.next() { return p }
            let chunk = try RPCSocketIO.readSome(fd, max: 4096, until: deadline)
            if chunk.isEmpty { throw RPCClientError.connectionClosed }
            decoder.append(chunk)
        }
    }

    @Test("replies arriving one byte at a time are reassembled")
    func binrpcTrickle() throws {
        let (dir, listener) = try TestServers.binrpcStreamFixture(connections: 1, trickle: true)
        defer { TestServers.tearDown(dir, listener) }
        let client = try RPCClients.connect(try RPCAddress(parsing: "unix:" + dir + "/ctl"))
        #expect(try client.call("core.uptime", []) == [.object(["now": "Fri Nov 27 13:49:49 2026", "uptime": 251])])
    }

    @Test("a silent stream server makes the call time out, and late replies are skipped")
    func binrpcTimeout() throws {
        let (dir, listener) = try TestServers.binrpcStreamFixture(connections: 1, trickle: false)
        defer { TestServers.tearDown(dir, listener) }
        let client = try RPCBinrpcClient(address: .unixStream(path: dir + "/ctl"), timeout: .milliseconds(300))
        let started = ContinuousClock.now
        #expect(throws: RPCClientError.timeout) { try client.call("silent", []) }
        #expect(ContinuousClock.now - started < .seconds(3))
        // A reply that arrives after its call timed out is skipped by the next call.
        client.timeout = .milliseconds(100)
        #expect(throws: RPCClientError.timeout) { try client.call("slow", []) }
        client.timeout = .seconds(5)
        #expect(try client.call("core.version") == ["kamailio 5.6.3 (x86_64/linux) "])
    }

    @Test("connecting to a missing socket reports the system error")
    func missingSocket() {
        #expect(throws: RPCClientError.system(call: "connect /tmp/no-such-kamailio-ctl", errno: ENOENT)) {
            _ = try RPCBinrpcClient(address: .unixStream(path: "/tmp/no-such-kamailio-ctl"))
        }
        #expect(throws: RPCClientError.unsupportedAddress(.fifo(path: "/x"))) {
            _ = try RPCBinrpcClient(address: .fifo(path: "/x"))
        }
        let long = "/tmp/" + String(repeating: "x", count: 200)
        #expect(throws: RPCClientError.unsupportedAddress(.unixStream(path: long))) {
            _ = try RPCBinrpcClient(address: .unixStream(path: long))
        }
    }

    @Test("the JSON-RPC datagram client round-trips over a Unix datagram socket")
    func jsonUnixDatagram() throws {
        let (dir, fd) = try TestServers.unixDatagramFixture(name: "/rpc.sock", binrpc: false)
        defer { TestServers.tearDownDatagram(dir, fd) }
        let client = try RPCJSONDatagramClient(address: .unixDatagram(path: dir + "/rpc.sock"), timeout: .seconds(5))
        #expect(try client.call("core.version") == ["kamailio 5.6.3 (x86_64/linux) "])
        #expect(try client.call("core.echo", ["a", 42]) == [["a", 42]])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try client.call("no.such", []) }
        client.timeout = .milliseconds(200)
        #expect(throws: RPCClientError.timeout) { try client.call("silent", []) }
        client.timeout = .seconds(5)
        #expect(try client.call("core.uptime")[0]["uptime"] == 251)
    }

    @Test("the JSON-RPC datagram client round-trips over UDP on 127.0.0.1")
    func jsonUDP() throws {
        let (fd, port) = TestServers.bindLoopback(type: RPCSocketIO.datagramType)
        defer { TestServers.tearDownDatagram(nil, fd) }
        TestServers.startDatagram(fd: fd, binrpc: false)
        let client = try RPCClients.connect(try RPCAddress(parsing: "udp:127.0.0.1:\(port)"), timeout: .seconds(5))
        #expect(try client.call("core.version", []) == ["kamailio 5.6.3 (x86_64/linux) "])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try client.call("nope", []) }
    }

    @Test("the binrpc client works over TCP, and a closed port is refused at once")
    func binrpcTCP() throws {
        let (listener, port) = TestServers.bindLoopback(type: RPCSocketIO.streamType)
        defer { close(listener) }
        TestServers.startBinrpcStream(listener: listener, connections: 1, trickle: false)
        let client = try RPCClients.connect(try RPCAddress(parsing: "tcp:127.0.0.1:\(port)"))
        #expect(try client.call("core.echo", ["x"]) == ["x"])

        let (unused, closedPort) = TestServers.bindLoopback(type: RPCSocketIO.streamType)
        close(unused)
        #expect(throws: RPCClientError.system(call: "connect 127.0.0.1:\(closedPort)", errno: ECONNREFUSED)) {
            _ = try RPCBinrpcClient(address: .tcp(host: "127.0.0.1", port: closedPort))
        }
    }

    @Test("the binrpc client also speaks one packet per datagram")
    func binrpcDatagram() throws {
        let (dir, fd) = try TestServers.unixDatagramFixture(name: "/ctl.d", binrpc: true)
        defer { TestServers.tearDownDatagram(dir, fd) }
        let client = try RPCClients.connect(.unixDatagram(path: dir + "/ctl.d"), datagramProtocol: .binrpc)
        #expect(try client.call("core.uptime", []) == [.object(["now": "Fri Nov 27 13:49:49 2026", "uptime": 251])])
        #expect(throws: RPCClientError.fault(.commandNotFound("x.y"))) { try client.call("x.y", []) }
    }

    @Test("the FIFO client writes kamctl's request, reads the reply FIFO to EOF and removes it")
    func fifo() throws {
        let dir = try TestServers.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let replies = dir + "/replies"
        try FileManager.default.createDirectory(atPath: replies, withIntermediateDirectories: false)
        TestServers.startFIFO(path: dir + "/rpc.fifo", replyDirectory: replies, requests: 4)
        let client = try RPCFIFOClient(address: .fifo(path: dir + "/rpc.fifo"), replyDirectory: replies, timeout: .seconds(5))
        #expect(try client.call("core.version") == ["kamailio 5.6.3 (x86_64/linux) "])
        #expect(try client.call("core.echo", ["x", 7]) == [["x", 7]])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try client.call("no.such", []) }
        client.timeout = .milliseconds(300)
        #expect(throws: RPCClientError.timeout) { try client.call("silent", []) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: replies).isEmpty)
    }

    @Test("a FIFO nobody reads fails at once instead of hanging")
    func fifoWithoutServer() throws {
        let dir = try TestServers.makeDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo(dir + "/rpc.fifo", 0o600) == 0)
        let client = try RPCFIFOClient(address: .fifo(path: dir + "/rpc.fifo"), replyDirectory: dir, timeout: .seconds(5))
        #expect(throws: RPCClientError.system(call: "open \(dir)/rpc.fifo", errno: ENXIO)) { try client.call("core.version", []) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["rpc.fifo"])
    }
}
