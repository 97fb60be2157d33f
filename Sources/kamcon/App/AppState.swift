import Shared

/// Input modes: which keys go where.
enum AppMode: Equatable, Sendable {
    /// Keys go through the command table.
    case normal
    /// The help overlay is open; any key closes it.
    case help
    /// Typing into the current list's filter.
    case filter
    /// A yes/no question before a destructive call.
    case confirm(AppConfirmation)
    /// Typing `AOR CONTACT [EXPIRES]` for a test binding.
    case addBinding(String)
}

/// A pending destructive call awaiting `y`.
struct AppConfirmation: Equatable, Sendable {
    /// The question.
    var question: String
    /// The call to make on `y`.
    var method: String
    /// Its parameters.
    var params: [RPCValue]
}

/// What the loop should do after a key.
enum AppEffect: Sendable {
    /// Leave.
    case quit
    /// Make an RPC call through the poller.
    case call(PollerRequest)
    /// Change the poll interval.
    case interval(Double)
    /// Poll at once.
    case pollNow
    /// A debugger command for `ModelDebuggerRunner`.
    case debugger(DebuggerCommand)
    /// A `cfg.*` command for `ModelParamsRunner`.
    case params(ParamsCommand)
}

/// The console's UI state: screen, per-screen list positions, modes, the command screen's
/// output. Changed only by `handle`, which returns effects instead of doing I/O, so key
/// handling is tested without a terminal or a server.
struct AppState: Sendable {
    /// Current screen.
    var screen: AppScreen = .overview
    /// Where the user is in each list.
    var lists: [AppScreen: ModelListState] = [:]
    /// Detail pane open per screen.
    var details: Set<AppScreen> = []
    /// Input mode.
    var mode: AppMode = .normal
    /// First help line shown.
    var helpScroll = 0
    /// Display frozen (the snapshot shown stays the one taken when pausing).
    var paused = false
    /// The snapshot shown while paused.
    var frozen: ServerSnapshot?
    /// When the display was paused: the clock the views draw with meanwhile, so uptime,
    /// durations and countdowns stop too.
    var pausedAt: Double?
    /// A transient message for the status line and its role and expiry.
    var message: (text: String, role: CanvasRole, until: Double)?
    /// Command prompt.
    var prompt: ModelCommandPrompt
    /// Command output lines (newest last).
    var output: [ViewReplyText.Line] = []
    /// `/text` at the command prompt: only output lines containing it (case-insensitive),
    /// with the command lines kept so each match shows which reply it came from.
    var outputFilter = ""

    /// The command output as the screen shows it.
    var shownOutput: [ViewReplyText.Line] {
        guard !outputFilter.isEmpty else { return output }
        return output.filter { line in
            line.role == .prompt || ViewReplyText.text(line).lowercased().contains(outputFilter.lowercased())
        }
    }
    /// Lines scrolled back from the bottom of the output.
    var outputScroll = 0
    /// Rows per page of the current list (set by the drawing code).
    var pageSize = 10
    /// Screen width (set by the drawing code), for wrapping completion lists.
    var width = 80
    /// Poll interval.
    var interval: Double
    /// The Debugger screen's cursor, panes, watches and prompt.
    var debugger = ModelDebuggerUI()
    /// The Parameters screen's cursor, folds and prompt.
    var params = ModelParamsUI()
    /// Next token for calls.
    private var nextID = 1
    /// What each outstanding call was for.
    var pending: [Int: String] = [:]

    /// Initial state.
    init(interval: Double, historyFile: String?) {
        self.interval = interval
        prompt = ModelCommandPrompt(historyFile: historyFile)
    }

    /// The list state of `screen`.
    func list(_ s: AppScreen) -> ModelListState { lists[s] ?? ModelListState() }

    /// Shows `text` in the status line for a few seconds.
    mutating func say(_ text: String, role: CanvasRole = .normal, now: Double, seconds: Double = 5) {
        message = (text, role, now + seconds)
    }

    /// The snapshot to draw: the frozen one while paused (the debugger's part stays live:
    /// a parked worker must not look running because the display is paused).
    func shown(_ live: ServerSnapshot) -> ServerSnapshot {
        guard paused, var f = frozen else { return live }
        f.debugger = live.debugger
        f.params = live.params
        return f
    }

    /// Re-anchors selections after new data, so rows moving between polls keep the
    /// selected row selected.
    mutating func reanchor(_ snap: ServerSnapshot, now: Double) {
        for s in AppScreen.allCases where s.isList {
            var st = list(s)
            ModelList.reselect(&st, keys: AppLists.keys(s, snap, st, now: now))
            st.scrollToSelection(rows: pageSize, count: AppLists.keys(s, snap, st, now: now).count)
            lists[s] = st
        }
    }

    private mutating func makeCall(_ method: String, _ params: [RPCValue], purpose: String) -> AppEffect {
        let id = nextID
        nextID += 1
        pending[id] = purpose
        return .call(PollerRequest(id: id, method: method, params: params))
    }

