import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// TLS transport end to end: the real daemon with `listen=tls:`, Python's `ssl` module and
/// the openssl CLI as peers, certificates made fresh by openssl per run.
@Suite("TLS daemon", .serialized, .enabled(if: inIsolatedNetwork() && which("openssl") != nil && which("python3") != nil,
                                           "needs an isolated network namespace, openssl and python3"))
struct DaemonTLSTests {
    /// Waits until `text` shows up in the daemon log (or the deadline passes).
    static func waitForLog(_ d: DaemonProcess, _ text: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if d.log.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }

    static func kamcmd(_ d: DaemonProcess, _ args: String...) throws -> String {
        try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + d.dir.path + "/kamailio_ctl"] + args, timeout: 20).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("REGISTER and a full call (INVITE, 180, 200, ACK, BYE) between two Python ssl clients, $tls_* in the script")
    func registerAndCall() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let d = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let r = try TLSPythonUA.run(ua, ["call", "--port", String(tlsPort), "--ca", certs.caCert])
        #expect(r.status == 0, "\(r.output)\n\(d.log)")
        #expect(r.output.contains("VERSION TLSv1.3"))
        #expect(r.output.contains("OK call complete"))
        #expect(d.log.contains("TLS-IN INVITE proto=tls version=TLSv1.3"))
        #expect(d.log.contains("TLS-IN BYE proto=tls"))
        // No client certificate was sent: nothing verified, no CN.
        #expect(!d.log.contains("TLS-VERIFIED"))
    }

    @Test("listen=tls on IPv6 loopback: handshake and REGISTER; tls.list shows the connection with peer, cipher and age",
          .enabled(if: which("kamcmd") != nil))
    func ipv6AndList() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let v6Port = freePort()
        let d = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort,
                                                               extra: "listen=tls:[::1]:\(v6Port)"))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let r = try TLSPythonUA.run(ua, ["handshake", "--host", "::1", "--port", String(v6Port), "--ca", certs.caCert])
        #expect(r.status == 0, "\(r.output)\n\(d.log)")
        #expect(r.output.contains("PEER_CN server.test"))
        #expect(d.log.contains("TLS-IN REGISTER proto=tls"))

        // A client that stays connected shows up in tls.list.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: which("python3") ?? "/usr/bin/python3")
        holder.arguments = [ua, "hold", "--port", String(tlsPort), "--count", "30"]
        holder.standardOutput = FileHandle.nullDevice
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) }; holder.waitUntilExit() }
        // Until the holder is listed and the IPv6 client's closed connection is gone (the
        // daemon notices that close on its own time).
        var list = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            list = try Self.kamcmd(d, "tls.list")
            if list.contains("dst_port: \(tlsPort)") && list.contains("established") && !list.contains("dst_port: \(v6Port)") { break }
            usleep(100_000)
        }
        #expect(list.contains("cipher: TLSv1.3 TLS_AES_256_GCM_SHA384 256"), "\(list)")
        #expect(list.contains("src_ip: 127.0.0.1") && list.contains("dst_port: \(tlsPort)"), "\(list)")
        #expect(list.contains("age:") && list.contains("state: established"), "\(list)")
        // the counters follow the table a moment later
        let info = try pollText({ try Self.kamcmd(d, "tls.info") }, until: { $0.contains("opened_connections: 1") })
        #expect(info.contains("opened_connections: 1"), "\(info)")
        let tcpInfo = try pollText({ try Self.kamcmd(d, "core.tcp_info") }, until: { $0.contains("opened_tls_connections: 1") })
        #expect(tcpInfo.contains("opened_tls_connections: 1"), "\(tcpInfo)")
    }

    @Test("force_tcp_alias() and tcp_accept_aliases with Via ;alias: a client that registers its listening port is reached over the connection it opened")
    func connectionAlias() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let unusedPort = freePort()  // bob's claimed listening port: nothing listens there
        let aliasing = TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort,
                                            route: "if (is_method(\"REGISTER\")) { force_tcp_alias(); }")
        let d = try DaemonProcess(config: aliasing)
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let r = try TLSPythonUA.run(ua, ["call", "--port", String(tlsPort), "--alias-port", String(unusedPort)])
        #expect(r.status == 0, "\(r.output)\n\(d.log)")
        #expect(r.output.contains("OK call complete"))
        #expect(!d.log.contains("cannot connect"), "\(d.log)")

        // tcp_accept_aliases=yes: a Via with ;alias does the same without a script call.
        let accepting = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: freePort(),
                                                                       extra: "tcp_accept_aliases=yes"))
        defer { accepting.stop() }
        let acceptPort = accepting.log.components(separatedBy: "listening on tls:127.0.0.1:").dropFirst().first?
            .prefix { $0.isNumber } ?? ""
        let viaAlias = try TLSPythonUA.run(ua, ["call", "--port", String(acceptPort), "--alias-port", String(unusedPort),
                                                "--via-alias"])
        #expect(viaAlias.status == 0, "\(viaAlias.output)\n\(accepting.log)")
        #expect(viaAlias.output.contains("OK call complete"))

        // Without the alias the INVITE goes to the claimed port, where nobody listens.
        let plain = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: freePort()))
        defer { plain.stop() }
        let port2 = plain.log.components(separatedBy: "listening on tls:127.0.0.1:").dropFirst().first?.prefix { $0.isNumber } ?? ""
        let noAlias = try TLSPythonUA.run(ua, ["call", "--port", String(port2), "--alias-port", String(unusedPort)], timeout: 60)
        #expect(noAlias.status != 0, "\(noAlias.output)")
        #expect(!noAlias.output.contains("OK invite reached bob"))
    }

    @Test("server_name: an outbound connection sends SNI; openssl s_server answers with the certificate for that name")
    func outboundSNI() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let named = try certs.issueServer(named: "named", cn: "named.test")
        let serverPort = freePort()
        let log = certs.dir.appendingPathComponent("s_server.log").path
        // -www: s_server does not read stdin; the SNI name selects the second certificate.
        let pid = try spawnPeer([which("openssl") ?? "/usr/bin/openssl", "s_server", "-accept", String(serverPort),
                                 "-cert", certs.serverCert, "-key", certs.serverKey, "-servername", "peer.example",
                                 "-cert2", named.cert, "-key2", named.key, "-www"], log: log)
        defer { stopPeer(pid) }
        let tlsPort = freePort()
        let d = try DaemonProcess(config: TLSDaemonConfig.text(
            certs: certs, tlsPort: tlsPort, tlsParams: "modparam(\"tls\", \"server_name\", \"peer.example\")",
            route: "if ($rU == \"out\") { $du = \"sip:127.0.0.1:\(serverPort);transport=tls\"; t_relay(); exit; }"))
        defer { d.stop() }
        let peer = try UDPPeer()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline && !d.log.contains("done: TLSv1.3") {
            peer.send(sipRequest("MESSAGE", uri: "sip:out@127.0.0.1", via: "UDP 127.0.0.1:\(peer.port)"),
                      to: "127.0.0.1", port: d.port)
            usleep(500_000)
        }
        #expect(d.log.contains("127.0.0.1:\(serverPort) done: TLSv1.3"), "\(d.log)")
        #expect(d.log.contains("peer CN 'named.test'"), "\(d.log)")
    }

    @Test("verify_certificate + require_certificate: a CA-signed client is verified with its CN, a self-signed one and one without a certificate are refused")
    func clientVerification() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let params = """
            modparam("tls", "ca_list", "\(certs.caCert)")
            modparam("tls", "verify_certificate", 1)
            modparam("tls", "require_certificate", 1)
            """
        let d = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort, tlsParams: params))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let good = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--ca", certs.caCert,
                                            "--cert", certs.clientCert, "--key", certs.clientKey])
        #expect(good.status == 0, "\(good.output)\n\(d.log)")
        #expect(good.output.contains("PEER_CN server.test"))
        #expect(Self.waitForLog(d, "TLS-VERIFIED REGISTER"))
        #expect(d.log.contains("cn=alice.client"))

        let rogue = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--cert", certs.rogueCert,
                                             "--key", certs.rogueKey])
        #expect(rogue.status != 0, "\(rogue.output)")
        #expect(!rogue.output.contains("OK registered"))
        #expect(Self.waitForLog(d, "certificate: self-signed certificate"), "\(d.log)")

        let none = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort)])
        #expect(none.status != 0, "\(none.output)")
        #expect(Self.waitForLog(d, "peer did not return a certificate"), "\(d.log)")
        // Still serving.
        let again = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--cert", certs.clientCert,
                                             "--key", certs.clientKey])
        #expect(again.status == 0, "\(again.output)")
    }

    @Test("crl: a revoked client certificate is refused, another one from the same CA is accepted")
    func revokedClient() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let good = try certs.issueServer(named: "client2", cn: "bob.client")
        let crl = try certs.revoke(certs.clientCert)
        let tlsPort = freePort()
        let params = """
            modparam("tls", "ca_list", "\(certs.caCert)")
            modparam("tls", "crl", "\(crl)")
            modparam("tls", "verify_certificate", 1)
            modparam("tls", "require_certificate", 1)
            """
        let d = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort, tlsParams: params))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let revoked = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--cert", certs.clientCert,
                                               "--key", certs.clientKey])
        #expect(revoked.status != 0 && !revoked.output.contains("OK registered"), "\(revoked.output)")
        #expect(Self.waitForLog(d, "certificate: certificate revoked"), "\(d.log)")
        let accepted = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--cert", good.cert, "--key", good.key])
        #expect(accepted.status == 0, "\(accepted.output)\n\(d.log)")
        #expect(Self.waitForLog(d, "cn=bob.client"))
    }

    @Test("openssl s_client sees the configured tls_method and cipher_list")
    func sClientSeesConfiguredCipher() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        let params = """
            modparam("tls", "tls_method", "TLSv1.2")
            modparam("tls", "cipher_list", "ECDHE-RSA-AES128-GCM-SHA256")
            """
        let d = try DaemonProcess(config: TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort, tlsParams: params))
        defer { d.stop() }
        let r = try run(which("openssl") ?? "openssl", ["s_client", "-connect", "127.0.0.1:\(tlsPort)", "-CAfile", certs.caCert],
                        input: "", timeout: 30)
        #expect(r.output.contains("Protocol  : TLSv1.2"), "\(r.output)")
        #expect(r.output.contains("Cipher    : ECDHE-RSA-AES128-GCM-SHA256"), "\(r.output)")
        #expect(r.output.contains("Verify return code: 0 (ok)"), "\(r.output)")
        // TLS 1.1 is refused.
        let old = try run(which("openssl") ?? "openssl", ["s_client", "-connect", "127.0.0.1:\(tlsPort)", "-tls1_1"],
                          input: "", timeout: 30)
        #expect(!old.output.contains("Cipher    : ECDHE"), "\(old.output)")
    }

    @Test("tls.reload: a new certificate is served by the next handshake; a bad file is refused and the old one stays",
          .enabled(if: which("kamcmd") != nil))
    func reload() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let tlsPort = freePort()
        // The daemon reads live.pem/live.key; the test swaps their contents.
        let live = certs.dir.appendingPathComponent("live.pem").path
        let liveKey = certs.dir.appendingPathComponent("live.key").path
        try FileManager.default.copyItem(atPath: certs.serverCert, toPath: live)
        try FileManager.default.copyItem(atPath: certs.serverKey, toPath: liveKey)
        var cfg = TLSDaemonConfig.text(certs: certs, tlsPort: tlsPort)
        cfg = cfg.replacingOccurrences(of: certs.serverCert, with: live).replacingOccurrences(of: certs.serverKey, with: liveKey)
        let d = try DaemonProcess(config: cfg)
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let first = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--ca", certs.caCert])
        #expect(first.output.contains("PEER_CN server.test"), "\(first.output)")

        let fresh = try certs.issueServer(named: "reloaded", cn: "reloaded.test")
        func replace(_ path: String, with source: String) throws {
            try FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: source, toPath: path)
        }
        // A broken certificate file: refused, the old certificate stays in use.
        try "not a certificate\n".write(toFile: live, atomically: true, encoding: .utf8)
        let bad = try Self.kamcmd(d, "tls.reload")
        #expect(bad.hasPrefix("error: 500"), "\(bad)")
        #expect(d.log.contains("tls.reload refused"))
        let stillOld = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--ca", certs.caCert])
        #expect(stillOld.output.contains("PEER_CN server.test"), "\(stillOld.output)")

        try replace(live, with: fresh.cert)
        try replace(liveKey, with: fresh.key)
        #expect(try Self.kamcmd(d, "tls.reload") == "Ok. TLS configuration reloaded.")
        let second = try TLSPythonUA.run(ua, ["handshake", "--port", String(tlsPort), "--ca", certs.caCert])
        #expect(second.output.contains("PEER_CN reloaded.test"), "\(second.output)")

        let info = try Self.kamcmd(d, "tls.info")
        #expect(info.contains("max_connections:") && info.contains("opened_connections:"), "\(info)")
        let options = try Self.kamcmd(d, "tls.options")
        #expect(options.contains("method: TLSv1.2+"), "\(options)")
        #expect(options.contains("certificate: \(live)"), "\(options)")
    }
}

