import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Test certificates made by the openssl CLI in a temporary directory: a CA, a server
/// certificate (CN `server.test`, SAN 127.0.0.1) and a client certificate signed by the CA,
/// and a self-signed client certificate that the CA does not vouch for. Nothing here is
/// committed; every run makes fresh keys.
struct TLSTestCertificates {
    let dir: URL
    var caCert: String { dir.appendingPathComponent("ca.pem").path }
    var serverCert: String { dir.appendingPathComponent("server.pem").path }
    var serverKey: String { dir.appendingPathComponent("server.key").path }
    var clientCert: String { dir.appendingPathComponent("client.pem").path }
    var clientKey: String { dir.appendingPathComponent("client.key").path }
    var rogueCert: String { dir.appendingPathComponent("rogue.pem").path }
    var rogueKey: String { dir.appendingPathComponent("rogue.key").path }

    /// Makes everything; throws when openssl fails.
    init() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("kamailiod-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let ssl = which("openssl") ?? "/usr/bin/openssl"
        func openssl(_ args: [String]) throws {
            let r = try run(ssl, args)
            guard r.status == 0 else { throw PeerError.socket("openssl \(args.joined(separator: " ")): \(r.output)") }
        }
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Test CA",
                     "-keyout", path("ca.key"), "-out", caCert])
        try issue("server", cn: "server.test", ext: "subjectAltName=IP:127.0.0.1,IP:::1,DNS:server.test", openssl)
        try issue("client", cn: "alice.client", ext: "extendedKeyUsage=clientAuth", openssl)
        try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rogue",
                     "-keyout", rogueKey, "-out", rogueCert])
    }

    /// A second server certificate (different CN) for reload tests.
    func issueServer(named name: String, cn: String) throws -> (cert: String, key: String) {
        let ssl = which("openssl") ?? "/usr/bin/openssl"
        try issue(name, cn: cn, ext: "subjectAltName=IP:127.0.0.1") { args in
            let r = try run(ssl, args)
            guard r.status == 0 else { throw PeerError.socket("openssl: \(r.output)") }
        }
        return (path("\(name).pem"), path("\(name).key"))
    }

    /// Revokes `cert` (issued by the test CA) and returns the path of the CA's fresh CRL.
    func revoke(_ cert: String) throws -> String {
        let ssl = which("openssl") ?? "/usr/bin/openssl"
        let cnf = path("ca.cnf")
        try """
            [ ca ]
            default_ca = test_ca
            [ test_ca ]
            database = \(path("index.txt"))
            crlnumber = \(path("crlnumber"))
            certificate = \(caCert)
            private_key = \(path("ca.key"))
            default_md = sha256
            default_crl_days = 2
            """.write(toFile: cnf, atomically: true, encoding: .utf8)
        try "".write(toFile: path("index.txt"), atomically: true, encoding: .utf8)
        try "1000\n".write(toFile: path("crlnumber"), atomically: true, encoding: .utf8)
        for args in [["ca", "-config", cnf, "-revoke", cert], ["ca", "-config", cnf, "-gencrl", "-out", path("crl.pem")]] {
            let r = try run(ssl, args)
            guard r.status == 0 else { throw PeerError.socket("openssl \(args.joined(separator: " ")): \(r.output)") }
        }
        return path("crl.pem")
    }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func issue(_ name: String, cn: String, ext: String, _ openssl: ([String]) throws -> Void) throws {
        let extFile = path("\(name).ext")
        try ext.write(toFile: extFile, atomically: true, encoding: .utf8)
        try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(cn)", "-keyout", path("\(name).key"),
                     "-out", path("\(name).csr")])
        try openssl(["x509", "-req", "-in", path("\(name).csr"), "-CA", caCert, "-CAkey", path("ca.key"),
                     "-CAcreateserial", "-days", "2", "-extfile", extFile, "-out", path("\(name).pem")])
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// Starts a peer program with posix_spawn, stdout and stderr to `log`. Not Foundation's
/// Process: its children inherit the test thread's blocked signals (Kamailio then ignores
/// SIGTERM), and its monitor blocks in waitpid on a running sibling when another exits.
/// The peer gets its own process group so `stopPeer` reaches what it forks.
func spawnPeer(_ argv: [String], log logPath: String) throws -> pid_t {
    let exe = argv[0]
    var pid: pid_t = 0
    var attr = posix_spawnattr_t()
    posix_spawnattr_init(&attr)
    defer { posix_spawnattr_destroy(&attr) }
    var none = sigset_t()
    sigemptyset(&none)
    posix_spawnattr_setsigmask(&attr, &none)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for sig in [SIGTERM, SIGINT, SIGCHLD, SIGPIPE, SIGHUP] { sigaddset(&defaults, sig) }
    posix_spawnattr_setsigdefault(&attr, &defaults)
    // Its own process group, so stopPeer can reach the workers it forks.
    posix_spawnattr_setpgroup(&attr, 0)
    posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    var cargs = argv.map { strdup($0) } + [nil]
    defer { for a in cargs { free(a) } }
    let rc = posix_spawn(&pid, exe, &actions, &attr, &cargs, environ)
    guard rc == 0 else { throw PeerError.socket("cannot start \(exe): \(rc)") }
    return pid
}

