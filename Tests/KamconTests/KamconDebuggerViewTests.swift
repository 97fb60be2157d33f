import Shared
import Testing
@testable import kamcon

@Suite("Debugger screen drawn into the in-memory canvas")
struct KamconDebuggerViewTests {
    /// A kamailiod snapshot: worker 21 parked at line 4 of a 6-line script, a breakpoint on
    /// line 3, a watch that changed, the message.
    func snapshot() -> ServerSnapshot {
        var s = ServerSnapshot(now: 0)
        s.connection.connected(at: 0)
        var d = DebuggerSnapshot()
        d.flavor = .kamailiod
        d.mainFile = "/etc/k.cfg"
        d.sources["/etc/k.cfg"] = ["request_route {", "\t$var(n) = 0;", "    $var(n) = $var(n) + 1;", "    route(STEP);",
                                   "    exit;", "}"]
        d.workers = [DebuggerWorker(index: 1, pid: 21, description: "udp receiver child=0", set: 3, state: 2),
                     DebuggerWorker(index: 2, pid: 22, description: "udp receiver child=1", set: 1, state: 0)]
        d.breakpoints = [DebuggerBreakpoint(id: 1, file: "/etc/k.cfg", line: 3, route: "request_route", hits: 1)]
        let n1 = DebuggerWatchResult.value(DebuggerValue(label: "$var(n)", kind: .int, value: "1"))
        let n0 = DebuggerWatchResult.value(DebuggerValue(label: "$var(n)", kind: .int, value: "0"))
        d.stops[21] = DebuggerStop(position: DebuggerPosition(file: "/etc/k.cfg", line: 4, action: 5, name: "route"),
                                   watches: ["$var(n)": n1], previous: ["$var(n)": n0],
                                   message: "OPTIONS sip:bp@127.0.0.1 SIP/2.0\r\nCall-ID: abc\r\n", serial: 2)
        d.busy = DebuggerBusy(what: "dbg.bp over 21", since: 100)
        d.note("over 21: ran k.cfg:3 assign")
        s.debugger = d
        return s
    }

    @Test("gutter: line numbers, breakpoint bullet, parked-line marker; panes; waiting line; tabs expanded")
    func screen() {
        var state = AppState(interval: 1, historyFile: nil)
        state.screen = .debugger
        state.debugger.watches = ["$var(n)"]
        state.debugger.focus = .workers
        let snap = snapshot()
        state.debugger.sync(snap.debugger)
        let ctx = ViewContext(snapshot: snap, now: 103, glyphs: .unicode, address: "unix:/x", interval: 1, paused: false)
        let (canvas, rows) = ViewFrame.draw(width: 120, height: 30, state: state, context: ctx)
        let text = canvas.text
        #expect(rows > 5)
        #expect(text.contains("Source k.cfg  — worker 21 at line 4 route"), "\(text)")
        #expect(text.contains("  3 ●      $var(n) = $var(n) + 1;"), "\(text)")
        #expect(text.contains("  4  ▶     route(STEP);"), "\(text)")
        #expect(text.contains("  2        $var(n) = 0;"), "tab expanded:\n\(text)")
        #expect(text.contains("▶21       stepped BT k.cfg:4 route"), "\(text)")
        #expect(text.contains("22       running -T udp receiver child=1"), "\(text)")
        #expect(text.contains("$var(n) = 1 (changed)"), "\(text)")
        #expect(text.contains("OPTIONS sip:bp@127.0.0.1 SIP/2.0") && text.contains("Call-ID: abc"), "\(text)")
        #expect(text.contains("waiting… dbg.bp over 21 (3s)"), "\(text)")
        #expect(text.contains("over 21: ran k.cfg:3 assign"), "\(text)")
        // The parked line is highlighted (source pane not focused, so it is not the cursor bar).
        let row = canvas.text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("route(STEP);") } ?? 0
        #expect(canvas[10, row].role == .warn)
    }

    @Test("Kamailio without a readable source, and a server without the debugger module, say why")
    func explanations() {
        var snap = snapshot()
        snap.debugger.flavor = .kamailio
        snap.debugger.sources = [:]
        snap.debugger.sourceErrors["/etc/k.cfg"] = "cannot read /etc/k.cfg here"
        var state = AppState(interval: 1, historyFile: nil)
        state.screen = .debugger
        let ctx = { (s: ServerSnapshot) in ViewContext(snapshot: s, now: 0, glyphs: .ascii, address: "x", interval: 1, paused: false) }
        #expect(ViewFrame.draw(width: 100, height: 24, state: state, context: ctx(snap)).0.text.contains("cannot read /etc/k.cfg here"))
        #expect(ViewFrame.draw(width: 100, height: 24, state: state, context: ctx(snap)).0.text.contains("Message ($mb)"))
        snap.debugger.flavor = .absent
        #expect(ViewFrame.draw(width: 100, height: 24, state: state, context: ctx(snap)).0.text.contains("debugger module is not loaded"))
    }
}
