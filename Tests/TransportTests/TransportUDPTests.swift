#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization
import Testing
@testable import SIPTransport

@Suite("UDP transport")
struct TransportUDPTests {
    @Test("a datagram reaches the handler with the right ReceiveInfo and the reply comes back",
          arguments: ["127.0.0.1", "::1"])
    func receiveAndReply(ip: String) throws {
        let handler = RecordingHandler(reply: echoReply)
        let m = try startManager([ListenSpec(proto: .udp, host: ip, port: 0)], handler: handler)
        defer { m.stop() }
        let listener = try #require(m.listeners.first)
        #expect(listener.address.ipString == ip)
        #expect(listener.address.port != 0)

        let client = try TestSocket(udp: listener.address)
        let request = sipRequest("OPTIONS")
        client.sendTo(request, listener.address)
        let answer = try #require(client.receive())
        #expect(String(decoding: answer, as: UTF8.self) == "ECHO OPTIONS sip:bob@example.com SIP/2.0\r\n\r\n")

        let got = try #require(handler.wait(for: 1).first)
        #expect(got.bytes == request)
        #expect(got.info.proto == .udp)
        #expect(got.info.source == client.local)
        #expect(got.info.local == listener.address)
        #expect(got.info.listenerIndex == 0)
        #expect(got.info.connectionID == 0)
        #expect((0..<m.workerCount).contains(got.worker))
        let s = m.statistics.snapshot()
        #expect(s.udpReceivedDatagrams == 1 && s.udpReceivedBytes == UInt64(request.count))
        // The sender counts after sendto returns, which may be after the client has the reply.
        #expect(waitUntil { m.statistics.snapshot().udpSentDatagrams == 1 })
    }

    @Test("empty datagrams are ignored and do not stop the receivers")
    func emptyDatagram() throws {
        let handler = RecordingHandler()
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], handler: handler)
        defer { m.stop() }
        let address = try #require(m.listeners.first?.address)
        let client = try TestSocket(udp: address)
        for _ in 0..<5 { client.sendTo([], address) }
        client.sendTo(Array("PING".utf8), address)
        handler.wait(for: 1)
        usleep(50_000)
        #expect(handler.messages.map(\.text) == ["PING"])
    }

    @Test("a 60000-byte datagram arrives whole")
    func largeDatagram() throws {
        let handler = RecordingHandler()
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], handler: handler)
        defer { m.stop() }
        let address = try #require(m.listeners.first?.address)
        let payload = (0..<60000).map { UInt8(truncatingIfNeeded: $0) }
        try TestSocket(udp: address).sendTo(payload, address)
        #expect(handler.wait(for: 1).first?.bytes == payload)
    }

    @Test("sending picks the listener of the destination's family and fails without one")
    func familySelection() throws {
        let handler = RecordingHandler()
        let logs = LogCollector()
        var options = quickOptions()
        options.log = logs.sink
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0),
                                  ListenSpec(proto: .udp, host: "::1", port: 0)], options: options, handler: handler)
        defer { m.stop() }
        let loopback6 = try #require(SocketAddress(ip: "::1", port: 0))
        let v6 = try TestSocket(udp: loopback6)
        let v6Address = try #require(v6.local)
        // listenerIndex 0 is IPv4: the manager must fall back to the IPv6 listener.
        #expect(m.send(Array("hello".utf8), to: Destination(proto: .udp, address: v6Address, listenerIndex: 0)))
        #expect(v6.receive() == Array("hello".utf8))

        let v4only = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], options: options,
                                      handler: RecordingHandler())
        defer { v4only.stop() }
        #expect(!v4only.send([1], to: Destination(proto: .udp, address: v6Address)))
        #expect(logs.lines.contains { $0.contains("no udp listener") })
    }

    @Test("maxbuffer raises SO_RCVBUF to the request or the kernel's cap")
    func maxBuffer() throws {
        var options = quickOptions()
        options.maxReceiveBuffer = 4_194_304
        let m = try startManager([ListenSpec(proto: .udp, host: "127.0.0.1", port: 0)], options: options,
                                 handler: RecordingHandler())
        defer { m.stop() }
        let granted = try #require(m.listeners.first?.receiveBufferSize)
        // Linux caps the request at net.core.rmem_max and reports twice the value it keeps.
        let cap = (try? String(contentsOfFile: "/proc/sys/net/core/rmem_max", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 212_992
        #expect(granted >= min(options.maxReceiveBuffer, cap))
    }
}

/// Collects log lines from the transport (thread-safe).
struct LogCollector: Sendable {
    private let box = LogBox()
    var sink: @Sendable (TransportLogLevel, String) -> Void { { [box] _, line in box.append(line) } }
    var lines: [String] { box.lines }
}

private final class LogBox: Sendable {
    private let store = Mutex<[String]>([])
    func append(_ s: String) { store.withLock { $0.append(s) } }
    var lines: [String] { store.withLock { $0 } }
}