/// True while the spawned peer runs (reaps it once it exited).
func peerIsRunning(_ pid: pid_t) -> Bool {
    guard pid > 0 else { return false }
    var status: Int32 = 0
    return waitpid(pid, &status, WNOHANG) == 0
}

/// SIGTERM, up to 5 s, then SIGKILL to the peer's process group, then reaps it.
func stopPeer(_ pid: pid_t) {
    guard pid > 0 else { return }
    kill(pid, SIGTERM)
    let deadline = Date().addingTimeInterval(5)
    while peerIsRunning(pid) && Date() < deadline { usleep(10_000) }
    kill(-pid, SIGKILL)
    var status: Int32 = 0
    _ = waitpid(pid, &status, WNOHANG)
}

/// Registrar + proxy over TLS (and UDP for the readiness probe): REGISTER saves, other
/// initial requests are looked up and relayed statefully with Record-Route, in-dialog
/// requests follow Route. `tlsParams` are extra `modparam("tls", ...)` lines.
enum TLSDaemonConfig {
    static func text(certs: TLSTestCertificates, tlsPort: UInt16, tlsParams: String = "", extra: String = "",
                     route: String = "") -> String {
        """
        #!KAMAILIO
        debug=3
        children=2
        tcp_children=2
        enable_tls=yes
        listen=udp:127.0.0.1:{PORT}
        listen=tls:127.0.0.1:\(tlsPort)
        alias=sip.test
        auto_aliases=no
        loadmodule "sl.so"
        loadmodule "tm.so"
        loadmodule "textops.so"
        loadmodule "siputils.so"
        loadmodule "rr.so"
        loadmodule "xlog.so"
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "tls.so"
        loadmodule "ctl.so"
        modparam("tls", "certificate", "\(certs.serverCert)")
        modparam("tls", "private_key", "\(certs.serverKey)")
        \(tlsParams)
        \(extra)
        request_route {
            if (is_method("OPTIONS") && $rU == $null) { sl_send_reply("200", "OK"); exit; }
            if (proto==TLS) {
                xlog("L_INFO", "TLS-IN $rm proto=$proto version=$tls_version cn=$tls_peer_subject_cn cipher=$tls_cipher_info\\n");
                if (is_peer_verified()) { xlog("L_INFO", "TLS-VERIFIED $rm\\n"); }
            }
            \(route)
            if (has_totag()) {
                if (loose_route()) { t_relay(); exit; }
                if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
                sl_send_reply("404", "Not here");
                exit;
            }
            if (is_method("REGISTER")) { save("location"); exit; }
            if (is_method("INVITE")) { record_route(); }
            if (!lookup("location")) { sl_send_reply("404", "Not Found"); exit; }
            t_relay();
        }
        """
    }
}

/// The Python `ssl` SIP user agent the TLS tests drive (written to a file per run).
enum TLSPythonUA {
    /// Writes the script and returns its path.
    static func write(in dir: URL) throws -> String {
        let p = dir.appendingPathComponent("tls_ua.py").path
        try script.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// Runs a mode of the script; returns status and output.
    static func run(_ script: String, _ args: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        try IntegrationTests.run(which("python3") ?? "/usr/bin/python3", [script] + args, timeout: timeout)
    }

    static let script = #"""
import argparse, os, socket, ssl, sys, time, uuid

ap = argparse.ArgumentParser()
ap.add_argument("mode")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--ca")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--count", type=int, default=1)
ap.add_argument("--pid", type=int, default=0)
ap.add_argument("--expect-cn")
ap.add_argument("--alias-port", type=int, default=0)
ap.add_argument("--via-alias", action="store_true")
a = ap.parse_args()

def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)

def context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.ca:
        ctx.load_verify_locations(a.ca)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    return ctx

