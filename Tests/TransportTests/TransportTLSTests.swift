#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Testing
@testable import SIPTransport

/// Self-signed certificates made by the openssl CLI in a fresh temporary directory.
struct TLSTestFiles {
    let dir: String

    init() throws {
        var template = Array("/tmp/transport-tls-XXXXXX".utf8CString)
        guard let p = mkdtemp(&template) else { throw TestFailure("mkdtemp: \(errno)") }
        dir = String(cString: p)
    }

    /// Makes `name.pem`/`name.key` with subject CN `cn`; returns the paths.
    func make(_ name: String, cn: String) throws -> (cert: String, key: String) {
        let cert = "\(dir)/\(name).pem", key = "\(dir)/\(name).key"
        let cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=\(cn) -addext subjectAltName=IP:127.0.0.1 "
            + "-keyout \(key) -out \(cert) >/dev/null 2>&1"
        guard system(cmd) == 0 else { throw TestFailure("openssl failed: \(cmd)") }
        return (cert, key)
    }

    func remove() { _ = system("rm -rf \(dir)") }
}

@Suite("TLS transport", .enabled(if: access("/usr/bin/openssl", X_OK) == 0, "needs the openssl CLI"))
struct TransportTLSTests {
    static func settings(_ files: (cert: String, key: String), ca: String? = nil, verify: Bool = false) -> TLSSettings {
        var s = TLSSettings()
        s.certificate = files.cert
        s.privateKey = files.key
        s.caList = ca
        s.verifyCertificate = verify
        return s
    }

