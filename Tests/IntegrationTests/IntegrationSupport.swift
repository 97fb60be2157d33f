import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Where the built programs and the read-only shared folder are.
enum TestPaths {
    /// The build products folder: the test runner lives there too.
    static let products = TestBuild.products
    static let daemon = products.appendingPathComponent("kamailiod")
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    /// `../shared` beside the clone (read-only under CI).
    static let shared = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")
}

/// True when this process runs in a network namespace that has only the loopback
/// interface: the precondition for sending hostile messages whose Vias name real
/// neighbours (192.0.2.x). Tests that need it are skipped elsewhere, with a reason.
func inIsolatedNetwork() -> Bool {
    // /proc/self/net/dev lists the interfaces of this process's network namespace
    // (/sys/class/net shows the namespace sysfs was mounted in).
    guard let text = try? String(contentsOfFile: "/proc/self/net/dev", encoding: .utf8) else { return false }
    let names = text.split(separator: "\n").dropFirst(2).compactMap { line in
        line.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }
    return names == ["lo"]
}

/// A port that is free for both UDP and TCP on 127.0.0.1 and ::1 right now.
func freePort() -> UInt16 {
    for _ in 0..<50 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        close(fd)
        let port = UInt16(bigEndian: a.sin_port)
        if port > 1024, portIsFree(port) { return port }
    }
    return 0
}

/// The first of `count` consecutive ports free for UDP and TCP on loopback right now
/// (the shared harness takes its port and the four above it), in `range`.
func freePortRun(_ count: Int, in range: ClosedRange<UInt16> = 20000...60000) -> UInt16? {
    for _ in 0..<200 {
        let first = UInt16.random(in: range.lowerBound...(range.upperBound - UInt16(count)))
        if (0..<count).allSatisfy({ udp4Free(first + UInt16($0)) && portIsFree(first + UInt16($0)) }) { return first }
    }
    return nil
}

private func udp4Free(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    guard let addr = SockAddr(ip: "127.0.0.1", port: port) else { return false }
    return addr.withSockaddr { bind(fd, $0, $1) } == 0
}

private func portIsFree(_ port: UInt16) -> Bool {
    for (family, type) in [(AF_INET, SOCK_STREAM), (AF_INET6, SOCK_STREAM), (AF_INET6, SOCK_DGRAM)] {
        let fd = socket(family, Int32(type.rawValue), 0)
        defer { close(fd) }
        guard let addr = SockAddr(ip: family == AF_INET ? "127.0.0.1" : "::1", port: port) else { return false }
        if addr.withSockaddr({ bind(fd, $0, $1) }) != 0 { return false }
    }
    return true
}

/// A tiny sockaddr wrapper for the tests (independent of the daemon's own types on purpose).
struct SockAddr {
    var storage = sockaddr_storage()
    var length: socklen_t = 0
    var family: Int32 { Int32(storage.ss_family) }

    init?(ip: String, port: UInt16) {
        if ip.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, ip, &a.sin6_addr) == 1 else { return nil }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, ip, &a.sin_addr) == 1 else { return nil }
            withUnsafeBytes(of: a) { src in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
    }

    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        withUnsafeBytes(of: storage) { body($0.baseAddress!.assumingMemoryBound(to: sockaddr.self), length) }
    }
}

/// A UDP socket bound to an ephemeral loopback port, used as a SIP peer.
final class UDPPeer {
    let fd: Int32
    let ip: String
    private(set) var port: UInt16 = 0

