import Shared
import Testing
@testable import kamcon

@Suite("Key handling and the command table")
struct KamconAppStateTests {
    func snapshot() -> ServerSnapshot {
        var s = ServerSnapshot(now: 0)
        s.dialogs = DialogRow.parse([KamconFixtures.dlgListJSON])
        s.registrations = ModelRegistrations.parse([KamconFixtures.ulDumpJSON])
        s.methods = ["core.echo", "core.uptime", "core.version", "dlg.list"]
        return s
    }

    /// The call a key produces, if any.
    func call(_ app: inout AppState, _ key: AppKey, _ snap: ServerSnapshot) -> PollerRequest? {
        for effect in app.handle(key, live: snap, now: 0) {
            if case .call(let r) = effect { return r }
        }
        return nil
    }

    @Test("every binding has help text, and no key means two things on one screen")
    func tableIsConsistent() {
        for b in AppKeyTable.bindings { #expect(!b.help.isEmpty) }
        for screen in AppScreen.allCases {
            var seen: [AppKey: AppAction] = [:]
            for b in AppKeyTable.bindings where b.scope == .screen(screen) {
                for k in b.keys {
                    #expect(seen[k] == nil || seen[k] == b.action, "\(k.name) on \(screen.title)")
                    seen[k] = b.action
                }
            }
        }
        #expect(AppKeyTable.action(for: .char("x"), on: .dialogs) == .endDialog)
        #expect(AppKeyTable.action(for: .char("x"), on: .registrations) == .removeContact)
        #expect(AppKeyTable.action(for: .char("q"), on: .command) == nil)  // typed into the prompt
        #expect(AppKeyTable.action(for: .function(10), on: .command) == .quit)
        #expect(AppKeyTable.action(for: .function(4), on: .overview) == .show(.dialogs))
    }

    @Test("the key bar and help come from the table; the prompt's bar shows no typing keys")
    func barAndHelp() {
        let bar = AppKeyTable.bar(for: .dialogs)
        #expect(bar.first?.label == "Details")
        #expect(bar.contains { $0.key == "x" && $0.label == "End dlg" })
        let cmd = AppKeyTable.bar(for: .command)
        #expect(!cmd.contains { $0.label == "Pause" })
        #expect(cmd.contains { $0.key == "F10" && $0.label == "Quit" })
        let help = AppKeyTable.helpSections().flatMap(\.1).map(\.1)
        #expect(help.contains { $0.contains("dlg.end_dlg") })
    }

    @Test("ending a dialog asks first and then calls dlg.end_dlg with its ids")
    func endDialog() {
        var app = AppState(interval: 1, historyFile: nil)
        let snap = snapshot()
        _ = app.handle(.char("d"), live: snap, now: 0)
        #expect(app.screen == .dialogs)
        _ = app.handle(.char("x"), live: snap, now: 0)
        guard case .confirm(let c) = app.mode else {
            Issue.record("no confirmation")
            return
        }
        #expect(c.question.contains("1-1538@127.0.0.1"))
        guard let r = call(&app, .char("y"), snap) else {
            Issue.record("no call")
            return
        }
        #expect(r.method == "dlg.end_dlg")
        #expect(r.params == [.int(2376), .int(11510)])
        // Anything but y cancels.
        _ = app.handle(.char("x"), live: snap, now: 0)
        #expect(app.handle(.char("n"), live: snap, now: 0).isEmpty)
        #expect(app.mode == .normal)
    }

    @Test("removing: a contact line calls ul.rm_contact, an AoR line ul.rm")
    func removeContact() {
        var app = AppState(interval: 1, historyFile: nil)
        let snap = snapshot()
        app.screen = .registrations
        _ = app.handle(.down, live: snap, now: 0)
        _ = app.handle(.char("x"), live: snap, now: 0)
        guard let r = call(&app, .char("y"), snap) else {
            Issue.record("no call")
            return
        }
        #expect(r.method == "ul.rm_contact")
        #expect(r.params == ["location", "bob", "sip:bob@127.0.0.1:25082"])
        _ = app.handle(.home, live: snap, now: 0)
        _ = app.handle(.char("x"), live: snap, now: 0)
        guard let r2 = call(&app, .char("y"), snap) else {
            Issue.record("no call")
            return
        }
        #expect(r2.method == "ul.rm")
        #expect(r2.params == ["location", "bob"])
    }

    @Test("adding a test binding sends ul.add with Kamailio's parameter types")
    func addBinding() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .registrations
        _ = app.handle(.char("a"), live: snapshot(), now: 0)
        for c in "carol sip:carol@127.0.0.1:5099 60" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        guard let r = call(&app, .enter, snapshot()) else {
            Issue.record("no call")
            return
        }
        #expect(r.method == "ul.add")
        #expect(r.params == ["location", "carol", "sip:carol@127.0.0.1:5099", 60, 1.0, "0", 0, 0, -1])
    }