/// The `config` profile file: per-listener server certificates, and file:line errors.
@Suite("TLS profile file", .serialized, .enabled(if: inIsolatedNetwork() && which("openssl") != nil && which("python3") != nil,
                                                 "needs an isolated network namespace, openssl and python3"))
struct DaemonTLSProfileTests {
    @Test("[server:IP:PORT] serves its own certificate, [server:default] the others; a bad line stops the start with file:line")
    func profiles() throws {
        let certs = try TLSTestCertificates()
        defer { certs.remove() }
        let other = try certs.issueServer(named: "second", cn: "second.test")
        let mainPort = freePort()
        let secondPort = freePort()
        let profile = certs.dir.appendingPathComponent("tls.cfg").path
        try """
            # per-listener certificates
            [server:default]
            method = TLSv1.2+
            certificate = \(certs.serverCert)
            private_key = \(certs.serverKey)

            [server:127.0.0.1:\(secondPort)]
            certificate = \(other.cert)
            private_key = \(other.key)

            [client:default]
            verify_certificate = no
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        let d = try DaemonProcess(config: TLSDaemonConfig.text(
            certs: certs, tlsPort: mainPort, tlsParams: "modparam(\"tls\", \"config\", \"\(profile)\")",
            extra: "listen=tls:127.0.0.1:\(secondPort)"))
        defer { d.stop() }
        let ua = try TLSPythonUA.write(in: certs.dir)
        let first = try TLSPythonUA.run(ua, ["handshake", "--port", String(mainPort), "--ca", certs.caCert])
        #expect(first.output.contains("PEER_CN server.test"), "\(first.output)\n\(d.log)")
        let second = try TLSPythonUA.run(ua, ["handshake", "--port", String(secondPort), "--ca", certs.caCert])
        #expect(second.output.contains("PEER_CN second.test"), "\(second.output)\n\(d.log)")

        try "[server:default]\ncertificate = \(certs.serverCert)\nverify_certificate = maybe\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let cfg = certs.dir.appendingPathComponent("bad.cfg").path
        try TLSDaemonConfig.text(certs: certs, tlsPort: freePort(), tlsParams: "modparam(\"tls\", \"config\", \"\(profile)\")")
            .replacingOccurrences(of: "{PORT}", with: String(freePort()))
            .write(toFile: cfg, atomically: true, encoding: .utf8)
        let r = try run(TestPaths.daemon.path, ["-c", "-f", cfg])
        #expect(r.status != 0)
        #expect(r.output.contains("\(profile):3: verify_certificate expects yes/no or 1/0, found 'maybe'"), "\(r.output)")
    }
}
