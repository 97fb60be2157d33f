import Foundation
import Shared
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The control interfaces of the running daemon, driven by the real Debian tools
/// (kamcmd over the binrpc socket, kamctl over the FIFO) and by the Shared clients.
@Suite("Control interfaces with real tools", .serialized)
struct DaemonControlTests {
    /// The default daemon puts its control files in `-Y DIR` (DaemonProcess passes its dir).
    static func paths(_ d: DaemonProcess) -> (ctl: String, fifo: String, sock: String) {
        (d.dir.path + "/kamailio_ctl", d.dir.path + "/kamailio_rpc.fifo", d.dir.path + "/kamailio_rpc.sock")
    }

    static func kamcmd(_ d: DaemonProcess, _ args: [String]) throws -> String {
        let r = try run(which("kamcmd") ?? "kamcmd", ["-s", "unix:" + paths(d).ctl] + args, timeout: 20)
        #expect(r.status == 0, "\(r.output)")
        return r.output
    }

    @Test("kamcmd core.uptime, system.listMethods and stats.get_statistics all", .enabled(if: which("kamcmd") != nil))
    func kamcmdBasics() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let uptime = try Self.kamcmd(d, ["core.uptime"])
        #expect(uptime.contains("\tuptime: ") && uptime.contains("\tup_since: "), "\(uptime)")
        let methods = try Self.kamcmd(d, ["system.listMethods"]).split(separator: "\n").map(String.init)
        for m in ["core.uptime", "core.version", "core.ps", "stats.get_statistics", "ctl.who", "system.methodHelp"] {
            #expect(methods.contains(m), "\(m) missing")
        }
        #expect(methods == methods.sorted())
        let stats = try Self.kamcmd(d, ["stats.get_statistics", "all"])
        #expect(stats.contains("sl:1xx_replies = "), "\(stats)")
        #expect(stats.contains("tcp:current_opened_connections = "), "\(stats)")
        // DaemonProcess pinged the daemon with OPTIONS until it answered.
        #expect(stats.contains("core:rcv_requests_options = "), "\(stats)")
        #expect(!stats.contains("core:rcv_requests = 0\n"), "\(stats)")
        #expect(try Self.kamcmd(d, ["core.version"]).hasPrefix("kamailiod "))
        #expect(try Self.kamcmd(d, ["ctl.listen"]).contains(Self.paths(d).ctl))
    }

    @Test("kamcmd shows Kamailio's faults for an unknown method and bad parameters", .enabled(if: which("kamcmd") != nil))
    func kamcmdFaults() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        #expect(try Self.kamcmd(d, ["no.such.method"]).contains("error: 500 - command no.such.method not found"))
        #expect(try Self.kamcmd(d, ["core.printi", "abc"])
            .contains("error: 400 - error at parameter 0: expected integer type but record doesn't match type"))
        #expect(try Self.kamcmd(d, ["system.methodHelp"]).contains("error: 400 - Method Name Expected"))
        #expect(try Self.kamcmd(d, ["core.shmmem", "x"]).contains("error: 500 - bad param, (use b|k|m|g)"))
        #expect(try Self.kamcmd(d, ["core.echo", "s:x", "300", "--", "-1"]) == "x\n300\n18446744073709551615\n")
    }

    @Test("kamctl rpc over the FIFO, configured through RPCFIFOPATH", .enabled(if: which("kamctl") != nil))
    func kamctlOverFIFO() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let env = ["RPCFIFOPATH=" + Self.paths(d).fifo]
        let version = try run("/usr/bin/env", env + [which("kamctl") ?? "kamctl", "rpc", "core.version"], timeout: 20)
        #expect(version.status == 0, "\(version.output)")
        #expect(version.output.contains("\"result\": \"kamailiod "), "\(version.output)")
        let missing = try run("/usr/bin/env", env + [which("kamctl") ?? "kamctl", "rpc", "no.such"], timeout: 20)
        #expect(missing.output.contains("Method Not Found"), "\(missing.output)")
        let stats = try run("/usr/bin/env", env + [which("kamctl") ?? "kamctl", "rpc", "stats.get_statistics", "sl:"], timeout: 20)
        #expect(stats.output.contains("sl:sent_replies = "), "\(stats.output)")
    }

    @Test("several binrpc requests on one connection; JSON-RPC datagram and FIFO through the Shared clients")
    func sharedClients() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let p = Self.paths(d)
        let binrpc = try RPCBinrpcClient(address: .unixStream(path: p.ctl))
        for _ in 0..<5 { #expect(try binrpc.call("core.echo", ["a", 1]) == ["a", "1"]) }
        #expect(try binrpc.call("ctl.connections", []) == [1])
        #expect(throws: RPCClientError.fault(RPCFault(code: 400, message: "error at parameter 0: expected integer type but record doesn't match type"))) {
            try binrpc.call("core.printi", ["x"])
        }
        #expect(try binrpc.call("core.printi", [7]) == [7])
        let dgram = try RPCJSONDatagramClient(address: .unixDatagram(path: p.sock))
        #expect(try dgram.call("core.echo", ["hello", 42, 3.5]) == [["hello", "42", "3"]])
        #expect(throws: RPCClientError.fault(.binrpcOnly)) { try dgram.call("ctl.who", []) }
        #expect(try dgram.call("ctl.listen", []) == [.struct([])])
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try dgram.call("no.such", []) }
        let fifo = try RPCFIFOClient(address: .fifo(path: p.fifo), timeout: .seconds(5))
        let ps = try fifo.call("core.psx", [])
        #expect(ps.first.map { if case .array(let a) = $0 { !a.isEmpty } else { false } } == true)
    }

    @Test("a small Python client speaks JSON-RPC over the datagram socket, as kamcli does",
          .enabled(if: which("python3") != nil))
    func pythonDatagramClient() throws {
        let d = try DaemonProcess()
        defer { d.stop() }
        let script = """
        import socket, json, sys
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind("")
        s.settimeout(5)
        s.sendto(json.dumps({"jsonrpc": "2.0", "method": "core.uptime", "id": 7}).encode(), sys.argv[1])
        reply = json.loads(s.recv(65536))
        print(reply["id"], reply["result"]["uptime"] >= 0)
        """
        let r = try run(which("python3") ?? "python3", ["-c", script, Self.paths(d).sock], timeout: 20)
        #expect(r.output == "7 True\n", "\(r.output)")
    }

    @Test("control files have their modes while running and are gone after a clean stop")
    func fileLifecycle() throws {
        let d = try DaemonProcess()
        let p = Self.paths(d)
        func mode(_ path: String) -> mode_t? {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode : nil
        }
        #expect(mode(p.ctl).map { $0 & S_IFMT == S_IFSOCK && $0 & 0o777 == 0o600 } == true)
        #expect(mode(p.fifo).map { $0 & S_IFMT == S_IFIFO && $0 & 0o777 == 0o660 } == true)
        #expect(mode(p.sock).map { $0 & S_IFMT == S_IFSOCK && $0 & 0o777 == 0o660 } == true)
        #expect(d.stop() == 0)
        #expect(mode(p.ctl) == nil && mode(p.fifo) == nil && mode(p.sock) == nil)
    }

    @Test("modparams: two binrpc addresses, mode, jsonrpcs on UDP only")
    func modparams() throws {
        let ctlPort = freePort()
        let rpcPort = freePort()
        let cfg = """
        listen=udp:127.0.0.1:{PORT}
        loadmodule "sl.so"
        loadmodule "ctl.so"
        loadmodule "jsonrpcs.so"
        modparam("ctl", "binrpc", "unix:my_ctl")
        modparam("ctl", "binrpc", "tcp:127.0.0.1:\(ctlPort)")
        modparam("ctl", "mode", 0660)
        modparam("jsonrpcs", "transport", 4)
        modparam("jsonrpcs", "dgram_socket", "udp:127.0.0.1:\(rpcPort)")
        modparam("jsonrpcs", "pretty_format", 0)
        request_route { sl_send_reply("200", "OK"); exit; }
        """
        let d = try DaemonProcess(config: cfg)
        defer { d.stop() }
        let ctl = d.dir.path + "/my_ctl"
        var st = stat()
        #expect(lstat(ctl, &st) == 0 && st.st_mode & 0o777 == 0o660)
        #expect(!FileManager.default.fileExists(atPath: d.dir.path + "/kamailio_rpc.fifo"))
        let unix = try RPCBinrpcClient(address: .unixStream(path: ctl))
        let listen = try unix.call("ctl.listen", []).compactMap(\.stringValue)
        #expect(listen == ["binrpc", "unix_stream", ctl, "", "binrpc", "tcp", "127.0.0.1", String(ctlPort)])
        let tcp = try RPCBinrpcClient(address: .tcp(host: "127.0.0.1", port: ctlPort))
        #expect(try tcp.call("ctl.connections", []) == [2])
        let who = try tcp.call("ctl.who", []).compactMap(\.stringValue)
        #expect(who.count == 12 && who.contains("<anonymous unix socket>"))
        let udp = try RPCJSONDatagramClient(address: .udp(host: "127.0.0.1", port: rpcPort))
        #expect(try udp.call("core.printi", [1, 2]) == [[1, 2]])
    }

    @Test("the Shared clients talk to a real Kamailio 5.6.3 loading ctl and jsonrpcs",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/kamailio")))
    func realKamailio() throws {
        let dir = "/tmp/kam-ctl-\(getpid())-\(UInt32.random(in: 0...999_999))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let port = freePort()
        let cfg = TestKamailioConfig.header(dir: dir, listen: "udp:127.0.0.1:\(port)", modules: ["kex", "sl"],
                                            ctlName: "kamailio_ctl", fifoName: "kamailio_rpc.fifo", sockName: "kamailio_rpc.sock")
            + "request_route { sl_send_reply(\"200\", \"OK\"); exit; }\n"
        try cfg.write(toFile: dir + "/kamailio.cfg", atomically: true, encoding: .utf8)
        // Spawned with the default signal mask, so SIGTERM stops Kamailio and its children.
        let k = try #require(TestProcesses.spawn(["/usr/sbin/kamailio", "-f", dir + "/kamailio.cfg", "-DD", "-E", "-Y", dir,
                                                  "-m", "32", "-M", "8"]))
        defer { TestProcesses.stop(k) }
        // Kamailio's ctl, jsonrpcs and FIFO processes come up on their own: ask each until it answers.
        let binrpc = try #require(eventually(20) { try? RPCBinrpcClient(address: .unixStream(path: dir + "/kamailio_ctl")) })
        let version = eventually(20) { try? binrpc.call("core.version", []) }
        #expect(version?.first?.stringValue?.hasPrefix("kamailio 5.6") == true)
        #expect(try binrpc.call("core.echo", ["a", 1]) == ["a", "1"])
        let dgram = try #require(eventually(20) { try? RPCJSONDatagramClient(address: .unixDatagram(path: dir + "/kamailio_rpc.sock")) })
        #expect(try dgram.call("core.echo", ["hello", 42]) == [["hello", "42"]])
        let fifo = try RPCFIFOClient(address: .fifo(path: dir + "/kamailio_rpc.fifo"), timeout: .seconds(5))
        _ = eventually(20) { try? fifo.call("core.version", []) }  // ENXIO until its reader opened the FIFO
        #expect(throws: RPCClientError.fault(.methodNotFound)) { try fifo.call("no.such", []) }
    }
}
