#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import SIPTransport

@Suite("Transport manager life cycle")
struct TransportManagerTests {
    @Test("stop() returns promptly and frees the UDP and TCP ports")
    func stopFreesPorts() throws {
        var options = quickOptions()
        options.children = 8
        let handler = RecordingHandler()
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0),
                                  ListenSpec(proto: .tcp, host: "127.0.0.1", port: 0)],
                                 options: options, handler: handler)
        let udp = try #require(m.listeners.first?.address)
        let tcp = try #require(m.listeners.last?.address)
        // An open connection must not keep stop() waiting either.
        let client = try TestSocket(tcp: tcp)
        client.write(sipRequest("OPTIONS"))
        handler.wait(for: 1)

        let start = TransportClock.nowNanos()
        m.stop()
        #expect(TransportClock.nowNanos() - start < 1_000_000_000)
        #expect(client.waitForEOF(seconds: 1))

        let again = TransportManager(listens: [ListenSpec(proto: .udp, host: "127.0.0.1", port: udp.port),
                                               ListenSpec(proto: .tcp, host: "127.0.0.1", port: tcp.port)],
                                     options: quickOptions())
        try again.start(handler: RecordingHandler())
        #expect(again.listeners.map(\.address) == [udp, tcp])
        again.stop()
        m.stop()  // idempotent
    }

    @Test("stop() does not drain a full UDP receive buffer through a slow script")
    func stopUnderLoad() throws {
        var options = quickOptions()
        options.maxReceiveBuffer = 4_194_304
        let handler = RecordingHandler(reply: { _ in usleep(2000); return nil })
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], options: options, handler: handler)
        let address = try #require(m.listeners.first?.address)
        let client = try TestSocket(udp: address)
        for _ in 0..<3000 { client.sendTo(sipRequest("OPTIONS"), address) }
        handler.wait(for: 1)
        let start = TransportClock.nowNanos()
        m.stop()
        #expect(TransportClock.nowNanos() - start < 1_000_000_000)
        #expect(handler.messages.count < 3000)
    }

    @Test("binding a taken port fails with the spec and the system's reason")
    func bindError() throws {
        let first = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], handler: RecordingHandler())
        defer { first.stop() }
        let port = try #require(first.listeners.first?.address.port)
        let second = TransportManager(listens: [ListenSpec(proto: .tcp, host: "127.0.0.1", port: 0),
                                                ListenSpec(proto: .udp, host: "127.0.0.1", port: port)])
        #expect(throws: TransportError.cannotBind(ListenSpec(proto: .udp, host: "127.0.0.1", port: port), EADDRINUSE)) {
            try second.start(handler: RecordingHandler())
        }
        let text = TransportError.cannotBind(ListenSpec(proto: .udp, host: "127.0.0.1", port: 5060), EADDRINUSE).description
        #expect(text == "cannot bind udp:127.0.0.1:5060: Address already in use")
        #expect(second.listeners.isEmpty)
    }

    @Test("listeners report the bound port and the advertised address")
    func listenerInfo() throws {
        let m = try startManager([
            ListenSpec(proto: .udp, host: "localhost", port: 0),
            ListenSpec(proto: .tcp, host: "::1", port: 0, advertiseHost: "sip.example.com", advertisePort: 5080),
        ], handler: RecordingHandler())
        defer { m.stop() }
        let l = m.listeners
        #expect(l.count == 2)
        #expect(l[0].index == 0 && l[0].proto == .udp && l[0].address.port != 0)
        #expect(l[0].advertisedHost == l[0].address.hostString && l[0].advertisedPort == l[0].address.port)
        #expect(l[0].receiveBufferSize > 0)
        #expect(l[1].address.ipString == "::1")
        #expect(l[1].advertisedHost == "sip.example.com" && l[1].advertisedPort == 5080)
        #expect(m.workerCount == 2 + 2)
    }

    @Test("start twice is refused; an unresolvable host is a clear error")
    func startErrors() throws {
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], handler: RecordingHandler())
        defer { m.stop() }
        #expect(throws: TransportError.alreadyStarted) { try m.start(handler: RecordingHandler()) }
        let bad = TransportManager(listens: [ListenSpec(proto: .udp, host: "no-such-host.invalid", port: 0)])
        #expect(throws: TransportError.cannotResolve(ListenSpec(proto: .udp, host: "no-such-host.invalid", port: 0))) {
            try bad.start(handler: RecordingHandler())
        }
    }

    @Test("sending after stop fails instead of crashing")
    func sendAfterStop() throws {
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], handler: RecordingHandler())
        let address = try #require(m.listeners.first?.address)
        m.stop()
        #expect(!m.send([1], to: Destination(proto: .udp, address: address)))
    }
}

@Suite("Resolver")
struct TransportResolverTests {
    @Test("numeric addresses resolve without lookup, brackets allowed")
    func numeric() {
        #expect(TransportResolver.resolve(host: "127.0.0.1", port: 5060)?.description == "127.0.0.1:5060")
        #expect(TransportResolver.resolve(host: "[::1]", port: 5061)?.description == "[::1]:5061")
        #expect(TransportResolver.resolve(host: "::1", port: 1)?.isIPv6 == true)
    }

    @Test("localhost resolves through getaddrinfo with the requested port")
    func names() throws {
        let a = try #require(TransportResolver.resolve(host: "localhost", port: 5070))
        #expect(a.port == 5070)
        #expect(a.ipString == "127.0.0.1" || a.ipString == "::1")
        #expect(TransportResolver.resolve(host: "no-such-host.invalid", port: 1) == nil)
        #expect(TransportResolver.resolveAll(host: "*", port: 7).first?.description == "0.0.0.0:7")
    }
}