    @Test("filter mode edits the current list's filter; Esc clears it")
    func filter() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .dialogs
        _ = app.handle(.char("/"), live: snapshot(), now: 0)
        for c in "early" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        _ = app.handle(.enter, live: snapshot(), now: 0)
        #expect(app.list(.dialogs).filter == "early")
        #expect(AppLists.dialogs(snapshot(), app.list(.dialogs), now: 0).map(\.id) == ["10:20"])
        // The filter belongs to its screen and survives switching away and back.
        _ = app.handle(.char("r"), live: snapshot(), now: 0)
        _ = app.handle(.char("d"), live: snapshot(), now: 0)
        #expect(app.list(.dialogs).filter == "early")
        _ = app.handle(.escape, live: snapshot(), now: 0)
        #expect(app.list(.dialogs).filter == "")
    }

    @Test("sort keys cycle through every column and server order, I inverts")
    func sorting() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .transactions
        var seen: [Int?] = []
        for _ in 0...TransactionRow.columns.count {
            _ = app.handle(.char(">"), live: snapshot(), now: 0)
            seen.append(app.list(.transactions).sortColumn)
        }
        #expect(seen == Array(0..<TransactionRow.columns.count).map { Optional($0) } + [nil])
        _ = app.handle(.char("<"), live: snapshot(), now: 0)
        #expect(app.list(.transactions).sortColumn == TransactionRow.columns.count - 1)
        _ = app.handle(.char("I"), live: snapshot(), now: 0)
        #expect(app.list(.transactions).ascending == false)
    }

    @Test("the prompt completes core.up<Tab>, runs it, keeps history and shows the reply")
    func commandPrompt() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .command
        for c in "core.up" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        _ = app.handle(.tab, live: snapshot(), now: 0)
        #expect(app.prompt.input == "core.uptime ")
        guard let r = call(&app, .enter, snapshot()) else {
            Issue.record("no call")
            return
        }
        #expect(r.method == "core.uptime")
        _ = app.receive(PollerReply(request: r, outcome: .success([.object(["uptime": 42])])), now: 0)
        #expect(app.output.map(ViewReplyText.text) == ["> core.uptime", "uptime: 42"])
        _ = app.handle(.up, live: snapshot(), now: 0)
        #expect(app.prompt.input == "core.uptime")
        // Several matches extend to the common prefix and are listed.
        app.prompt = ModelCommandPrompt(historyFile: nil)
        for c in "core.ver" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        _ = app.handle(.tab, live: snapshot(), now: 0)
        #expect(app.prompt.input == "core.version ")
        app.prompt = ModelCommandPrompt(historyFile: nil)
        _ = app.handle(.char("c"), live: snapshot(), now: 0)
        _ = app.handle(.tab, live: snapshot(), now: 0)
        #expect(app.prompt.input == "core.")
    }

    @Test("/text at the prompt filters the command output (command lines kept); / alone or Esc clears it")
    func outputFilter() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .command
        for c in "core.uptime" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        guard let r = call(&app, .enter, snapshot()) else {
            Issue.record("no call")
            return
        }
        _ = app.receive(PollerReply(request: r, outcome: .success([.object(["now": "Fri", "uptime": 42, "up_since": "Thu"])])), now: 0)
        #expect(app.shownOutput.count == 4)
        for c in "/UPTIME" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        #expect(call(&app, .enter, snapshot()) == nil, "a filter is not an RPC call")
        #expect(app.outputFilter == "UPTIME")
        #expect(app.shownOutput.map(ViewReplyText.text) == ["> core.uptime", "uptime:   42"])  // padded to up_since
        #expect(app.output.count == 4, "the output itself is kept")
        _ = app.handle(.escape, live: snapshot(), now: 0)
        #expect(app.outputFilter.isEmpty)
        #expect(app.screen == .command, "the first Esc clears the filter, it does not leave the screen")
        for c in "/up" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        _ = app.handle(.enter, live: snapshot(), now: 0)
        #expect(app.shownOutput.count == 3)
        _ = app.handle(.char("/"), live: snapshot(), now: 0)
        _ = app.handle(.enter, live: snapshot(), now: 0)
        #expect(app.outputFilter.isEmpty && app.shownOutput.count == 4)
    }

    @Test("faults show in the output; failed actions in the status line")
    func faults() {
        var app = AppState(interval: 1, historyFile: nil)
        app.screen = .command
        for c in "no.such" { _ = app.handle(.char(c), live: snapshot(), now: 0) }
        guard let r = call(&app, .enter, snapshot()) else { return }
        _ = app.receive(PollerReply(request: r, outcome: .failure(.fault(RPCFault(code: 500, message: "command no.such not found")))), now: 0)
        #expect(app.output.last?.value == "error: 500 - command no.such not found")
        #expect(app.output.last?.role == .bad)
    }

    @Test("scrolling keys move the selection by one, a page, to the ends, and the view follows")
    func scrolling() {
        var app = AppState(interval: 1, historyFile: nil)
        let snap = snapshot()
        app.screen = .registrations
        app.pageSize = 2
        let count = AppLists.registrations(snap, app.list(.registrations)).count
        #expect(count >= 5)
        func press(_ key: AppKey) -> (selected: Int, scroll: Int) {
            _ = app.handle(key, live: snap, now: 0)
            let st = app.list(.registrations)
            #expect(st.scroll <= st.selected && st.selected < st.scroll + 2, "selection \(st.selected) off the page at \(st.scroll)")
            return (st.selected, st.scroll)
        }
        #expect(press(.down).selected == 1)
        #expect(press(.char("j")).selected == 2)
        #expect(press(.char("k")).selected == 1)
        #expect(press(.pageDown).selected == 3)
        #expect(press(.end) == (count - 1, count - 2))
        #expect(press(.pageUp).selected == count - 3)
        #expect(press(.home) == (0, 0))
        #expect(press(.up) == (0, 0))
        // On the command screen the page keys scroll the output instead.
        app.screen = .command
        _ = app.handle(.pageUp, live: snap, now: 0)
        #expect(app.outputScroll == 2)
        _ = app.handle(.pageDown, live: snap, now: 0)
        #expect(app.outputScroll == 0)
    }

    @Test("pause freezes the shown snapshot and the drawing clock until resumed")
    func pause() {
        var app = AppState(interval: 1, historyFile: nil)
        let a = snapshot()
        _ = app.handle(.char(" "), live: a, now: 5)
        var b = a
        b.dialogs = []
        #expect(app.shown(b).dialogs.count == 2)
        #expect(app.pausedAt == 5)
        _ = app.handle(.char(" "), live: b, now: 9)
        #expect(app.shown(b).dialogs.isEmpty)
        #expect(app.pausedAt == nil)
    }

    @Test("the prompt parses quoted words and types arguments as kamcmd does")
    func promptParse() {
        let p = ModelCommandPrompt.parse(#"htable.sets t k "two words" 5 s:7 1.5"#)
        #expect(p?.method == "htable.sets")
        #expect(p?.params == ["t", "k", "two words", 5, "7", 1.5])
        #expect(ModelCommandPrompt.parse("   ") == nil)
    }

    @Test("history is kept in a file across sessions")
    func historyFile() throws {
        let path = "/tmp/kamcon-history-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        var p = ModelCommandPrompt(historyFile: path)
        for c in "core.uptime" { p.insert(c) }
        _ = p.submit()
        let q = ModelCommandPrompt(historyFile: path)
        #expect(q.history == ["core.uptime"])
    }
}