    /// Handles one key against the snapshot the user sees.
    mutating func handle(_ key: AppKey, live: ServerSnapshot, now: Double) -> [AppEffect] {
        let snap = shown(live)
        switch mode {
        case .help:
            switch key {
            case .down: helpScroll += 1
            case .up: helpScroll = max(0, helpScroll - 1)
            case .pageDown: helpScroll += pageSize
            case .pageUp: helpScroll = max(0, helpScroll - pageSize)
            default:
                mode = .normal
                helpScroll = 0
            }
            return []
        case .filter:
            return editFilter(key, snap, now: now)
        case .confirm(let c):
            mode = .normal
            if key == .char("y") || key == .char("Y") {
                say("\(c.method) …", now: now)
                return [makeCall(c.method, c.params, purpose: "action")]
            }
            say("cancelled", role: .dim, now: now)
            return []
        case .addBinding(let text):
            return editBinding(key, text, snap, now: now)
        case .normal:
            break
        }
        if screen == .command, let effects = commandKey(key, snap, now: now) { return effects }
        if screen == .debugger, let effects = debuggerPromptKey(key, snap.debugger, now: now) { return effects }
        if screen == .params, let effects = paramsPromptKey(key, snap.params, now: now) { return effects }
        guard let action = AppKeyTable.action(for: key, on: screen) else { return [] }
        return perform(action, snap, now: now)
    }

    /// Runs one command-table action.
    mutating func perform(_ action: AppAction, _ snap: ServerSnapshot, now: Double) -> [AppEffect] {
        var st = list(screen)
        let count = AppLists.keys(screen, snap, st, now: now).count
        defer { lists[screen] = st }
        func select(_ delta: Int) {
            st.move(delta, count: count)
            st.selectedKey = AppLists.keys(screen, snap, st, now: now).dropFirst(st.selected).first
            st.scrollToSelection(rows: pageSize, count: count)
        }
        switch action {
        case .help: mode = .help
        case .quit: return [.quit]
        case .show(let s):
            lists[screen] = st
            screen = s
            st = list(s)
        case .pause:
            paused.toggle()
            frozen = paused ? snap : nil
            pausedAt = paused ? now : nil
            say(paused ? "paused — Space resumes" : "resumed", role: paused ? .warn : .good, now: now)
        case .filter:
            if screen.isList { mode = .filter }
        case .sortNext, .sortPrevious:
            let n = AppLists.columnCount(screen)
            guard n > 0 else { break }
            let step = action == .sortNext ? 1 : -1
            // nil (server order) sits before column 0 in the cycle.
            let current = st.sortColumn ?? -1
            var next = current + step
            if next >= n { next = -1 }
            if next < -1 { next = n - 1 }
            st.sortColumn = next < 0 ? nil : next
        case .sortInvert: st.ascending.toggle()
        case .up: select(-1)
        case .down: select(1)
        case .pageUp:
            if screen == .command { outputScroll += pageSize } else { select(-pageSize) }
        case .pageDown:
            if screen == .command { outputScroll = max(0, outputScroll - pageSize) } else { select(pageSize) }
        case .home: select(-count)
        case .end: select(count)
        case .details:
            if details.contains(screen) { details.remove(screen) } else { details.insert(screen) }
        case .back:
            if details.contains(screen) {
                details.remove(screen)
            } else if !st.filter.isEmpty {
                st.filter = ""
            } else if screen == .command && !outputFilter.isEmpty {
                outputFilter = ""
            } else if screen == .command {
                lists[screen] = st
                screen = .overview
                st = list(.overview)
            }
        case .endDialog:
            let rows = AppLists.dialogs(snap, st, now: now)
            guard rows.indices.contains(st.selected) else { break }
            let d = rows[st.selected]
            mode = .confirm(AppConfirmation(
                question: "End dialog \(d.callID) (\(d.from) → \(d.to))? BYE goes both ways. [y/N]",
                method: "dlg.end_dlg", params: [.int(d.hEntry), .int(d.hID)]))
        case .removeContact:
            let lines = AppLists.registrations(snap, st)
            guard lines.indices.contains(st.selected) else { break }
            let l = lines[st.selected]
            if let c = l.contact, l.record.contacts.indices.contains(c) {
                let addr = l.record.contacts[c].address
                mode = .confirm(AppConfirmation(question: "Remove contact \(addr) of \(l.record.aor)? [y/N]",
                                                method: "ul.rm_contact", params: [.string(l.record.table), .string(l.record.aor), .string(addr)]))
            } else {
                mode = .confirm(AppConfirmation(question: "Remove AoR \(l.record.aor) and all its contacts? [y/N]",
                                                method: "ul.rm", params: [.string(l.record.table), .string(l.record.aor)]))
            }
        case .addBinding: mode = .addBinding("")
        case .faster, .slower:
            let steps: [Double] = [0.5, 1, 2, 5, 10, 30]
            let i = steps.firstIndex(where: { $0 >= interval }) ?? 1
            interval = steps[max(0, min(steps.count - 1, i + (action == .faster ? -1 : 1)))]
            say("refresh every \(ViewSparkline.number(interval))s", now: now)
            return [.interval(interval)]
        case .refresh: return [.pollNow]
        case .debugger(let a): return debuggerAction(a, snap.debugger, now: now)
        case .params(let a): return paramsAction(a, snap.params, now: now)
        case .run, .complete, .historyPrevious, .historyNext, .clearOutput: break
        }
        return []
    }

