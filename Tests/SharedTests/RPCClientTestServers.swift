import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Shared

/// Small in-process servers (one thread each) that the client tests talk to.
enum TestServers {
    /// A short private directory (socket paths must fit in 108 bytes).
    static func makeDirectory() throws -> String {
        let path = "/tmp/kst-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// A private directory with a binrpc stream server listening on `<dir>/ctl`.
    static func binrpcStreamFixture(connections: Int, trickle: Bool) throws -> (String, Int32) {
        let dir = try makeDirectory()
        let listener = bindUnix(dir + "/ctl", type: RPCSocketIO.streamType)
        startBinrpcStream(listener: listener, connections: connections, trickle: trickle)
        return (dir, listener)
    }

    /// A private directory with a datagram server bound to `<dir><name>`.
    static func unixDatagramFixture(name: String, binrpc: Bool) throws -> (String, Int32) {
        let dir = try makeDirectory()
        let fd = bindUnix(dir + name, type: RPCSocketIO.datagramType)
        startDatagram(fd: fd, binrpc: binrpc)
        return (dir, fd)
    }

    /// Stops a datagram server started by `startDatagram` and removes its directory. Only
    /// shuts the socket down: its thread closes it on the way out, so the descriptor number
    /// cannot be reused by another test's socket while the old thread still reads from it
    /// (that thread then swallowed another test's datagrams: a timed-out call in CI).
    static func tearDownDatagram(_ dir: String?, _ fd: Int32) {
        shutdown(fd, Int32(SHUT_RDWR))
        if let dir { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Closes a test server's socket and removes its directory.
    static func tearDown(_ dir: String, _ fd: Int32) {
        close(fd)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// The method table every test server implements.
    static func answer(_ method: String, _ params: [RPCValue]) -> JSONRPCReply.Outcome? {
        switch method {
        case "core.version": return .result("kamailio 5.6.3 (x86_64/linux) ")
        case "core.echo": return .result(.array(params))
        case "core.uptime": return .result(.object(["now": "Fri Nov 27 13:49:49 2026", "uptime": 251]))
        case "silent": return nil
        case "slow":
            usleep(400_000)
            return .result("slow")
        default: return .error(.methodNotFound)
        }
    }

    static func bindUnix(_ path: String, type: Int32) -> Int32 {
        let fd = socket(AF_UNIX, type, 0)
        guard let (address, len) = RPCSocketIO.unixAddress(path) else { return -1 }
        var addr = address
        let r = RPCSocketIO.withSockaddr(&addr) { bind(fd, $0, len) }
        precondition(r == 0, "bind \(path): \(errno)")
        return fd
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// A binrpc stream server like ctl: serves `connections` clients one after the other,
    /// pipelined requests in order; `trickle` writes replies one byte at a time.
    static func startBinrpcStream(listener: Int32, connections: Int, trickle: Bool) {
        listen(listener, 4)
        Thread.detachNewThread {
            for _ in 0..<connections {
                let conn = accept(listener, nil, nil)
                guard conn >= 0 else { return }
                var decoder = BinrpcStreamDecoder(maxBodySize: 65535)
                var buffer = [UInt8](repeating: 0, count: 4096)
                serving: while true {
                    let n = buffer.withUnsafeMutableBytes { read(conn, $0.baseAddress, 4096) }
                    if n <= 0 { break }
                    decoder.append(buffer[..<n])
                    while true {
                        let reply: BinrpcPacket
                        switch decoder.next() {
                        case .needMoreData: continue serving
                        case .corrupt:
                            writeAll(conn, BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded())
                            break serving
                        case .malformed(let cookie, _, let error):
                            reply = BinrpcPacket(cookie: cookie, body: .fault(.badRequestMethod(error.description)))
                        case .packet(let p):
                            guard case .request(let method, let params) = p.body else { break serving }
                            switch answer(method, params) {
                            case .result(.array(let values))?: reply = BinrpcPacket(cookie: p.cookie, body: .reply(values))
                            case .result(let value)?: reply = BinrpcPacket(cookie: p.cookie, body: .reply([value.binrpcShaped]))
                            case .error?: reply = BinrpcPacket(cookie: p.cookie, body: .fault(.commandNotFound(method)))
                            case nil: continue
                            }
                        }
                        if trickle {
                            for b in reply.encoded() { writeAll(conn, [b]) }
                        } else {
                            writeAll(conn, reply.encoded())
                        }
                    }
                }
                close(conn)
            }
        }
    }

    /// A socket of `type` bound to 127.0.0.1 on a free port.
    static func bindLoopback(type: Int32) -> (Int32, UInt16) {
        let fd = socket(AF_INET, type, 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        precondition(RPCSocketIO.withSockaddr(&addr) { bind(fd, $0, len) } == 0)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// A datagram server answering to the sender address: binrpc or JSON-RPC, Unix or UDP.
    /// Serves until its socket is closed.
    static func startDatagram(fd: Int32, binrpc: Bool) {
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                var from = sockaddr_storage()
                var fromLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let n = buffer.withUnsafeMutableBytes { raw in
                    RPCSocketIO.withSockaddr(&from) { p in
                        recvfrom(fd, raw.baseAddress, raw.count, 0, UnsafeMutablePointer(mutating: p), &fromLen)
                    }
                }
                if n <= 0 {  // shut down by tearDownDatagram (tests send no empty datagrams)
                    close(fd)
                    return
                }
                let request = Array(buffer[..<n])
                var reply: [UInt8]?
                if binrpc {
                    if case .request(let method, let params)? = (try? BinrpcPacket.decode(request))?.body,
                       let cookie = (try? BinrpcPacket.decode(request))?.cookie {
                        switch answer(method, params) {
                        case .result(let v)?: reply = BinrpcPacket(cookie: cookie, body: .reply([v.binrpcShaped])).encoded()
                        case .error?: reply = BinrpcPacket(cookie: cookie, body: .fault(.commandNotFound(method))).encoded()
                        case nil: reply = nil
                        }
                    }
                } else if let (doc, _) = try? RPCJSONParser.parseFirst(request) {
                    do throws(JSONRPCRequestError) {
                        let r = try JSONRPCRequest.decode(doc)
                        reply = answer(r.method, r.params).map { JSONRPCReply($0, replyingTo: r).encoded() }
                    } catch {
                        // jsonrpcs answers refused datagrams with an empty result (spec §5).
                        reply = JSONRPCReply(.result(.struct([])), id: error.id?.echoed).encoded()
                    }
                }
                guard let reply else { continue }
                _ = reply.withUnsafeBytes { raw in
                    RPCSocketIO.withSockaddr(&from) { sendto(fd, raw.baseAddress, raw.count, 0, $0, fromLen) }
                }
            }
        }
    }

    /// A jsonrpcs-like FIFO server: frames documents, checks `reply_name`, writes each
    /// reply into `<replyDir>/<reply_name>` and closes it. Serves `requests` documents.
    static func startFIFO(path: String, replyDirectory: String, requests: Int) {
        precondition(mkfifo(path, 0o600) == 0)
        let reader = open(path, O_RDONLY | O_NONBLOCK)
        // Holding a writer of our own keeps reads from returning EOF between clients.
        let keepAlive = open(path, O_WRONLY)
        _ = fcntl(reader, F_SETFL, 0)
        Thread.detachNewThread {
            var framer = JSONRPCFIFOFramer()
            var served = 0
            var buffer = [UInt8](repeating: 0, count: 4096)
            while served < requests {
                let n = buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, 4096) }
                if n <= 0 { break }
                for case .document(let doc) in framer.feed(buffer[..<n]) {
                    served += 1
                    guard let request = try? JSONRPCRequest.decode(doc), let name = request.replyName,
                          JSONRPCRequest.isAcceptableReplyName(name, replyDirectory: replyDirectory),
                          let outcome = answer(request.method, request.params) else { continue }
                    var out: Int32 = -1
                    for _ in 0..<5 {
                        out = open(replyDirectory + "/" + name, O_WRONLY | O_NONBLOCK)
                        if out >= 0 { break }
                        usleep(80_000)
                    }
                    guard out >= 0 else { continue }
                    _ = fcntl(out, F_SETFL, 0)
                    let text = JSONRPCReply(outcome, replyingTo: request).encoded()
                    _ = text.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
                    close(out)
                }
            }
            close(reader)
            close(keepAlive)
        }
    }
}
