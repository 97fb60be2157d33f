import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Debugger screen in tmux against real Kamailio 5.6.3 with debugger.so: arm, a
/// request stops, step three times (the marked line moves, a watch changes), evaluate,
/// continue (the request is answered) — over binrpc, the FIFO and the datagram socket; the
/// last run disarms instead of continuing.
@Suite("kamcon Debugger screen against real Kamailio", .serialized)
struct KamconDebuggerKamailioTests {
    @Test("arm, stop, step, watch, eval, continue (disarm) over binrpc, FIFO and datagram JSON-RPC",
          .enabled(if: KamconE2E.debuggerMissing(.kamailio) == nil))
    func session() throws {
        let k = DebuggerServer(.kamailio)
        let dir = k.dir
        try #require(k.start(), "Kamailio did not start:\n\(k.log)")
        defer { k.stop() }
        let cfg = k.cfg
        let l0 = DebuggerScript.line(cfg, "$var(n) = 0;")
        let l1 = DebuggerScript.line(cfg, "$var(n) = $var(n) + 1;")
        let lRoute = DebuggerScript.line(cfg, "route(STEP);")
        let lInside = DebuggerScript.line(cfg, "$var(n) = $var(n) + 10;")
        for address in ["unix:\(dir)/ctl", "fifo:\(dir)/rpc.fifo", "unixd:\(dir)/rpc.sock"] {
            let tmux = try #require(TmuxConsole(command: k.kamcon("-s \(address) -S debugger"), width: 150, height: 42))
            defer { tmux.close() }
            let (attached, first) = tmux.waitFor(15) { $0.contains("Workers 0 stopped") && $0.contains("udp receiver") }
            #expect(attached, "\(address):\n\(first)")
            tmux.send("w")
            tmux.send("$var(n)", literal: true)
            tmux.send("Enter")
            tmux.send("a")
            let (armed, armScreen) = tmux.waitFor(10) { $0.contains("armed") && $0.contains(" BT ") }
            #expect(armed, "\(address):\n\(armScreen)")

            let sip = k.sendRequest(log: "\(dir)/sipsak.out")
            defer { if let sip { TestProcesses.stop(sip) } }
            let (stopped, stopScreen) = tmux.waitFor(20) { $0.contains("at line \(l0) assign") && DebuggerScript.marked($0, line: l0) }
            #expect(stopped, "\(address): no stop at line \(l0):\n\(stopScreen)")
            #expect(stopScreen.contains("OPTIONS sip:bp@127.0.0.1:5071 SIP/2.0"), "message pane:\n\(stopScreen)")

            // Three steps: the marked line moves 30 → 31 → route(STEP) → inside STEP.
            for (i, expected) in [l1, lRoute, lInside].enumerated() {
                tmux.send("n")
                let (moved, screen) = tmux.waitFor(25) { DebuggerScript.marked($0, line: expected) && $0.contains("at line \(expected) ") }
                #expect(moved, "\(address): step \(i + 1) did not reach line \(expected):\n\(screen)")
                if i == 1 {
                    #expect(screen.contains("$var(n) = 1 (changed)"), "\(address): watch after two steps:\n\(screen)")
                }
            }
            tmux.send("e")
            tmux.send("$rU", literal: true)
            tmux.send("Enter")
            let (evaluated, evalScreen) = tmux.waitFor(25) { $0.contains("$rU = bp  (str)") }
            #expect(evaluated, "\(address): eval:\n\(evalScreen)")

            // The last run disarms instead: Kamailio's `off` strands a parked worker (spec
            // §6.4), so kamcon must send it `next` — the request still gets its answer.
            let disarm = address.hasPrefix("unixd:")
            tmux.send(disarm ? "a" : "c")
            let answered = eventually(25) { () -> Bool? in
                let out = (try? String(contentsOfFile: "\(dir)/sipsak.out", encoding: .utf8)) ?? ""
                return out.contains("200 Debugged") ? true : nil
            }
            #expect(answered != nil, "\(address): sipsak got no 200:\n\((try? String(contentsOfFile: "\(dir)/sipsak.out", encoding: .utf8)) ?? "")")
            let (free, freeScreen) = tmux.waitFor(10) { screen in
                screen.contains("Workers 0 stopped") && (!disarm || (screen.contains("disarmed (dbg.bp off); let ") && !screen.contains(" BT ")))
            }
            #expect(free, "\(address):\n\(freeScreen)")
            print("--- \(address) ---\n\(stopScreen)")
            // Leave nothing armed for the next transport.
            tmux.send("q")
        }
    }
}
