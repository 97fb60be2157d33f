#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import SIPTransport

@Suite("TCP transport")
struct TransportTCPTests {
    private func tcpManager(_ ip: String = "127.0.0.1", options: TransportOptions = quickOptions(),
                            handler: RecordingHandler) throws -> (TransportManager, SocketAddress) {
        let m = try startManager([ListenSpec(proto: .tcp, host: ip, port: 0)], options: options, handler: handler)
        guard let address = m.listeners.first?.address else { throw TestFailure("no listener") }
        return (m, address)
    }

    @Test("two pipelined requests in one write reach the handler in order and both replies come back on the connection",
          arguments: ["127.0.0.1", "::1"])
    func pipelinedEndToEnd(ip: String) throws {
        let handler = RecordingHandler(reply: { r in Array("ECHO \(r.info.connectionID) ".utf8) + r.bytes.prefix(6) + [10] })
        let (m, address) = try tcpManager(ip, handler: handler)
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        let first = sipRequest("INVITE", body: "v=0\r\n", callID: "one")
        let second = sipRequest("BYE", callID: "two")
        client.write(first + second)

        let got = handler.wait(for: 2)
        #expect(got.map(\.bytes) == [first, second])
        let info = try #require(got.first?.info)
        #expect(info.proto == .tcp)
        #expect(info.connectionID != 0)
        #expect(got.allSatisfy { $0.info.connectionID == info.connectionID })
        #expect(info.source == client.local)
        #expect(info.local == address)
        #expect(info.listenerIndex == 0)

        let expected = "ECHO \(info.connectionID) INVITE\nECHO \(info.connectionID) BYE si\n"
        let answer = client.receive(atLeast: expected.utf8.count)
        #expect(String(decoding: answer, as: UTF8.self) == expected)
        #expect(m.statistics.snapshot().tcpConnectionsCurrent == 1)
    }

    @Test("a message split over many writes is framed once complete")
    func splitWrites() throws {
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(handler: handler)
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        let request = sipRequest("MESSAGE", body: String(repeating: "x", count: 3000))
        for start in stride(from: 0, to: request.count, by: 500) {
            client.write(Array(request[start..<min(start + 500, request.count)]))
            usleep(2000)
        }
        #expect(handler.wait(for: 1).map(\.bytes) == [request])
    }

    @Test("sending over TCP with no connection opens one, and requests coming back on it are read")
    func outboundConnect() throws {
        let serverHandler = RecordingHandler(reply: echoReply)
        let (server, serverAddress) = try tcpManager(handler: serverHandler)
        defer { server.stop() }
        let clientHandler = RecordingHandler()
        let (client, _) = try tcpManager(handler: clientHandler)
        defer { client.stop() }

        let request = sipRequest("OPTIONS")
        #expect(client.send(request, to: Destination(proto: .tcp, address: serverAddress)))
        let atServer = try #require(serverHandler.wait(for: 1).first)
        #expect(atServer.bytes == request)

        // The server's reply travels back on the connection the client opened.
        let back = try #require(clientHandler.wait(for: 1).first)
        #expect(back.text == "ECHO OPTIONS sip:bob@example.com SIP/2.0\r\n\r\n")
        let outbound = try #require(client.connections().first)
        #expect(outbound.isOutbound)
        #expect(back.info.connectionID == outbound.id)
        #expect(back.info.source == serverAddress)
        #expect(atServer.info.source == outbound.local)

        // A second send reuses the connection instead of opening another.
        #expect(client.send(request, to: Destination(proto: .tcp, address: serverAddress)))
        serverHandler.wait(for: 2)
        #expect(client.connections().count == 1)
        #expect(client.statistics.snapshot().tcpConnectionsTotal == 1)
    }

    @Test("connecting to a closed port fails with false, not a hang")
    func connectRefused() throws {
        let (m, _) = try tcpManager(handler: RecordingHandler())
        defer { m.stop() }
        // A port no TCP socket listens on: borrow one from a bound UDP socket.
        let loopback = try #require(SocketAddress(ip: "127.0.0.1", port: 0))
        let probe = try TestSocket(udp: loopback)
        let dead = try #require(probe.local)
        #expect(!m.send([1, 2, 3], to: Destination(proto: .tcp, address: dead)))
        #expect(m.statistics.snapshot().tcpConnectFailures == 1)
    }

    @Test("an idle connection is closed after tcpConnectionLifetime")
    func idleTimeout() throws {
        var options = quickOptions()
        options.tcpConnectionLifetime = 0.2
        let (m, address) = try tcpManager(options: options, handler: RecordingHandler())
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        let start = TransportClock.nowNanos()
        #expect(client.waitForEOF(seconds: 3))
        let elapsed = Double(TransportClock.nowNanos() - start) / 1e9
        #expect(elapsed >= 0.15 && elapsed < 2)
        #expect(m.statistics.snapshot().tcpIdleClosed == 1)
        #expect(waitUntil { m.connections().isEmpty })
    }

    @Test("a partial message followed by silence is closed after incompleteMessageTimeout")
    func incompleteTimeout() throws {
        var options = quickOptions()
        options.incompleteMessageTimeout = 0.2
        let (m, address) = try tcpManager(options: options, handler: RecordingHandler())
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        client.write(Array("INVITE sip:a SIP/2.0\r\nVia: x".utf8))
        #expect(client.waitForEOF(seconds: 3))
        #expect(m.statistics.snapshot().tcpIdleClosed == 0)
    }

