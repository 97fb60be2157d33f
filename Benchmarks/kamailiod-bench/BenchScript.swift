#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BuiltinModules
import ScriptEngine
import SIPCore
import SIPTransport

/// Script benchmarks: the cost of running a loaded script's `request_route` over one
/// message (context creation included, parsing not), in a worker that is not attached to
/// a transport (replies are built but go nowhere).
///
/// The main case is the harness's `ref.cfg` (../shared/harness/ref.cfg beside the
/// clone). Lines that kamailiod cannot load yet (a module it does not have, a parameter
/// a module lacks) are dropped and listed, so the case measures the real route now and
/// becomes exact once every module exists. A small stateless script is measured too.
enum BenchScript {
    /// Services for the benchmark: no logging, `sip.test` and 127.0.0.1 are us.
    final class Services: ScriptServices {
        func log(level: Int32, _ text: String) {}
        func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool {
            let h = String(decoding: host, as: UTF8.self)
            return h == "sip.test" || h == "127.0.0.1"
        }
    }

    static let refPath: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        parts.removeLast(3)  // Benchmarks/kamailiod-bench/BenchScript.swift
        return (parts + ["..", "shared", "harness", "ref.cfg"]).joined(separator: "/")
    }()

    static let register = wire("""
    REGISTER sip:sip.test SIP/2.0
    Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKreg1;rport
    Max-Forwards: 70
    From: <sip:alice@sip.test>;tag=r1
    To: <sip:alice@sip.test>
    Call-ID: reg-1@127.0.0.1
    CSeq: 1 REGISTER
    Contact: <sip:alice@127.0.0.1:5080>
    Expires: 3600
    User-Agent: bench-ua/1.0
    Content-Length: 0


    """)

    static let callInvite = wire("""
    INVITE sip:bob@sip.test SIP/2.0
    Via: SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKinv1;rport
    Max-Forwards: 70
    From: "Alice" <sip:alice@sip.test>;tag=i1
    To: <sip:bob@sip.test>
    Call-ID: inv-1@127.0.0.1
    CSeq: 1 INVITE
    Contact: <sip:alice@127.0.0.1:5080>
    User-Agent: bench-ua/1.0
    Content-Type: application/sdp
    Content-Length: \(sdpBytes.count)


    """) + sdpBytes

    static let stateless = """
    loadmodule "sl.so"
    loadmodule "maxfwd.so"
    loadmodule "textops.so"
    loadmodule "siputils.so"
    loadmodule "pv.so"
    loadmodule "htable.so"
    loadmodule "xlog.so"
    modparam("htable", "htable", "ext=>size=4;")
    request_route {
        xlog("L_DBG", "request $rm $ru from $si:$sp\\n");
        if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
        switch ($rm) {
            case "INVITE": case "ACK": case "BYE": case "REGISTER": break;
            default: sl_send_reply("405", "Method Not Allowed"); exit;
        }
        if ($ua =~ "friendly-scanner|sipvicious") exit;
        if (has_totag()) { sl_send_reply("404", "Not here"); exit; }
        remove_hf("Route");
        if ($rU =~ "^1[0-9][0-9]$" && $sht(ext=>$rU) != $null) { $rU = $sht(ext=>$rU); }
        $avp(callee) = $rU;
        if (is_method("REGISTER")) { append_to_reply("X-Who: $(fu{uri.user})\\r\\n"); }
        if (is_present_hf("X-Echo")) { append_hf("X-Echo: $hdr(X-Echo)\\r\\n"); }
        sl_send_reply("480", "Temporarily Unavailable");
        exit;
    }
    """

    /// The engine alone: variables, arithmetic, comparisons, regex, transformations and a
    /// sub-route, no module functions.
    static let expressions = """
    route[SUM] {
        $var(sum) = $var(sum) + $var(i);
        return $var(sum);
    }
    request_route {
        $var(i) = 0; $var(sum) = 0;
        while ($var(i) < 10) { $var(i) = $var(i) + 1; route(SUM); }
        if ($rm == "INVITE" && $rU =~ "^b" && $(fu{uri.host}) == "sip.test") { $var(x) = $(ci{s.select,0,@}{s.len}); }
        switch ($cs) { case 1: $var(y) = $hdr(Contact); break; default: $var(y) = $null; }
        $avp(a) = $var(sum) * 2 + $var(x);
        if ($avp(a) > 100 && defined $var(y)) { return 1; }
        return -1;
    }
    """

    /// Loads `text`, dropping lines the loader refuses for a missing module or parameter
    /// (at most 20 rounds); returns the script and what was dropped.
    static func load(_ text: String, defines: [String], modules: [any ScriptModule]) -> (LoadedScript?, [String]) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var dropped: [String] = []
        for _ in 0..<20 {
            do {
                return (try ScriptLoader.load(text: lines.joined(separator: "\n"), name: "ref.cfg", defines: defines,
                                              modules: modules), dropped)
            } catch {
                let all = [error] + error.others
                let droppable = all.filter { $0.message.contains("is not available") || $0.message.contains("has no parameter") }
                guard droppable.count == all.count else { return (nil, dropped + ["cannot load: \(error)"]) }
                for e in droppable {
                    guard let line = e.location?.line, line - 1 < lines.count else { return (nil, dropped + ["\(e)"]) }
                    dropped.append("line \(line): \(e.message)")
                    lines[line - 1] = ""
                }
            }
        }
        return (nil, dropped)
    }

    /// `KAMAILIOD_BENCH_ONLY=text` runs only the script cases whose name contains the text
    /// (for profiling one of them).
    static let only: String? = getenv("KAMAILIOD_BENCH_ONLY").map { String(cString: $0) }

    /// Runs request_route over `bytes` `iterations` times; ns per run.
    static func measure(_ name: String, _ script: LoadedScript, _ bytes: [UInt8], iterations: Int) -> Int {
        if let only, !name.contains(only) { return 0 }
        let services = Services()
        let worker = script.makeWorkerState(worker: 0)
        let message: SIPMessage
        do {
            message = try SIPMessage(bytes: bytes)
        } catch {
            print("  \(name): message failed to parse: \(error)")
            return 0
        }
        guard let src = SocketAddress(ip: "127.0.0.1", port: 5080),
              let local = SocketAddress(ip: "127.0.0.1", port: 5072) else { return 0 }
        let info = ReceiveInfo(proto: .udp, source: src, local: local, listenerIndex: 0)
        var sink = 0
        @inline(never) func once() {
            message.edits.removeAll()
            let ctx = ScriptContext(message: message, receive: info, worker: worker, services: services)
            let r = script.runRequestRoute(ctx)
            sink &+= Int(r.code) &+ ctx.avps.count
        }
        for _ in 0..<max(1, iterations / 10) { once() }  // warm-up
        let start = now()
        for _ in 0..<iterations { once() }
        let ns = Double(now() - start) / Double(iterations)
        print("  \(name): \(Int(ns.rounded())) ns/run, \(Int((1e9 / ns).rounded())) runs/s")
        return sink
    }

    /// The script cases; returns a sink value.
    static func run(iterations: Int) -> Int {
        var sink = 0
        let runtime = CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false })
        let modules = BuiltinModuleSet(runtime: runtime)
        print("script: request_route per message (context + route, no parsing)")
        if let text = try? String(contentsOfFile: refPath, encoding: .utf8) {
            let db = "/tmp/kamailiod-bench-\(getpid()).db"
            let (script, dropped) = load(text, defines: ["WITHOUT_DEBUGGER", "WITHOUT_CFG_RPC", "DBURL=\"sqlite:///\(db)\""],
                                         modules: modules.all)
            for d in dropped { print("  ref.cfg: dropped \(d)") }
            if let script {
                sink &+= measure("ref.cfg REGISTER (401 challenge)", script, register, iterations: iterations / 4)
                sink &+= measure("ref.cfg INVITE (lookup, 480/404)", script, callInvite, iterations: iterations / 4)
            }
            // the debugger loaded but idle (nothing armed): what a production config with
            // debugger.so for occasional use pays per message
            let (withDebugger, _) = load(text, defines: ["WITHOUT_CFG_RPC", "DBURL=\"sqlite:///\(db)\""],
                                         modules: BuiltinModuleSet(runtime: runtime).all)
            if let withDebugger {
                sink &+= measure("ref.cfg REGISTER, debugger loaded idle", withDebugger, register,
                                 iterations: iterations / 4)
            }
            unlink(db)
        } else {
            print("  ref.cfg not found at \(refPath)")
        }
        if let script = try? ScriptLoader.load(text: expressions, name: "expressions.cfg", modules: []) {
            sink &+= measure("expressions only INVITE (10 loop turns, 10 route calls)", script, callInvite,
                             iterations: iterations)
        }
        let statelessModules = BuiltinModuleSet(runtime: runtime)
        if let script = try? ScriptLoader.load(text: stateless, name: "stateless.cfg", modules: statelessModules.all) {
            sink &+= measure("stateless script REGISTER", script, register, iterations: iterations)
            sink &+= measure("stateless script INVITE", script, callInvite, iterations: iterations)
        }
        return sink
    }
}
