import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Debugger screen in tmux against a live kamailiod (issue 8's "done means"): a line
/// breakpoint set from the gutter, a request (sipsak) stops there, three steps (over,
/// into, out) move the marked line and change a watch, an expression is evaluated, and
/// continue lets the request be answered — over binrpc, the FIFO and the datagram socket.
@Suite("kamcon Debugger screen against kamailiod", .serialized)
struct KamconDebuggerKamailiodTests {
    @Test("breakpoint, stop, step over/into/out, watch, eval, continue over binrpc, FIFO and datagram JSON-RPC",
          .enabled(if: KamconE2E.debuggerMissing(.kamailiod) == nil))
    func session() throws {
        let k = DebuggerServer(.kamailiod)
        let dir = k.dir
        try #require(k.start(), "kamailiod did not start:\n\(k.log)")
        defer { k.stop() }
        let cfg = k.cfg
        let lBreak = DebuggerScript.line(cfg, "$var(n) = $var(n) + 1;")
        let lRoute = DebuggerScript.line(cfg, "route(STEP);")
        let lInside = DebuggerScript.line(cfg, "$var(n) = $var(n) + 10;")
        let lAfter = lRoute + 1
        for address in ["unix:\(dir)/ctl", "fifo:\(dir)/rpc.fifo", "unixd:\(dir)/rpc.sock"] {
            let tmux = try #require(TmuxConsole(command: k.kamcon("-s \(address) -S debugger"), width: 150, height: 44))
            defer { tmux.close() }
            let (attached, first) = tmux.waitFor(15) { $0.contains("udp receiver") && $0.contains("request_route {") }
            #expect(attached, "\(address):\n\(first)")
            tmux.send("w")
            tmux.send("$var(n)", literal: true)
            tmux.send("Enter")
            // Cursor to the breakpoint line, then b: the gutter shows the bullet.
            tmux.send("Home")
            for _ in 1..<lBreak { tmux.send("Down") }
            tmux.send("b")
            let (set, setScreen) = tmux.waitFor(10) { screen in
                screen.contains("at server.cfg:\(lBreak) in request_route")
                    && screen.split(separator: "\n").contains { $0.drop { $0 == " " }.hasPrefix("\(lBreak) ●") }
            }
            #expect(set, "\(address): breakpoint not shown:\n\(setScreen)")

            let sip = k.sendRequest(log: "\(dir)/sipsak.out")
            defer { if let sip { TestProcesses.stop(sip) } }
            let (stopped, stopScreen) = tmux.waitFor(20) { $0.contains("at line \(lBreak) assign") && DebuggerScript.marked($0, line: lBreak) }
            #expect(stopped, "\(address): no stop at the breakpoint:\n\(stopScreen)")
            #expect(stopScreen.contains("OPTIONS sip:bp@127.0.0.1:5071 SIP/2.0"), "message pane:\n\(stopScreen)")

            // Over (stays in request_route), into STEP, out of it: the marked line moves,
            // $var(n) goes 1 → 1 → 11.
            let steps: [(key: String, line: Int, watch: String?)] = [("n", lRoute, "$var(n) = 1 (changed)"), ("i", lInside, nil),
                                                                     ("u", lAfter, "$var(n) = 11 (changed)")]
            for s in steps {
                tmux.send(s.key)
                let (moved, screen) = tmux.waitFor(15) { screen in
                    DebuggerScript.marked(screen, line: s.line) && screen.contains("at line \(s.line) ")
                        && (s.watch.map { screen.contains($0) } ?? true)
                }
                #expect(moved, "\(address): \(s.key) did not reach line \(s.line) with \(s.watch ?? "-"):\n\(screen)")
            }
            tmux.send("e")
            tmux.send("$rU + \"x\"", literal: true)
            tmux.send("Enter")
            let (evaluated, evalScreen) = tmux.waitFor(10) { $0.contains("= bpx  (str)") }
            #expect(evaluated, "\(address): eval:\n\(evalScreen)")

            tmux.send("c")
            let answered = eventually(20) { () -> Bool? in
                let out = (try? String(contentsOfFile: "\(dir)/sipsak.out", encoding: .utf8)) ?? ""
                return out.contains("200 Debugged") ? true : nil
            }
            #expect(answered != nil, "\(address): sipsak got no 200:\n\((try? String(contentsOfFile: "\(dir)/sipsak.out", encoding: .utf8)) ?? "")")
            let (free, freeScreen) = tmux.waitFor(10) { $0.contains("Workers 0 stopped") }
            #expect(free, "\(address):\n\(freeScreen)")
            // Remove the breakpoint (cursor is on the line the worker last stood at: go back).
            tmux.send("Home")
            for _ in 1..<lBreak { tmux.send("Down") }
            tmux.send("b")
            let (cleared, clearScreen) = tmux.waitFor(10) { $0.contains("at server.cfg:\(lBreak) removed") }
            #expect(cleared, "\(address):\n\(clearScreen)")
            print("--- kamailiod \(address) ---\n\(stopScreen)")
            tmux.send("q")
        }
    }
}
