#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization
@testable import SIPTransport

/// One message as the handler saw it.
struct Received: Sendable {
    var bytes: [UInt8]
    var info: ReceiveInfo
    var worker: Int
    var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// Records every message; optionally answers through the manager like the daemon would
/// (reply to the source, on the connection it came on), and can hold workers at a gate.
final class RecordingHandler: MessageHandler {
    private let received = Mutex<[Received]>([])
    private let manager = Mutex<TransportManager?>(nil)
    private let gateOpen = Atomic<Bool>(true)
    /// Reply text builder; nil means no reply.
    let reply: (@Sendable (Received) -> [UInt8]?)?

    init(reply: (@Sendable (Received) -> [UInt8]?)? = nil) { self.reply = reply }

    /// Lets the handler send replies.
    func attach(_ m: TransportManager) { manager.withLock { $0 = m } }

    /// Closes the gate: handlers block until `openGate`.
    func closeGate() { gateOpen.store(false, ordering: .releasing) }
    func openGate() { gateOpen.store(true, ordering: .releasing) }

    func handleMessage(_ bytes: [UInt8], info: ReceiveInfo, worker: Int) {
        while !gateOpen.load(ordering: .acquiring) { usleep(1000) }
        let r = Received(bytes: bytes, info: info, worker: worker)
        received.withLock { $0.append(r) }
        if let reply, let answer = reply(r), let m = manager.withLock({ $0 }) {
            _ = m.send(answer, to: Destination(proto: info.proto, address: info.source,
                                               connectionID: info.connectionID, listenerIndex: info.listenerIndex))
        }
    }

    var messages: [Received] { received.withLock { $0 } }

    /// Waits until at least `count` messages arrived (or 5 s passed).
    @discardableResult
    func wait(for count: Int, seconds: Double = 5) -> [Received] {
        _ = waitUntil(seconds: seconds) { self.messages.count >= count }
        return messages
    }
}

/// Polls `condition` every millisecond until it holds or `seconds` pass.
func waitUntil(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = TransportClock.nowNanos() + TransportClock.nanos(seconds: seconds)
    while TransportClock.nowNanos() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// Starts a manager on `specs` with a handler; fails the test on error.
func startManager(_ specs: [ListenSpec], options: TransportOptions = quickOptions(),
                  handler: RecordingHandler) throws -> TransportManager {
    let m = TransportManager(listens: specs, options: options)
    handler.attach(m)
    try m.start(handler: handler)
    return m
}

/// Small thread counts: tests run in parallel on a 2-core machine.
func quickOptions() -> TransportOptions {
    var o = TransportOptions()
    o.children = 2
    o.tcpChildren = 2
    return o
}

/// Echo replies "ECHO <first line>" plus an empty line (so a stream can frame it), and
/// tests can tell the answer from the request.
let echoReply: @Sendable (Received) -> [UInt8]? = { r in
    let firstLine = r.bytes.prefix { $0 != 13 && $0 != 10 }
    return Array("ECHO ".utf8) + firstLine + [13, 10, 13, 10]
}

/// A minimal SIP request with a correct Content-Length.
func sipRequest(_ method: String, body: String = "", callID: String = "c1") -> [UInt8] {
    Array(("\(method) sip:bob@example.com SIP/2.0\r\n" +
           "Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK\(callID)\r\n" +
           "Call-ID: \(callID)\r\nCSeq: 1 \(method)\r\n" +
           "Content-Length: \(body.utf8.count)\r\n\r\n\(body)").utf8)
}

/// A blocking test-side socket (UDP or TCP client) with a receive timeout.
final class TestSocket {
    let fd: Int32

    /// A UDP socket bound to the loopback address of `address`'s family, kernel-chosen port.
    init(udp address: SocketAddress) throws {
        fd = socket(Int32(address.storage.ss_family), Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        setTimeout(2)
        guard let loopback = SocketAddress(ip: address.isIPv6 ? "::1" : "127.0.0.1", port: 0),
              TransportSocket.bind(fd, to: loopback) == 0 else { throw TestFailure("bind: \(errno)") }
    }

    init(tcp address: SocketAddress) throws {
        fd = socket(Int32(address.storage.ss_family), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: \(errno)") }
        setTimeout(2)
        let rc = withUnsafePointer(to: address.storage) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, address.length) }
        }
        guard rc == 0 else { throw TestFailure("connect \(address): \(TransportSocket.errorText(errno))") }
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The local address (after connect or first send).
    var local: SocketAddress? { TransportSocket.localAddress(fd) }

    func sendTo(_ bytes: [UInt8], _ address: SocketAddress) {
        _ = bytes.withUnsafeBytes { p in
            withUnsafePointer(to: address.storage) { sp in
                sp.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, p.baseAddress, p.count, 0, $0, address.length)
                }
            }
        }
    }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// One datagram or one read; nil on timeout, [] on EOF.
    func receive() -> [UInt8]? {
        var buf = [UInt8](repeating: 0, count: 70000)
        let n = recv(fd, &buf, buf.count, 0)
        if n < 0 { return nil }
        return Array(buf[0..<n])
    }

    /// Reads until `count` bytes arrived, EOF or timeout.
    func receive(atLeast count: Int) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count, let chunk = receive(), !chunk.isEmpty { out += chunk }
        return out
    }

    /// True once the peer closed the connection (read returns 0 or ECONNRESET) within `seconds`.
    func waitForEOF(seconds: Double) -> Bool {
        setTimeout(seconds)
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }
}

/// A thrown test failure with text.
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
