import Foundation
import Shared
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// RPC load beside SIP load: the control servers run on their own threads, so neither
/// side may see an error while the other is busy.
@Suite("Control interfaces under load", .serialized)
struct DaemonControlLoadTests {
    static func config(uasPort: UInt16) -> String {
        DaemonForwardingTests.proxyConfig(uasPort: uasPort).replacingOccurrences(of: "request_route {", with: """
        loadmodule "ctl.so"
        loadmodule "jsonrpcs.so"
        request_route {
        """)
    }

    @Test("50 concurrent RPC clients for 10 seconds while sipp places calls: no RPC error, no SIP failure",
          .enabled(if: which("sipp") != nil))
    func rpcClientsBesideSipp() throws {
        let uasPort = freePort()
        let d = try DaemonProcess(config: Self.config(uasPort: uasPort), waitForUDP: false)
        defer { d.stop() }
        // posix_spawn with the default signal mask (Foundation's Process passes on the test
        // thread's blocked SIGTERM, and a -bg sipp is not the process it would stop): the
        // UAS is stopped at the end instead of outliving the run.
        let uas = TestProcesses.spawn(["sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", "\(uasPort)", "-nostdin"])
        defer { if let uas { TestProcesses.stop(uas) } }
        #expect(waitForUDPListener(uasPort), "the sipp UAS did not start")

        let ctl = d.dir.path + "/kamailio_ctl"
        let sock = d.dir.path + "/kamailio_rpc.sock"
        let fifo = d.dir.path + "/kamailio_rpc.fifo"
        let stop = Atomic<Bool>(false)
        let calls = Atomic<Int>(0)
        let errors = Mutex<[String]>([])
        let group = DispatchGroup()
        for i in 0..<50 {
            let thread = Thread {
                defer { group.leave() }
                do {
                    let client: any RPCClient = switch i % 5 {
                    case 0, 1, 2: try RPCBinrpcClient(address: .unixStream(path: ctl))
                    case 3: try RPCJSONDatagramClient(address: .unixDatagram(path: sock))
                    default: try RPCFIFOClient(address: .fifo(path: fifo), timeout: .seconds(10))
                    }
                    while !stop.load(ordering: .relaxed) {
                        let method = ["core.uptime", "stats.get_statistics", "core.tcp_info", "core.psx"][calls.load(ordering: .relaxed) % 4]
                        _ = try client.call(method, method == "stats.get_statistics" ? ["all"] : [])
                        calls.add(1, ordering: .relaxed)
                        // A console polls; it does not spin. The pause also leaves sipp
                        // (which shares the two test cores) the CPU it needs to keep time.
                        usleep(10_000)
                    }
                } catch {
                    errors.withLock { $0.append("client \(i): \(error)") }
                }
            }
            group.enter()
            thread.start()
        }
        let started = Date()
        let r = try run(which("sipp") ?? "sipp", ["127.0.0.1:\(d.port)", "-sn", "uac", "-i", "127.0.0.1", "-p", "\(freePort())",
                                                   "-m", "100", "-r", "10", "-nostdin", "-timeout", "60s", "-timeout_error",
                                                   // two workers share the UDP socket, so a 180 can be relayed after
                                                   // its 200 (benign; ../shared/bench passes the same flag)
                                                   "-pause_msg_ign",
                                                   "-trace_err", "-error_file", d.dir.path + "/sipp-errors.log"],
                        timeout: 90)
        let left = 10 - Date().timeIntervalSince(started)
        if left > 0 { usleep(UInt32(left * 1_000_000)) }
        stop.store(true, ordering: .relaxed)
        #expect(group.wait(timeout: .now() + 30) == .success)
        let sippErrors = (try? String(contentsOfFile: d.dir.path + "/sipp-errors.log", encoding: .utf8)) ?? ""
        #expect(r.status == 0, "sipp errors: \(sippErrors.prefix(3000))\nlog: \(d.log.suffix(1500))")
        #expect(errors.withLock { $0 }.isEmpty, "\(errors.withLock { $0.prefix(5) })")
        #expect(calls.load(ordering: .relaxed) > 1000)
    }
}
