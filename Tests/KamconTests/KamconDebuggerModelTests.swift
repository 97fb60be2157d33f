import Shared
import Synchronization
import Testing
@testable import kamcon

/// Reply strings captured from Kamailio 5.6.3 (`rpc-examples/dbg.bp*.json`, `dbg.ls.json`).
@Suite("Debugger replies and screen state")
struct KamconDebuggerModelTests {
    @Test("show and next replies give file, line, action code and name")
    func positions() throws {
        let at = try #require(DebuggerPosition.parse("at bkp [/etc/kamailio/kamailio.cfg:55] a=16 n=if"))
        #expect(at == DebuggerPosition(file: "/etc/kamailio/kamailio.cfg", line: 55, action: 16, name: "if"))
        let exec = try #require(DebuggerPosition.parse("exec [/etc/kamailio/kamailio.cfg:51] a=25 n=mf_process_maxfwd_header"))
        #expect(exec.line == 51 && exec.action == 25 && exec.name == "mf_process_maxfwd_header")
        // A colon inside the path: the line is after the last one.
        #expect(DebuggerPosition.parse("exec [/srv/a:b/k.cfg:7] a=63 n=assign")?.file == "/srv/a:b/k.cfg")
        // Kamailio's answer when the worker did not reply within step_loops (spec §6.3).
        #expect(DebuggerPosition.parse("200 ok") == nil)
        #expect(DebuggerPosition.parse("at bkp [nofile] a=1 n=x") == nil)
        #expect(at.summary == "kamailio.cfg:55 if")
    }

    @Test("eval replies: str, int, null, echoed label, values with colons and newlines")
    func values() throws {
        #expect(DebuggerValue.parse("$rm : t=str v=REGISTER") == DebuggerValue(label: "$rm", kind: .str, value: "REGISTER"))
        #expect(DebuggerValue.parse("$sp : t=int v=43431") == DebuggerValue(label: "$sp", kind: .int, value: "43431"))
        #expect(DebuggerValue.parse("$avp(nothing) : t=null") == DebuggerValue(label: "$avp(nothing)", kind: .null, value: nil))
        #expect(DebuggerValue.parse("$si:$sp : t=str v=127.0.0.1")?.label == "$si:$sp")
        let mb = try #require(DebuggerValue.parse("$mb : t=str v=OPTIONS sip:bp@x SIP/2.0\r\nX-A : t=str v=q\r\n"))
        #expect(mb.value == "OPTIONS sip:bp@x SIP/2.0\r\nX-A : t=str v=q\r\n")
        #expect(mb.display == "OPTIONS sip:bp@x SIP/2.0⏎X-A : t=str v=q⏎")
        #expect(DebuggerValue.parse("200 ok") == nil)
        #expect(DebuggerValue.parse("$avp(nothing) : t=null")?.display == "<null>")
    }

    @Test("dbg.ls over binrpc (one struct per process) and over JSON-RPC (one struct), with kamailiod's extra fields")
    func workers() {
        let psx = [ProcessRow(index: 1, pid: 5715, description: "udp receiver child=0"), ProcessRow(index: 2, pid: 5716, description: "udp receiver child=1")]
        let binrpc: [RPCValue] = [
            .object(["entry": 1, "pid": 5715, "set": 3, "state": 1, "in.pid": 0, "in.cmd": 0]),
            .object(["entry": 2, "pid": 5716, "set": 1, "state": 0, "in.pid": 0, "in.cmd": 0]),
        ]
        let w = DebuggerWorker.parse(ls: binrpc, processes: psx)
        #expect(w.map(\.pid) == [5715, 5716])
        #expect(w[0].stopped && w[0].armed && w[0].tracing && w[0].description == "udp receiver child=0")
        #expect(!w[1].stopped && !w[1].armed)
        // State 2 (after `next`) is stopped too (spec §2).
        let stepped = DebuggerWorker.parse(ls: [.object(["entry": 2, "pid": 5716, "set": 3, "state": 2])], processes: psx)
        #expect(stepped.first?.stopped == true)
        let ext = DebuggerWorker.parse(ls: [.array([.object(["entry": 1, "pid": 9, "set": 2, "state": 1, "file": "/k.cfg",
                                                             "line": 12, "route": "request_route", "action": "assign"])])],
                                       processes: [])
        #expect(ext.first?.file == "/k.cfg" && ext.first?.line == 12 && ext.first?.route == "request_route")
    }

