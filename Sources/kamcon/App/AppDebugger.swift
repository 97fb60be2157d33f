import Foundation

/// What a Debugger screen key does.
enum DebuggerAction: Equatable, Sendable {
    /// Toggle the line breakpoint on the cursor line.
    case breakpoint
    /// Step over / into / out.
    case step(DebuggerStepKind)
    /// Continue (`move`).
    case resume
    /// Arm or disarm (`dbg.bp on` / `off`).
    case arm
    /// Open the eval prompt.
    case eval
    /// Open the add-watch prompt.
    case watch
    /// Remove the selected watch.
    case unwatch
    /// Next pane.
    case focus
    /// Ask the target worker where it stands again; cursor back to its line.
    case look
    /// Arrow keys in the focused pane.
    case move(Int)
    /// Page keys.
    case page(Int)
}

/// The Debugger screen's rows of the command table.
enum AppDebuggerKeys {
    static let bindings: [AppKeyBinding] = {
        let s = AppKeyScope.screen(.debugger)
        return [
            .init(keys: [.char("b")], action: .debugger(.breakpoint), scope: s, bar: "Break",
                  help: "Toggle a breakpoint on the cursor line (dbg.bp_add/bp_del; kamailiod only — Kamailio has no line breakpoints)"),
            .init(keys: [.char("n")], action: .debugger(.step(.over)), scope: s, bar: "Over",
                  help: "Step over (dbg.bp over; on Kamailio next, which also enters called routes)"),
            .init(keys: [.char("i")], action: .debugger(.step(.into)), scope: s, bar: "Into",
                  help: "Step into: stop at the very next action, inside a called route too (dbg.bp next)"),
            .init(keys: [.char("u")], action: .debugger(.step(.out)), scope: s, bar: "Out",
                  help: "Step out: run until the current route returns (dbg.bp out; kamailiod only)"),
            .init(keys: [.char("c")], action: .debugger(.resume), scope: s, bar: "Cont",
                  help: "Continue: let the worker finish its message (dbg.bp move)"),
            .init(keys: [.char("a")], action: .debugger(.arm), scope: s, bar: "Arm",
                  help: "Arm / disarm: stop every worker at its next action (dbg.bp on) or let all go (dbg.bp off)"),
            .init(keys: [.char("e")], action: .debugger(.eval), scope: s, bar: "Eval",
                  help: "Evaluate a pseudo-variable (kamailiod: any expression) in the parked worker (dbg.bp eval)"),
            .init(keys: [.char("w")], action: .debugger(.watch), scope: s, bar: "Watch",
                  help: "Add a watch, re-evaluated at each stop"),
            .init(keys: [.char("x"), .delete], action: .debugger(.unwatch), scope: s, bar: nil,
                  help: "Remove the selected watch (Tab to the Watches pane, ↑/↓ to select)"),
            .init(keys: [.tab], action: .debugger(.focus), scope: s, bar: "Pane",
                  help: "Next pane: Source, Workers (↑/↓ picks the worker commands go to), Watches, Message"),
            .init(keys: [.char("l")], action: .debugger(.look), scope: s, bar: nil,
                  help: "Look again: ask where the worker stands (dbg.bp show), cursor back to its line"),
            .init(keys: [.up, .char("k")], action: .debugger(.move(-1)), scope: s, bar: nil, help: "Move up in the pane"),
            .init(keys: [.down, .char("j")], action: .debugger(.move(1)), scope: s, bar: nil, help: "Move down in the pane"),
            .init(keys: [.pageUp], action: .debugger(.page(-1)), scope: s, bar: nil, help: "One page up in the pane"),
            .init(keys: [.pageDown], action: .debugger(.page(1)), scope: s, bar: nil, help: "One page down in the pane"),
            .init(keys: [.home], action: .debugger(.move(-1_000_000)), scope: s, bar: nil, help: "First line"),
            .init(keys: [.end], action: .debugger(.move(1_000_000)), scope: s, bar: nil, help: "Last line"),
        ]
    }()
}

extension AppState {
    /// Keys typed into the eval / watch prompt; nil when no prompt is open.
    mutating func debuggerPromptKey(_ key: AppKey, _ snap: DebuggerSnapshot, now: Double) -> [AppEffect]? {
        guard var p = debugger.prompt else { return nil }
        switch key {
        case .escape:
            debugger.prompt = nil
        case .backspace:
            if !p.text.isEmpty { p.text.removeLast() }
            debugger.prompt = p
        case .char(let c):
            p.text.append(c)
            debugger.prompt = p
        case .enter:
            debugger.prompt = nil
            let text = p.text.trimmingCharacters(in: .whitespaces)
            guard !text.isEmpty else { return [] }
            switch p.kind {
            case .watch:
                if debugger.addWatch(text) {
                    say("watching \(text)", now: now)
                    // Evaluate it now if a worker is parked.
                    if let pid = debugger.target(snap) { return [.debugger(.look(pid: pid))] }
                }
            case .eval:
                guard let pid = debugger.target(snap) else {
                    say("no worker is stopped: nothing to evaluate in", role: .warn, now: now)
                    return []
                }
                return [.debugger(.eval(pid: pid, expression: text))]
            }
        default:
            break
        }
        return []
    }

    /// Runs a Debugger screen action.
    mutating func debuggerAction(_ action: DebuggerAction, _ snap: DebuggerSnapshot, now: Double) -> [AppEffect] {
        let target = debugger.target(snap)
        func needStop() -> Int? {
            if target == nil { say("no worker is stopped (a arms; on kamailiod b sets a breakpoint)", role: .warn, now: now) }
            return target
        }
        switch action {
        case .breakpoint:
            guard snap.flavor == .kamailiod else {
                say(snap.flavor == .kamailio ? "Kamailio's debugger has no line breakpoints: a (arm) stops at every action"
                                             : "no debugger on this server", role: .warn, now: now)
                return []
            }
            return [.debugger(.toggleBreakpoint(file: debugger.file(snap), line: debugger.cursor))]
        case .step(let kind):
            if kind == .out && snap.flavor == .kamailio {
                say("Kamailio's debugger cannot step out; n/i step, c continues", role: .warn, now: now)
                return []
            }
            guard let pid = needStop() else { return [] }
            return [.debugger(.step(pid: pid, kind: kind))]
        case .resume:
            guard let pid = needStop() else { return [] }
            return [.debugger(.resume(pid: pid))]
        case .arm:
            return [.debugger(snap.armed ? .disarm : .arm)]
        case .eval:
            guard needStop() != nil else { return [] }
            debugger.prompt = DebuggerPrompt(kind: .eval)
        case .watch:
            debugger.prompt = DebuggerPrompt(kind: .watch)
        case .unwatch:
            if let w = debugger.removeWatch() { say("no longer watching \(w)", now: now) }
        case .focus:
            let all = DebuggerFocus.allCases
            debugger.focus = all[((all.firstIndex(of: debugger.focus) ?? 0) + 1) % all.count]
        case .look:
            guard let pid = needStop() else { return [] }
            debugger.followed = []
            return [.debugger(.look(pid: pid))]
        case .move(let d):
            debugger.move(d, snap)
        case .page(let d):
            debugger.move(d * max(1, debugger.rows - 1), snap)
        }
        return []
    }
}