    private mutating func editFilter(_ key: AppKey, _ snap: ServerSnapshot, now: Double) -> [AppEffect] {
        var st = list(screen)
        switch key {
        case .enter: mode = .normal
        case .escape:
            st.filter = ""
            mode = .normal
        case .backspace: if !st.filter.isEmpty { st.filter.removeLast() }
        case .char(let c): st.filter.append(c)
        default: break
        }
        st.selected = 0
        st.scroll = 0
        lists[screen] = st
        return []
    }

    private mutating func editBinding(_ key: AppKey, _ text: String, _ snap: ServerSnapshot, now: Double) -> [AppEffect] {
        switch key {
        case .escape:
            mode = .normal
        case .backspace:
            mode = .addBinding(String(text.dropLast()))
        case .char(let c):
            mode = .addBinding(text + String(c))
        case .enter:
            mode = .normal
            let words = text.split(separator: " ").map(String.init)
            guard words.count >= 2 else {
                say("add binding needs: AOR CONTACT [EXPIRES]", role: .bad, now: now)
                return []
            }
            let expires = words.count > 2 ? Int(words[2]) ?? 3600 : 3600
            let table = snap.registrations.first?.table ?? "location"
            // ul.add table aor contact expires q path flags cflags methods (spec §8, ul).
            return [makeCall("ul.add", [.string(table), .string(words[0]), .string(words[1]), .int(expires),
                                        .double(1.0), .string("0"), .int(0), .int(0), .int(-1)], purpose: "action")]
        default:
            break
        }
        return []
    }

    /// Command-screen keys that belong to the prompt; nil lets the command table act.
    private mutating func commandKey(_ key: AppKey, _ snap: ServerSnapshot, now: Double) -> [AppEffect]? {
        switch key {
        case .char(let c):
            prompt.insert(c)
        case .backspace: prompt.backspace()
        case .delete: prompt.deleteForward()
        case .left: prompt.moveCursor(-1)
        case .right: prompt.moveCursor(1)
        case .home: prompt.moveCursor(-prompt.input.count)
        case .end: prompt.moveCursor(prompt.input.count)
        case .up: prompt.previous()
        case .down: prompt.next()
        case .ctrl("l"): output = []
        case .tab:
            let matches = prompt.complete(methods: snap.methods)
            if !matches.isEmpty {
                let colW = (matches.map(CanvasWidth.of).max() ?? 10) + 2
                let perLine = max(1, (width - 2) / colW)
                for start in stride(from: 0, to: matches.count, by: perLine) {
                    let chunk = matches[start..<min(matches.count, start + perLine)]
                    output.append(ViewReplyText.Line(indent: 0, name: nil,
                                                     value: chunk.map { CanvasWidth.fit($0, to: colW) }.joined(), role: .dim))
                }
                outputScroll = 0
            }
        case .enter:
            let line = prompt.submit()
            guard !line.isEmpty else { return [] }
            // No RPC method starts with "/", so the prompt doubles as the output's filter.
            if line.hasPrefix("/") {
                outputFilter = line.dropFirst().split(separator: " ").joined(separator: " ")
                outputScroll = 0
                say(outputFilter.isEmpty ? "output filter cleared" : "output filtered by \"\(outputFilter)\" — / alone or Esc clears",
                    role: outputFilter.isEmpty ? .dim : .warn, now: now)
                return []
            }
            output.append(ViewReplyText.Line(indent: 0, name: nil, value: "> " + line, role: .prompt))
            outputScroll = 0
            guard let (method, params) = ModelCommandPrompt.parse(line) else { return [] }
            return [makeCall(method, params, purpose: "command")]
        default:
            return nil
        }
        return []
    }

    /// Takes a call's reply: command output, or a status message for actions.
    mutating func receive(_ reply: PollerReply, now: Double) -> [AppEffect] {
        let purpose = pending.removeValue(forKey: reply.request.id) ?? "command"
        switch (purpose, reply.outcome) {
        case ("command", .success(let values)):
            output += ViewReplyText.lines(values)
        case ("command", .failure(let error)):
            output.append(ViewReplyText.Line(indent: 0, name: nil, value: error.description, role: .bad))
        case (_, .success):
            say("\(reply.request.method): done", role: .good, now: now)
            return [.pollNow]
        case (_, .failure(let error)):
            say("\(reply.request.method) failed: \(error.description)", role: .bad, now: now, seconds: 10)
        }
        if output.count > 5000 { output.removeFirst(output.count - 5000) }
        return []
    }
}