    @Test("a busy stream whose reads always end mid-message is not taken for a stalled one")
    func steadyPartialStream() throws {
        var options = quickOptions()
        options.incompleteMessageTimeout = 1
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(options: options, handler: handler)
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        let stream = (0..<8).flatMap { sipRequest("MESSAGE", callID: "p\($0)") }
        let step = stream.count / 8
        // Every write but the first completes one message and starts the next; the nine
        // writes span 2.25 s, over twice the stall timeout, with gaps far below it (a loaded
        // machine can hold this thread back a few hundred milliseconds).
        let cuts = [0] + (0..<8).map { $0 * step + step / 2 } + [stream.count]
        for (from, to) in zip(cuts, cuts.dropFirst()) {
            client.write(Array(stream[from..<to]))
            usleep(250_000)
        }
        #expect(handler.wait(for: 8).count == 8)
        #expect(m.statistics.snapshot().framingErrors == 0)
    }

    @Test("a keep-alive CRLFCRLF ping gets a single CRLF pong")
    func keepAlivePong() throws {
        let (m, address) = try tcpManager(handler: RecordingHandler())
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        client.write([13, 10, 13, 10])
        #expect(client.receive() == [13, 10])
    }

    @Test("an invalid Content-Length closes the connection and counts a framing error")
    func invalidContentLengthCloses() throws {
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(handler: handler)
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        client.write(Array("INVITE sip:a SIP/2.0\r\nContent-Length: 4294967296\r\n\r\n".utf8))
        #expect(client.waitForEOF(seconds: 3))
        #expect(m.statistics.snapshot().framingErrors == 1)
        #expect(handler.messages.isEmpty)
    }

    @Test("connections beyond tcpMaxConnections are refused")
    func maxConnections() throws {
        var options = quickOptions()
        options.tcpMaxConnections = 1
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(options: options, handler: handler)
        defer { m.stop() }
        let first = try TestSocket(tcp: address)
        first.write(sipRequest("OPTIONS"))
        handler.wait(for: 1)
        let second = try TestSocket(tcp: address)
        #expect(second.waitForEOF(seconds: 3))
        #expect(m.statistics.snapshot().tcpConnectionsRefused == 1)
        first.write(sipRequest("OPTIONS"))
        #expect(handler.wait(for: 2).count == 2)
    }

    @Test("a full worker queue pauses reading and loses nothing, in order")
    func backPressure() throws {
        var options = quickOptions()
        options.tcpChildren = 1
        options.tcpQueueCapacity = 2
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(options: options, handler: handler)
        defer { m.stop() }
        handler.closeGate()
        let client = try TestSocket(tcp: address)
        let requests = (0..<40).map { sipRequest("MESSAGE", body: "n\($0)", callID: "c\($0)") }
        client.write(requests.flatMap { $0 })
        usleep(100_000)
        handler.openGate()
        #expect(handler.wait(for: 40).map(\.bytes) == requests)
    }

    @Test("replies fall back to any connection to the address when the id is unknown")
    func replyByAddress() throws {
        let handler = RecordingHandler()
        let (m, address) = try tcpManager(handler: handler)
        defer { m.stop() }
        let client = try TestSocket(tcp: address)
        client.write(sipRequest("OPTIONS"))
        let info = try #require(handler.wait(for: 1).first?.info)
        #expect(m.send(Array("X\n".utf8), to: Destination(proto: .tcp, address: info.source, connectionID: 999_999)))
        #expect(client.receive() == Array("X\n".utf8))
    }
}

/// A stand-in for a TLS pipe: plain bytes, but it counts its reads, so the test can see
/// the manager used the registered factory for both directions.
private struct CountingStream: StreamConnection {
    let plain: PlainStreamConnection
    let reads: LogCollector
    var fd: Int32 { plain.fd }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIOResult {
        reads.sink(.debug, "read")
        return plain.read(into: buffer)
    }
    func write(_ bytes: UnsafeRawBufferPointer) -> StreamIOResult { plain.write(bytes) }
    func shutdown() { plain.shutdown() }
    func close() { plain.close() }
}

@Suite("Stream transports beside TCP")
struct TransportStreamFactoryTests {
    @Test("a listen on tls needs a registered stream factory, and then works end to end")
    func tlsFactory() throws {
        let spec = ListenSpec(proto: .tls, host: "127.0.0.1", port: 0)
        #expect(throws: TransportError.unsupportedProtocol(spec)) {
            try TransportManager(listens: [spec]).start(handler: RecordingHandler())
        }
        let reads = LogCollector()
        var options = quickOptions()
        options.streamFactories[.tls] = { fd, _ in CountingStream(plain: PlainStreamConnection(fd: fd), reads: reads) }
        let handler = RecordingHandler(reply: echoReply)
        let m = try startManager([spec], options: options, handler: handler)
        defer { m.stop() }
        let address = try #require(m.listeners.first?.address)
        let client = try TestSocket(tcp: address)
        client.write(sipRequest("OPTIONS"))
        let got = try #require(handler.wait(for: 1).first)
        #expect(got.info.proto == .tls)
        #expect(!reads.lines.isEmpty)
        #expect(String(decoding: client.receive(atLeast: 4), as: UTF8.self).hasPrefix("ECHO OPTIONS"))
        #expect(!m.send([1], to: Destination(proto: .ws, address: address)))
    }
}