    /// A manager with one TLS listener on 127.0.0.1 whose contexts come from `store`.
    static func tlsManager(_ store: TLSContextStore, handler: RecordingHandler) throws -> (TransportManager, SocketAddress) {
        var o = quickOptions()
        o.streamFactories[.tls] = TLSTransport.factory(store: store, connectTimeout: 5, idleLifetime: nil, log: { _, _ in })
        let m = try startManager([ListenSpec(proto: .tls, host: "127.0.0.1", port: 0)], options: o, handler: handler)
        return (m, try #require(m.listeners.first).address)
    }

    @Test("outbound TLS: a request reaches the peer, the reply returns on the same connection, the next send reuses it")
    func outboundRoundTrip() throws {
        let files = try TLSTestFiles()
        defer { files.remove() }
        let server = try files.make("server", cn: "server.test")
        let serverStore = TLSContextStore(try TLSContextStore.build([TLSProfileKey(server: true, address: nil): Self.settings(server)]))
        let serverHandler = RecordingHandler(reply: echoReply)
        let (s, serverAddress) = try Self.tlsManager(serverStore, handler: serverHandler)
        defer { s.stop() }
        // The client trusts the server's self-signed certificate and verifies it.
        let clientStore = TLSContextStore(try TLSContextStore.build([
            TLSProfileKey(server: true, address: nil): Self.settings(server),
            TLSProfileKey(server: false, address: nil): Self.settings(server, ca: server.cert, verify: true),
        ]))
        let clientHandler = RecordingHandler()
        let (c, _) = try Self.tlsManager(clientStore, handler: clientHandler)
        defer { c.stop() }

        let request = sipRequest("OPTIONS")
        #expect(c.send(request, to: Destination(proto: .tls, address: serverAddress)))
        let atServer = try #require(serverHandler.wait(for: 1).first)
        #expect(atServer.bytes == request)
        #expect(atServer.info.proto == .tls)
        let back = try #require(clientHandler.wait(for: 1).first)
        #expect(back.text.hasPrefix("ECHO OPTIONS"))
        let outbound = try #require(c.connections().first)
        #expect(back.info.connectionID == outbound.id)
        let session = try #require(outbound.tls?.session)
        #expect(session.version == "TLSv1.3")
        #expect(session.peerCommonName == "server.test")
        #expect(session.peerVerified)

        #expect(c.send(request, to: Destination(proto: .tls, address: serverAddress)))
        serverHandler.wait(for: 2)
        #expect(c.connections().count == 1)
    }

    @Test("a client that verifies refuses a certificate its CA list does not hold; the send fails without hanging")
    func verificationFailure() throws {
        let files = try TLSTestFiles()
        defer { files.remove() }
        let server = try files.make("server", cn: "server.test")
        let other = try files.make("other", cn: "other.test")
        let serverStore = TLSContextStore(try TLSContextStore.build([TLSProfileKey(server: true, address: nil): Self.settings(server)]))
        let serverHandler = RecordingHandler()
        let (s, serverAddress) = try Self.tlsManager(serverStore, handler: serverHandler)
        defer { s.stop() }
        let clientStore = TLSContextStore(try TLSContextStore.build([
            TLSProfileKey(server: true, address: nil): Self.settings(server),
            TLSProfileKey(server: false, address: nil): Self.settings(server, ca: other.cert, verify: true),
        ]))
        let (c, _) = try Self.tlsManager(clientStore, handler: RecordingHandler())
        defer { c.stop() }
        #expect(!c.send(sipRequest("OPTIONS"), to: Destination(proto: .tls, address: serverAddress)))
        #expect(c.connections().isEmpty)
        #expect(serverHandler.messages.isEmpty)
    }

    @Test("replacing the contexts (tls.reload) changes the certificate of the next handshake, not of open connections")
    func reloadSwapsCertificate() throws {
        let files = try TLSTestFiles()
        defer { files.remove() }
        let first = try files.make("first", cn: "first.test")
        let second = try files.make("second", cn: "second.test")
        let serverStore = TLSContextStore(try TLSContextStore.build([TLSProfileKey(server: true, address: nil): Self.settings(first)]))
        let (s, serverAddress) = try Self.tlsManager(serverStore, handler: RecordingHandler(reply: echoReply))
        defer { s.stop() }
        let clientStore = TLSContextStore(try TLSContextStore.build([
            TLSProfileKey(server: true, address: nil): Self.settings(first),
            TLSProfileKey(server: false, address: nil): TLSSettings(),
        ]))
        let clientHandler = RecordingHandler()
        let (c, _) = try Self.tlsManager(clientStore, handler: clientHandler)
        defer { c.stop() }
        #expect(c.send(sipRequest("OPTIONS"), to: Destination(proto: .tls, address: serverAddress)))
        let one = try #require(c.connections().first)
        #expect(one.tls?.session?.peerCommonName == "first.test")

        serverStore.replace(try TLSContextStore.build([TLSProfileKey(server: true, address: nil): Self.settings(second)]))
        #expect(serverStore.reloads == 1)
        // A bad file does not build, so nothing is replaced.
        var broken = Self.settings(second)
        broken.certificate = "\(files.dir)/missing.pem"
        #expect(throws: TLSError.self) { try TLSContextStore.build([TLSProfileKey(server: true, address: nil): broken]) }

        // New connection (the open one is closed first): the new certificate.
        one.markBroken()
        #expect(waitUntil { c.connections().isEmpty })
        #expect(c.send(sipRequest("OPTIONS", callID: "c2"), to: Destination(proto: .tls, address: serverAddress)))
        let two = try #require(c.connections().first)
        #expect(two.id != one.id)
        #expect(two.tls?.session?.peerCommonName == "second.test")
    }

    @Test("tls_method names: TLSv1.2+ by default, older versions refused")
    func methods() {
        #expect(TLSSettings().method == .tls12Plus)
        #expect(TLSMethod(parameter: "TLSv1.3") == .tls13)
        #expect(TLSMethod(parameter: "SSLv23") == .tls12Plus)
        #expect(TLSMethod(parameter: "TLSv1") == nil)
        #expect(TLSMethod(parameter: "TLSv1.1") == nil)
        #expect(TLSMethod(parameter: "SSLv3") == nil)
    }
}
