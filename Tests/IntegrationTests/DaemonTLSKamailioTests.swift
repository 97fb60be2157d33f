import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real Kamailio 5.6.3 with its tls module, started beside the daemon and stopped by PID.
///
/// Started with posix_spawn, not Foundation's Process: a Process child inherits the test
/// thread's blocked signals (Kamailio then ignores SIGTERM), and Foundation's monitor
/// blocks in waitpid on a still-running sibling when another child exits.
final class KamailioTLSPeer {
    private(set) var pid: pid_t = 0
    let dir: URL
    let udpPort: UInt16
    let tlsPort: UInt16

    /// Kamailio answers requests that arrive over TLS with `200 OK from kamailio over tls`
    /// and relays anything else it gets over UDP to `relayTo` over TLS.
    init(certs: TLSTestCertificates, cert: String, key: String, relayTo: UInt16) throws {
        udpPort = freePort()
        tlsPort = freePort()
        dir = certs.dir.appendingPathComponent("kamailio-\(udpPort)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let cfg = """
            #!KAMAILIO
            debug=2
            log_stderror=yes
            children=1
            tcp_children=1
            enable_tls=yes
            listen=udp:127.0.0.1:\(udpPort)
            listen=tls:127.0.0.1:\(tlsPort)
            mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
            loadmodule "tls.so"
            loadmodule "sl.so"
            loadmodule "tm.so"
            loadmodule "xlog.so"
            loadmodule "pv.so"
            modparam("tls", "certificate", "\(cert)")
            modparam("tls", "private_key", "\(key)")
            modparam("tls", "ca_list", "\(certs.caCert)")
            # Kamailio 5.6 defaults to TLSv1 only; kamailiod never speaks below TLS 1.2.
            modparam("tls", "tls_method", "TLSv1.2+")
            request_route {
                xlog("L_NOTICE", "KAM-IN $rm proto=$proto\\n");
                if (proto==TLS) { sl_send_reply("200", "OK from kamailio over tls"); exit; }
                $du = "sip:127.0.0.1:\(relayTo);transport=tls";
                t_relay();
            }
            """
        let path = dir.appendingPathComponent("kamailio.cfg").path
        try cfg.write(toFile: path, atomically: true, encoding: .utf8)
        let logPath = dir.appendingPathComponent("kamailio.log").path
        let exe = which("kamailio") ?? "/usr/sbin/kamailio"
        let argv = [exe, "-f", path, "-DD", "-E", "-w", dir.path, "-Y", dir.path]
        pid = try spawnPeer(argv, log: logPath)
        // Ready once it answers on UDP (it relays, so any reply or the log line will do).
        let peer = try UDPPeer()
        for _ in 0..<100 where peerIsRunning(pid) {
            peer.send(sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(tlsPort);transport=tls", via: "UDP 127.0.0.1:\(peer.port)"),
                      to: "127.0.0.1", port: udpPort)
            if peer.receive(timeout: 0.2) != nil || log.contains("KAM-IN") { return }
        }
        stop()
        throw PeerError.socket("kamailio did not start: \(log)")
    }

    var log: String { (try? String(contentsOf: dir.appendingPathComponent("kamailio.log"), encoding: .utf8)) ?? "" }

    /// SIGTERM, up to 5 s, then SIGKILL to its process group.
    func stop() {
        stopPeer(pid)
        pid = 0
    }
}

/// Interoperability with real Kamailio 5.6.3's tls module in both directions.
@Suite("TLS with Kamailio", .serialized,
       .enabled(if: inIsolatedNetwork() && which("openssl") != nil && which("kamailio") != nil
                    && FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"),
                "needs an isolated network namespace, openssl and kamailio-tls-modules"))
struct DaemonTLSKamailioTests {
    /// kamailiod: TLS requests are answered locally; UDP requests for `tokam` go to
    /// Kamailio over TLS.
    static func config(certs: TLSTestCertificates, tlsPort: UInt16, kamailioTLS: UInt16, tlsParams: String = "") -> String {
        """
        #!KAMAILIO
        debug=3
        children=2
        enable_tls=yes
        listen=udp:127.0.0.1:{PORT}
        listen=tls:127.0.0.1:\(tlsPort)
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "xlog.so"
        loadmodule "tls.so"
        modparam("tls", "certificate", "\(certs.serverCert)")
        modparam("tls", "private_key", "\(certs.serverKey)")
        \(tlsParams)
        request_route {
            if (proto==TLS) {
                xlog("L_INFO", "TLS-IN $rm proto=$proto version=$tls_version\\n");
                sl_send_reply("200", "OK from kamailiod over tls");
                exit;
            }
            if ($rU == "tokam") { $du = "sip:127.0.0.1:\(kamailioTLS);transport=tls"; t_relay(); exit; }
            sl_send_reply("200", "OK");
        }
        """
    }

    static func message(_ user: String, to port: UInt16, from peer: UDPPeer, cseq: Int = 1) -> String {
        sipRequest("MESSAGE", uri: "sip:\(user)@127.0.0.1:\(port)", via: "UDP 127.0.0.1:\(peer.port)")
    }

    /// Sends until a final answer with `reason` arrives (UDP may be slow on a loaded machine).
    static func exchange(_ peer: UDPPeer, _ text: String, port: UInt16, expect reason: String) -> String? {
        for _ in 0..<5 {
            peer.send(text, to: "127.0.0.1", port: port)
            let deadline = Date().addingTimeInterval(4)
            while Date() < deadline {
                if let r = peer.receive(timeout: 1), r.contains(reason) { return r }
            }
        }
        return nil
    }

    @Test("kamailiod relays to Kamailio over TLS and reuses the connection; Kamailio relays to kamailiod over TLS")
    func bothDirections() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let ourTLS = freePort()
        let kam = try KamailioTLSPeer(certs: certs, cert: certs.serverCert, key: certs.serverKey, relayTo: ourTLS)
        defer { kam.stop() }
        let d = try DaemonProcess(config: Self.config(certs: certs, tlsPort: ourTLS, kamailioTLS: kam.tlsPort))
        defer { d.stop() }
        let peer = try UDPPeer()
        // Us -> Kamailio, twice: the second request uses the same TLS connection.
        for cseq in 1...2 {
            let r = Self.exchange(peer, Self.message("tokam", to: d.port, from: peer, cseq: cseq), port: d.port,
                                  expect: "OK from kamailio over tls")
            #expect(r != nil, "\(d.log)\n\(kam.log)")
        }
        #expect(d.log.components(separatedBy: "opened to 127.0.0.1:\(kam.tlsPort)").count - 1 == 1, "\(d.log)")
        #expect(kam.log.contains("KAM-IN MESSAGE proto=tls"))
        // Kamailio -> us.
        let back = Self.exchange(peer, Self.message("tous", to: kam.udpPort, from: peer), port: kam.udpPort,
                                 expect: "OK from kamailiod over tls")
        #expect(back != nil, "\(d.log)\n\(kam.log)")
        #expect(d.log.contains("TLS-IN MESSAGE proto=tls version=TLSv1."))
    }

    @Test("outbound certificate verification: Kamailio's CA-signed certificate verifies; against a foreign CA the handshake is refused")
    func outboundVerification() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let ourTLS = freePort()
        let kam = try KamailioTLSPeer(certs: certs, cert: certs.serverCert, key: certs.serverKey, relayTo: ourTLS)
        defer { kam.stop() }
        let peer = try UDPPeer()
        do {
            let verifying = """
                modparam("tls", "ca_list", "\(certs.caCert)")
                modparam("tls", "verify_certificate", 1)
                """
            let d = try DaemonProcess(config: Self.config(certs: certs, tlsPort: ourTLS, kamailioTLS: kam.tlsPort,
                                                          tlsParams: verifying))
            defer { d.stop() }
            let r = Self.exchange(peer, Self.message("tokam", to: d.port, from: peer), port: d.port,
                                  expect: "OK from kamailio over tls")
            #expect(r != nil, "\(d.log)\n\(kam.log)")
        }
        do {
            // Trusting only the rogue self-signed certificate: Kamailio's does not verify.
            let foreign = """
                modparam("tls", "ca_list", "\(certs.rogueCert)")
                modparam("tls", "verify_certificate", 1)
                """
            let d = try DaemonProcess(config: Self.config(certs: certs, tlsPort: freePort(), kamailioTLS: kam.tlsPort,
                                                          tlsParams: foreign))
            defer { d.stop() }
            peer.send(Self.message("tokam", to: d.port, from: peer, cseq: 7), to: "127.0.0.1", port: d.port)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline && !d.log.contains("certificate verify failed") { usleep(50_000) }
            #expect(d.log.contains("certificate verify failed"), "\(d.log)")
            #expect(!kam.log.contains("KAM-IN MESSAGE proto=tls") || kam.log.components(separatedBy: "KAM-IN MESSAGE proto=tls").count == 2)
        }
    }
}
