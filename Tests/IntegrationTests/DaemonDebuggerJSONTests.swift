import Foundation
import Shared
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The debugger over JSON-RPC (jsonrpcs datagram) and with stream workers: every worker,
/// UDP or TCP, has its own pid; `cfgtrace=1` traces from the start.
@Suite("daemon debugger over JSON-RPC and TCP", .serialized)
struct DaemonDebuggerJSONTests {
    static let config = """
        debug=2
        children=2
        tcp_children=2
        listen=udp:127.0.0.1:{PORT}
        listen=tcp:127.0.0.1:{PORT}
        loadmodule "jsonrpcs.so"
        loadmodule "sl.so"
        loadmodule "debugger.so"
        modparam("debugger", "cfgtrace", 1)
        request_route {
            sl_send_reply("200", "Traced");
        }
        """

    @Test("core.psx pids are distinct per worker; dbg.ls per pid, bp_add/bp_list shapes; cfgtrace traces a TCP request")
    func jsonAndTCP() throws {
        let d = try DaemonProcess(config: Self.config)
        defer { d.stop() }
        let rpc = try RPCJSONDatagramClient(address: .unixDatagram(path: d.dir.path + "/kamailio_rpc.sock"),
                                            timeout: .seconds(20))
        let psx = try rpc.call("core.psx").first
        let entries: [RPCValue] = if case .array(let a)? = psx { a } else { [] }
        func pids(_ prefix: String) -> [Int] {
            entries.compactMap { $0["DSC"]?.stringValue?.hasPrefix(prefix) == true ? $0["PID"]?.intValue : nil }
        }
        let udp = pids("udp receiver"), tcp = pids("tcp receiver")
        let main = try #require(pids("main process").first)
        #expect(udp.count == 2 && tcp.count == 2, "\(entries)")
        #expect(Set(udp + tcp).count == 4 && !(udp + tcp).contains(main))
        for pid in udp + tcp {
            let ls = try rpc.call("dbg.ls", [.int(pid)]).first
            #expect(ls?["pid"]?.intValue == pid && ls?["set"]?.intValue == 1 && ls?["state"]?.intValue == 0, "\(ls ?? .null)")
        }
        // not array-returning, as in Kamailio: JSON-RPC gets the last process only
        #expect(try rpc.call("dbg.ls").first?["entry"]?.intValue == entries.count - 1)
        #expect(try rpc.call("dbg.bp_list").first == .array([]))
        let added = try rpc.call("dbg.bp_add", ["route:request_route"]).first
        #expect(added?["line"]?.intValue == 11 && added?["id"]?.intValue == 1, "\(added ?? .null)")
        #expect(try rpc.call("dbg.bp_list").first.map { if case .array(let a) = $0 { a.count } else { 0 } } == 1)
        #expect(try rpc.call("dbg.bp_del", ["1"]).first == "200 ok")
        #expect(throws: RPCClientError.fault(RPCFault(code: 500, message: "process not stopped"))) {
            try rpc.call("dbg.bp", ["show", .int(main)])
        }

        let request = sipRequest("OPTIONS", uri: "sip:127.0.0.1:\(d.port);transport=tcp", via: "TCP 127.0.0.1:5999",
                                 callID: "dbg-tcp-1")
        let reply = tcpExchange(Array(request.utf8), ip: "127.0.0.1", port: d.port)
        #expect(statusCode(reply) == 200, "\(reply ?? "no reply")\n\(d.log)")
        let line = "*** cfgtrace:request_route=[DEFAULT_ROUTE] c=[\(d.dir.path)/test.cfg] l=11 a=26 n=sl_send_reply"
        #expect(d.log.contains(line), "\(d.log)")
    }
}