    @Test("bp_list / bp_add replies, and which debugger the method list reveals")
    func breakpointsAndFlavor() {
        let list: [RPCValue] = [.array([.object(["id": 1, "file": "/k.cfg", "line": 30, "route": "request_route", "hits": 2]),
                                        .object(["id": 2, "file": "/k.cfg", "line": 38, "route": "STEP", "hits": 0])])]
        #expect(DebuggerBreakpoint.parse(list).map(\.line) == [30, 38])
        #expect(DebuggerBreakpoint.parse([.object(["id": 3, "file": "/k.cfg", "line": 31, "route": "x"])]).first?.id == 3)
        #expect(DebuggerFlavor.detect(methods: ["dbg.ls", "dbg.bp", "dbg.bp_list"]) == .kamailiod)
        #expect(DebuggerFlavor.detect(methods: ["core.uptime", "dbg.ls", "dbg.bp"]) == .kamailio)
        #expect(DebuggerFlavor.detect(methods: ["core.uptime"]) == .absent)
    }

    @Test("the cursor follows each new stop of the target worker, and stays put in between")
    func cursorFollowsStops() {
        var snap = DebuggerSnapshot()
        snap.workers = [DebuggerWorker(index: 1, pid: 10, description: "", set: 3, state: 0),
                        DebuggerWorker(index: 2, pid: 11, description: "", set: 3, state: 1)]
        snap.sources["/k.cfg"] = (1...100).map { "line \($0)" }
        snap.stops[11] = DebuggerStop(position: DebuggerPosition(file: "/k.cfg", line: 60, action: 63, name: "assign"), serial: 1)
        var ui = ModelDebuggerUI()
        ui.rows = 20
        #expect(ui.target(snap) == 11)
        ui.sync(snap)
        #expect(ui.cursor == 60 && ui.top <= 57 && ui.top + 20 > 63)
        ui.move(-5, snap)
        ui.sync(snap)
        #expect(ui.cursor == 55, "the same stop does not pull the cursor back")
        snap.stops[11]?.position?.line = 61
        snap.stops[11]?.serial = 2
        ui.sync(snap)
        #expect(ui.cursor == 61)
        ui.move(-1000, snap)
        #expect(ui.cursor == 1 && ui.top == 1)
        // Picking a running worker leaves commands on the parked one.
        ui.focus = .workers
        ui.move(-1, snap)
        #expect(ui.selectedPid == 10 && ui.target(snap) == 11)
    }

    @Test("watches: add once, remove the selected one")
    func watchList() {
        var ui = ModelDebuggerUI()
        let added = [ui.addWatch("$var(n)"), ui.addWatch(" $rU "), ui.addWatch("$rU")]
        #expect(added == [true, true, false])
        #expect(ui.watches == ["$var(n)", "$rU"])
        ui.watchIndex = 0
        let removed = ui.removeWatch()
        #expect(removed == "$var(n)")
        #expect(ui.watches == ["$rU"] && ui.watchIndex == 0)
    }

    @Test("keys: breakpoints only on kamailiod, step out refused on Kamailio, eval prompt goes to the parked worker")
    func keys() {
        var state = AppState(interval: 1, historyFile: nil)
        state.screen = .debugger
        var live = ServerSnapshot(now: 0)
        live.debugger.flavor = .kamailio
        live.debugger.workers = [DebuggerWorker(index: 1, pid: 42, description: "", set: 3, state: 1)]
        #expect(state.handle(.char("b"), live: live, now: 0).isEmpty)
        #expect(state.message?.text.contains("no line breakpoints") == true)
        #expect(state.handle(.char("u"), live: live, now: 0).isEmpty)
        let step = state.handle(.char("n"), live: live, now: 0)
        guard case .debugger(.step(42, .over))? = step.first else { Issue.record("\(step)"); return }
        _ = state.handle(.char("e"), live: live, now: 0)
        for c in "$rU" { _ = state.handle(.char(c), live: live, now: 0) }
        let eval = state.handle(.enter, live: live, now: 0)
        guard case .debugger(.eval(42, "$rU"))? = eval.first else { Issue.record("\(eval)"); return }
        guard case .debugger(.disarm)? = state.handle(.char("a"), live: live, now: 0).first else { Issue.record("arm"); return }
        live.debugger.flavor = .kamailiod
        state.debugger.cursor = 31
        live.debugger.mainFile = "/k.cfg"
        guard case .debugger(.toggleBreakpoint("/k.cfg", 31))? = state.handle(.char("b"), live: live, now: 0).first else {
            Issue.record("bp"); return
        }
    }
}
