import Shared
import Testing
@testable import kamcon

@Suite("Views drawn into the in-memory canvas")
struct KamconViewTests {
    func context(_ snap: ServerSnapshot, now: Double = 1795787776 + 60) -> ViewContext {
        ViewContext(snapshot: snap, now: now, glyphs: .unicode, address: "unix:/run/kamailio/kamailio_ctl", interval: 1, paused: false)
    }

    func connected() -> ServerSnapshot {
        var s = ServerSnapshot(now: 0)
        s.connection.connected(at: 0)
        s.info.version = "kamailio 5.6.3 (x86_64/linux)"
        s.dialogs = DialogRow.parse([KamconFixtures.dlgListJSON])
        s.registrations = ModelRegistrations.parse([KamconFixtures.ulDumpJSON])
        s.listFetchedAt = ["dlg.list": 0, "ul.dump": 1795787776 + 60, "tm.list": 0]
        return s
    }

    @Test("double-width text takes two cells and is cut on whole glyphs")
    func wideText() {
        var c = Canvas(width: 10, height: 1)
        #expect(c.put("日本語 SIP", x: 0, y: 0) == 10)
        #expect(c.line(0) == "日本語 SIP")
        #expect(CanvasWidth.of("日本語 SIP") == 10)
        #expect(CanvasWidth.truncate("日本語 SIP", to: 6) == "日本…")
        #expect(CanvasWidth.fit("Grüße", to: 7) == "Grüße  ")
        var d = Canvas(width: 5, height: 1)
        d.put("ab日本", x: 0, y: 0)
        #expect(d.line(0) == "ab日 ")  // the second wide glyph does not fit half
        var e = Canvas(width: 6, height: 1)
        e.put("a\u{1b}[2Jb", x: 0, y: 0)
        #expect(e.line(0) == "a?[2Jb")  // escape sequences cannot reach the terminal
    }

    @Test("runs group cells of one role, so the terminal writes few strings")
    func runs() {
        var c = Canvas(width: 6, height: 1)
        c.put("ab", x: 0, y: 0, role: .bad)
        c.put("cd", x: 2, y: 0, role: .good)
        #expect(c.runs(0).map(\.text) == ["ab", "cd", "  "])
        #expect(c.runs(0).map(\.role) == [.bad, .good, .normal])
    }

    @Test("column widths: minimums first, spare by flex, columns that do not fit dropped")
    func widths() {
        #expect(ViewTable.widths(minimums: [5, 5], flex: [1, 1], width: 21) == [10, 10])
        #expect(ViewTable.widths(minimums: [5, 5, 5], flex: [0, 0, 0], width: 12) == [5, 5, 0])
    }

    @Test("the dialogs screen lists dialogs with live duration and the key bar")
    func dialogsScreen() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .dialogs
        let (canvas, _) = ViewFrame.draw(width: 120, height: 20, state: app, context: context(connected()))
        let text = canvas.text
        #expect(canvas.line(0).contains("kamailio 5.6.3"))
        #expect(canvas.line(0).contains("● connected"))
        #expect(canvas.line(2).contains("State") && canvas.line(2).contains("Call-ID"))
        #expect(canvas.line(3).contains("confirmed") && canvas.line(3).contains("1-1538@127.0.0.1"))
        #expect(canvas.line(3).contains("1m00s"))
        #expect(canvas.line(3).contains("caller=sipp"))
        #expect(canvas.line(4).contains("early"))
        #expect(canvas.line(19).hasPrefix("Enter Details"))
        #expect(text.contains("x End dlg"))
    }

    @Test("the registrations screen draws AoRs as a tree with wide user agents aligned")
    func registrationsScreen() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .registrations
        let (canvas, _) = ViewFrame.draw(width: 120, height: 20, state: app, context: context(connected()))
        #expect(canvas.line(3).hasPrefix(" bob"))
        #expect(canvas.line(4).contains("├─ sip:bob@127.0.0.1:25082"))
        #expect(canvas.line(5).contains("└─ sip:bob@127.0.0.1:25083"))
        #expect(canvas.line(5).contains("Grüße 日本語"))
        #expect(canvas.line(7).contains("30s"))
        // Every line is exactly 120 columns: no wide glyph pushed anything out.
        for y in 0..<20 { #expect(CanvasWidth.of(canvas.line(y)) == 120) }
    }

    @Test("the overview shows version, rates and sparklines")
    func overview() {
        var snap = connected()
        snap.info.uptime = 3725
        snap.info.uptimeReadAt = 1795787776 + 60
        snap.info.memory = MemoryInfo(total: 64 << 20, used: 3 << 20, maxUsed: 3 << 20, free: 61 << 20)
        for (i, v) in [0, 10, 30, 60, 100].enumerated() {
            snap.rates.add("requests", v, at: Double(i))
        }
        let (canvas, _) = ViewFrame.draw(width: 120, height: 40, state: AppState(interval: 1, historyFile: nil),
                                         context: context(snap))
        let text = canvas.text
        #expect(text.contains("Uptime      1h02m"))
        #expect(text.contains("5%  3.0 MiB of 64.0 MiB"))
        let requests = text.split(separator: "\n").first { $0.contains("Requests/s") } ?? ""
        #expect(requests.contains("40"))
        #expect(requests.contains("▃▅▆█"))
    }

    @Test("a lost connection fills the status line with the reason")
    func disconnected() {
        var snap = ServerSnapshot(now: 0)
        snap.connection.failed("connect /x: Connection refused", at: 0)
        let (canvas, _) = ViewFrame.draw(width: 100, height: 10, state: AppState(interval: 1, historyFile: nil),
                                         context: context(snap, now: 3))
        #expect(canvas.line(8).contains("DISCONNECTED from unix:/run/kamailio/kamailio_ctl for 3s: connect /x: Connection refused"))
        #expect(canvas.line(0).contains("DISCONNECTED"))
    }

    @Test("80x24 draws every screen inside its bounds, help included")
    func smallTerminal() {
        var app = AppState(interval: 1, historyFile: nil)
        for screen in AppScreen.allCases {
            app.screen = screen
            let (canvas, _) = ViewFrame.draw(width: 80, height: 24, state: app, context: context(connected()))
            for y in 0..<24 { #expect(CanvasWidth.of(canvas.line(y)) == 80) }
        }
        app.mode = .help
        let (help, _) = ViewFrame.draw(width: 80, height: 24, state: app, context: context(connected()))
        #expect(help.text.contains("keys (any key closes"))
        #expect(help.text.contains("Filter rows"))
    }

    @Test("pretty replies align members and show nested structs and arrays indented")
    func replyText() {
        let lines = ViewReplyText.lines([.object(["now": "x", "uptime": 5, "list": .array([1, .object(["a": 2])])])])
        #expect(lines.map(ViewReplyText.text) == ["now:    x", "uptime: 5", "list:", "  - 1", "  -", "    a: 2"])
        #expect(ViewReplyText.lines([]).first?.value == "(empty reply)")
        #expect(ViewReplyText.scalar("From: a\r\n") == "From: a↵")
    }

    @Test("sparklines scale to their peak; quiet series stay flat")
    func sparkline() {
        #expect(ViewSparkline.render([0, 1, 2, 4], width: 10, glyphs: .unicode) == "▁▃▅█")
        #expect(ViewSparkline.render([0, 0], width: 10, glyphs: .ascii) == "__")
        #expect(ViewSparkline.gauge(0.5, width: 4, glyphs: .unicode) == "██░░")
    }
}