import Glibc

@Suite("Command line")
struct KamconOptionsTests {
    @Test("without -s the daemon's socket is preferred, then Kamailio's, whichever exists")
    func defaultSocket() {
        let env = ["XDG_RUNTIME_DIR": "/run/user/7"]
        #expect(AppOptions.defaultAddress(env: env, exists: { _ in false }) == .unixStream(path: "/run/user/7/kamailiod/kamailio_ctl"))
        #expect(AppOptions.defaultAddress(env: env, exists: { $0.hasPrefix("/run/kamailio") })
                == .unixStream(path: "/run/kamailio/kamailio_ctl"))
        #expect(AppOptions.defaultAddress(env: [:], exists: { _ in false }).description.hasPrefix("unix:/tmp/kamailiod-"))
    }

    @Test("flags and subcommands parse; bad ones are refused with a reason")
    func parse() throws {
        let o = try AppOptions.parse(["-s", "dgram:/x.sock", "-i", "0.5", "-S", "dialogs"], env: ["NO_COLOR": "1"])
        #expect(o.address == .unixDatagram(path: "/x.sock"))
        #expect(o.interval == 0.5)
        #expect(o.startScreen == .dialogs)
        #expect(o.noColor)
        #expect(try AppOptions.parse(["rpc", "core.echo", "1", "s:2", "--json"], env: [:]).mode
                == .rpc(method: "core.echo", params: [1, "2"]))
        #expect(try AppOptions.parse(["rpc", "core.echo", "--json"], env: [:]).json)
        #expect(try AppOptions.parse(["-x", "ul.lookup location alice"], env: [:]).mode
                == .rpc(method: "ul.lookup", params: ["location", "alice"]))
        #expect(try AppOptions.parse(["dump", "dialogs"], env: [:]).mode == .dump("dialogs"))
        #expect(throws: AppOptions.UsageError.self) { try AppOptions.parse(["-i", "0"], env: [:]) }
        #expect(throws: AppOptions.UsageError.self) { try AppOptions.parse(["dump", "nothing"], env: [:]) }
        #expect(throws: AppOptions.UsageError.self) { try AppOptions.parse(["--bogus"], env: [:]) }
    }
}