    init(ip: String = "127.0.0.1", port: UInt16 = 0) throws {
        self.ip = ip
        fd = socket(ip.contains(":") ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0, let a = SockAddr(ip: ip, port: port),
              a.withSockaddr({ bind(fd, $0, $1) }) == 0 else { throw PeerError.socket("bind \(ip)") }
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.port = withUnsafeBytes(of: ss) { raw in
            ip.contains(":") ? UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
                             : UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    deinit { close(fd) }

    func send(_ text: String, to ip: String, port: UInt16) {
        send(Array(text.utf8), to: ip, port: port)
    }

    func send(_ bytes: [UInt8], to ip: String, port: UInt16) {
        guard let a = SockAddr(ip: ip, port: port) else { return }
        _ = bytes.withUnsafeBytes { b in a.withSockaddr { sendto(fd, b.baseAddress, b.count, 0, $0, $1) } }
    }

    /// Next datagram within `timeout` seconds, or nil. The default leaves room for a loaded
    /// machine (CI runs every suite at once on two cores); absence checks pass their own.
    func receive(timeout: Double = 5) -> String? {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buf = [UInt8](repeating: 0, count: 70000)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}

enum PeerError: Error { case socket(String) }

/// Opens a TCP connection, writes `bytes`, and reads until `until` says the reply is complete
/// or `timeout` passes.
func tcpExchange(_ bytes: [UInt8], ip: String, port: UInt16, timeout: Double = 5,
                 until: (String) -> Bool = { $0.contains("\r\n\r\n") }) -> String? {
    let fd = socket(ip.contains(":") ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    guard let a = SockAddr(ip: ip, port: port), a.withSockaddr({ connect(fd, $0, $1) }) == 0 else { return nil }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var out = [UInt8]()
    let deadline = Date().addingTimeInterval(timeout)
    var buf = [UInt8](repeating: 0, count: 65536)
    while Date() < deadline {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        if poll(&p, 1, 100) == 1 {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
            if until(String(decoding: out, as: UTF8.self)) { break }
        }
    }
    return out.isEmpty ? nil : String(decoding: out, as: UTF8.self)
}

/// True while something has `port` bound for UDP on 127.0.0.1 (a peer program such as sipp
/// has started listening).
func udpPortBound(_ port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    defer { close(fd) }
    guard let addr = SockAddr(ip: "127.0.0.1", port: port) else { return false }
    return addr.withSockaddr { bind(fd, $0, $1) } != 0 && errno == EADDRINUSE
}

/// Waits until a peer program listens on UDP `port` (up to `seconds`): what it is sent
/// before that would be lost, and a fixed pause is too short on a loaded machine.
@discardableResult
func waitForUDPListener(_ port: UInt16, seconds: Double = 10) -> Bool {
    eventually(seconds) { udpPortBound(port) ? true : nil } ?? false
}

/// Reads `read` (an RPC query, a log) until its text satisfies `done` or `seconds` pass, for
/// state the daemon changes on its own time (timers, a peer's close); the last text either
/// way, for the assertion and its message.
func pollText(_ read: () throws -> String, until done: (String) -> Bool, seconds: Double = 10) rethrows -> String {
    let deadline = Date().addingTimeInterval(seconds)
    var text = try read()
    while !done(text) && Date() < deadline {
        usleep(50_000)
        text = try read()
    }
    return text
}

/// A SIP request with fresh Call-ID and branch, CRLF line ends, right Content-Length.
func sipRequest(_ method: String, uri: String, via: String, extra: [String] = [], body: String = "",
                callID: String = UUID().uuidString, maxForwards: Int? = 70, cseq: Int = 1) -> String {
    var lines = ["\(method) \(uri) SIP/2.0",
                 "Via: SIP/2.0/\(via);branch=z9hG4bK\(UUID().uuidString.prefix(12))",
                 "From: <sip:alice@example.com>;tag=\(UUID().uuidString.prefix(8))",
                 "To: <sip:bob@example.com>",
                 "Call-ID: \(callID)",
                 "CSeq: \(cseq) \(method)"]
    if let mf = maxForwards { lines.append("Max-Forwards: \(mf)") }
    lines += extra
    lines.append("Content-Length: \(body.utf8.count)")
    return lines.joined(separator: "\r\n") + "\r\n\r\n" + body
}

/// First line's status code of a SIP response text.
func statusCode(_ response: String?) -> Int? {
    guard let r = response, r.hasPrefix("SIP/2.0 ") else { return nil }
    return Int(r.dropFirst(8).prefix(3))
}

/// Value of the first header `name` (case-insensitive) in a SIP message text.
func headerValue(_ message: String?, _ name: String) -> String? {
    guard let m = message else { return nil }
    for line in m.components(separatedBy: "\r\n").dropFirst() {
        if line.isEmpty { break }
        guard let colon = line.firstIndex(of: ":") else { continue }
        if line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() {
            return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
    }
    return nil
}

/// Runs a program to completion (killed after `timeout` seconds); returns its exit status
/// and stdout and stderr together. `input` is its stdin.
@discardableResult
func run(_ path: String, _ args: [String], input: String? = nil, timeout: Double = 120) throws -> (status: Int32, output: String) {
    TestProcesses.run([path] + args, input: input, mergeStderr: true, timeout: timeout)
}

/// The full path of an installed tool (see TestSupport's `which`).
func which(_ tool: String) -> String? { TestSupport.which(tool) }