class Conn:
    def __init__(self, ctx):
        raw = socket.create_connection((a.host, a.port), timeout=10)
        self.s = ctx.wrap_socket(raw, server_hostname="server.test")
        self.port = self.s.getsockname()[1]
        self.adv = self.port  # the port put in Via and Contact
        self.buf = b""
    def send(self, text):
        self.s.sendall(text.replace("\n", "\r\n").encode() if "\r\n" not in text else text.encode())
    def recv(self, timeout=10):
        deadline = time.time() + timeout
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                head = self.buf[:end].decode()
                length = 0
                for line in head.split("\r\n"):
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                if len(self.buf) >= end + 4 + length:
                    msg = self.buf[:end + 4 + length].decode()
                    self.buf = self.buf[end + 4 + length:]
                    return msg
            left = deadline - time.time()
            if left <= 0:
                fail("timeout waiting for a message on port %d" % self.port)
            self.s.settimeout(left)
            chunk = self.s.recv(65536)
            if not chunk:
                fail("connection closed by server")
            self.buf += chunk

def header(msg, name):
    for line in msg.split("\r\n")[1:]:
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None

def headers(msg, name):
    return [l.split(":", 1)[1].strip() for l in msg.split("\r\n")[1:] if l.lower().startswith(name.lower() + ":")]

def status(msg):
    first = msg.split("\r\n", 1)[0]
    return int(first.split(" ")[1]) if first.startswith("SIP/2.0") else None

def via(c):
    alias = ";alias" if a.via_alias else ""
    return "Via: SIP/2.0/TLS 127.0.0.1:%d;rport%s;branch=z9hG4bK%s" % (c.adv, alias, uuid.uuid4().hex[:12])

def register(c, user, cseq=1, callid=None):
    callid = callid or uuid.uuid4().hex
    c.send("\r\n".join([
        "REGISTER sip:sip.test SIP/2.0", via(c),
        "From: <sip:%s@sip.test>;tag=%s" % (user, uuid.uuid4().hex[:8]),
        "To: <sip:%s@sip.test>" % user, "Call-ID: " + callid, "CSeq: %d REGISTER" % cseq,
        "Contact: <sip:%s@127.0.0.1:%d;transport=tls>" % (user, c.adv), "Expires: 600",
        "Max-Forwards: 70", "Content-Length: 0", "", ""]))
    r = c.recv()
    if status(r) != 200:
        fail("REGISTER %s got: %s" % (user, r.split("\r\n", 1)[0]))
    return r

def reply(c, req, code, reason, totag, body=""):
    lines = ["SIP/2.0 %d %s" % (code, reason)] + ["Via: " + v for v in headers(req, "Via")]
    lines += ["Record-Route: " + v for v in headers(req, "Record-Route")]
    to = header(req, "To")
    if ";tag=" not in to: to += ";tag=" + totag
    lines += ["From: " + header(req, "From"), "To: " + to, "Call-ID: " + header(req, "Call-ID"),
              "CSeq: " + header(req, "CSeq"), "Contact: <sip:bob@127.0.0.1:%d;transport=tls>" % c.adv]
    if body: lines.append("Content-Type: application/sdp")
    lines += ["Content-Length: %d" % len(body), "", body]
    c.send("\r\n".join(lines))

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

def call():
    ctx = context()
    alice, bob = Conn(ctx), Conn(ctx)
    if a.alias_port:
        bob.adv = a.alias_port  # bob claims a listening port; only an alias leads back to him
    print("VERSION", alice.s.version(), alice.s.cipher()[0], flush=True)
    register(alice, "alice"); register(bob, "bob")
    print("OK registered", flush=True)
    callid, ftag = uuid.uuid4().hex, uuid.uuid4().hex[:8]
    alice.send("\r\n".join(["INVITE sip:bob@sip.test SIP/2.0", via(alice),
        "From: <sip:alice@sip.test>;tag=" + ftag, "To: <sip:bob@sip.test>", "Call-ID: " + callid,
        "CSeq: 1 INVITE", "Contact: <sip:alice@127.0.0.1:%d;transport=tls>" % alice.port, "Max-Forwards: 70",
        "Content-Type: application/sdp", "Content-Length: %d" % len(SDP), "", SDP]))
    inv = bob.recv()
    if not inv.startswith("INVITE sip:bob@127.0.0.1:%d;transport=tls" % bob.adv):
        fail("bob got: " + inv.split("\r\n", 1)[0])
    print("OK invite reached bob over his connection", flush=True)
    totag = uuid.uuid4().hex[:8]
    reply(bob, inv, 180, "Ringing", totag)
    reply(bob, inv, 200, "OK", totag, SDP)
    codes = []
    while 200 not in codes:
        r = alice.recv()
        codes.append(status(r))
        if status(r) == 200: ok = r
    print("OK alice got", codes, flush=True)
    rr = list(reversed(headers(ok, "Record-Route")))
    if not rr or "transport=tls" not in rr[0]:
        fail("no TLS Record-Route in 200: %s" % rr)
    for method, cseq in (("ACK", 1), ("BYE", 2)):
        alice.send("\r\n".join(["%s sip:bob@127.0.0.1:%d;transport=tls SIP/2.0" % (method, bob.adv), via(alice),
            "Route: " + ", ".join(rr), "From: <sip:alice@sip.test>;tag=" + ftag,
            "To: <sip:bob@sip.test>;tag=" + totag, "Call-ID: " + callid, "CSeq: %d %s" % (cseq, method),
            "Max-Forwards: 70", "Content-Length: 0", "", ""]))
        req = bob.recv()
        if not req.startswith(method + " "):
            fail("bob expected %s, got: %s" % (method, req.split("\r\n", 1)[0]))
        print("OK %s reached bob" % method, flush=True)
    reply(bob, req, 200, "OK", totag)
    r = alice.recv()
    if status(r) != 200 or "BYE" not in header(r, "CSeq"):
        fail("alice expected 200 for BYE, got: " + r.split("\r\n", 1)[0])
    print("OK call complete", flush=True)

def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])

def bench():
    ctx = context()
    hz = os.sysconf("SC_CLK_TCK")
    t0, c0 = time.time(), cpu_ticks(a.pid)
    conns = [Conn(ctx) for _ in range(200)]
    t1, c1 = time.time(), cpu_ticks(a.pid)
    for c in conns: c.s.close()
    print("HANDSHAKES 200 wall_ms_each=%.2f server_cpu_ms_each=%.2f" % ((t1 - t0) * 5, (c1 - c0) * 1000.0 / hz / 200), flush=True)
    c = Conn(ctx)
    callid = uuid.uuid4().hex
    t0, c0 = time.time(), cpu_ticks(a.pid)
    for i in range(a.count):
        register(c, "bench", cseq=i + 1, callid=callid)
    t1, c1 = time.time(), cpu_ticks(a.pid)
    print("REGISTERS %d wall_s=%.2f server_cpu_s=%.2f" % (a.count, t1 - t0, (c1 - c0) / hz), flush=True)

def handshake():
    c = Conn(context())
    print("VERSION", c.s.version(), c.s.cipher()[0], flush=True)
    peer = c.s.getpeercert()
    if peer:
        cn = [v for rdn in peer["subject"] for (k, v) in rdn if k == "commonName"]
        print("PEER_CN", cn[0] if cn else "", flush=True)
    register(c, "hs")
    print("OK registered", flush=True)

def wait_closed(sock, timeout):
    """Seconds until the server closed `sock` (EOF or reset); fails after `timeout`."""
    start = time.time()
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                break
    except (ConnectionResetError, ssl.SSLError):
        pass
    except socket.timeout:
        fail("server kept the connection open for %d s" % timeout)
    return time.time() - start

def plaintext():
    s = socket.create_connection((a.host, a.port), timeout=10)
    s.sendall(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKp\r\nContent-Length: 0\r\n\r\n")
    print("CLOSED plaintext after %.1f s" % wait_closed(s, 30), flush=True)

def stall():
    s = socket.create_connection((a.host, a.port), timeout=10)
    s.sendall(bytes([0x16, 0x03, 0x01, 0x00, 0xf0, 0x01]))  # a ClientHello that never finishes
    print("CLOSED stall after %.1f s" % wait_closed(s, 60), flush=True)

def midclose():
    c = Conn(context())
    c.send("REGISTER sip:sip.test SIP/2.0\r\n" + via(c) + "\r\nFrom: <sip:m@sip.test>;tag=1\r\n")
    time.sleep(0.3)
    c.s.close()
    print("CLOSED midclose", flush=True)

def idle():
    ctx = context()
    conns = [Conn(ctx) for _ in range(a.count)]
    print("OPEN %d" % len(conns), flush=True)
    register(Conn(ctx), "stillserving")
    print("OK still serving with %d idle connections" % len(conns), flush=True)
    longest = max(wait_closed(c.s, 120) for c in conns)
    print("CLOSED idle all %d within %.1f s" % (len(conns), longest), flush=True)

def hold():
    c = Conn(context())
    register(c, "holder")
    print("HOLDING", flush=True)
    time.sleep(a.count)

modes = {"hold": hold, "call": call, "bench": bench, "handshake": handshake, "plaintext": plaintext, "stall": stall,
         "midclose": midclose, "idle": idle}
try:
    modes[a.mode]()
except ssl.SSLError as e:
    print("SSLERROR", e, flush=True)
    sys.exit(2)
except (ConnectionError, OSError) as e:
    print("OSERROR", e, flush=True)
    sys.exit(3)
"""#
}
