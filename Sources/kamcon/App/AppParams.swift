/// What a Parameters screen key does.
enum ParamsAction: Equatable, Sendable {
    /// Move the cursor.
    case move(Int)
    /// Page up / down.
    case page(Int)
    /// Edit the value, applied at once (on a group heading: fold / unfold it).
    case edit
    /// Edit the value, staged until commit.
    case stage
    /// `cfg.commit`.
    case commit
    /// `cfg.rollback`.
    case rollback
    /// `cfg.reload_script` (asks for a path; empty is the loaded file).
    case reload
    /// Read the parameter list again.
    case reread
    /// Find a parameter by part of its `group.name`.
    case find
}

/// The Parameters screen's rows of the command table.
enum AppParamsKeys {
    static let bindings: [AppKeyBinding] = {
        let s = AppKeyScope.screen(.params)
        return [
            .init(keys: [.enter, .char("e")], action: .params(.edit), scope: s, bar: "Set",
                  help: "Set the selected parameter now (cfg.seti / cfg.sets); on a group: fold or unfold it"),
            .init(keys: [.char("s")], action: .params(.stage), scope: s, bar: "Stage",
                  help: "Stage a new value (cfg.set_delayed_*); staged changes are listed with their old values"),
            .init(keys: [.char("c")], action: .params(.commit), scope: s, bar: "Commit",
                  help: "Commit every staged change at once (cfg.commit)"),
            .init(keys: [.char("x")], action: .params(.rollback), scope: s, bar: "Rollback",
                  help: "Drop the staged changes (cfg.rollback)"),
            .init(keys: [.char("L")], action: .params(.reload), scope: s, bar: "Reload",
                  help: "Reload the routing script (cfg.reload_script; kamailiod only): Enter alone re-reads the loaded file"),
            .init(keys: [.char("/")], action: .params(.find), scope: s, bar: "Find",
                  help: "Find a parameter: type part of group.name, Enter jumps to the first match (again: the next)"),
            .init(keys: [.char("R")], action: .params(.reread), scope: s, bar: nil,
                  help: "Read the list of groups and parameters again"),
            .init(keys: [.up, .char("k")], action: .params(.move(-1)), scope: s, bar: nil, help: "Previous row"),
            .init(keys: [.down, .char("j")], action: .params(.move(1)), scope: s, bar: nil, help: "Next row"),
            .init(keys: [.pageUp], action: .params(.page(-1)), scope: s, bar: nil, help: "One page up"),
            .init(keys: [.pageDown], action: .params(.page(1)), scope: s, bar: nil, help: "One page down"),
            .init(keys: [.home], action: .params(.move(-1_000_000)), scope: s, bar: nil, help: "First row"),
            .init(keys: [.end], action: .params(.move(1_000_000)), scope: s, bar: nil, help: "Last row"),
        ]
    }()
}

extension AppState {
    /// Keys typed into the value / path prompt; nil when no prompt is open.
    mutating func paramsPromptKey(_ key: AppKey, _ snap: ParamsSnapshot, now: Double) -> [AppEffect]? {
        guard var p = params.prompt else { return nil }
        switch key {
        case .escape:
            params.prompt = nil
            say("cancelled", role: .dim, now: now)
        case .backspace:
            if !p.text.isEmpty { p.text.removeLast() }
            params.prompt = p
        case .ctrl("u"):
            p.text = ""
            params.prompt = p
        case .char(let c):
            p.text.append(c)
            params.prompt = p
        case .enter:
            params.prompt = nil
            switch p.kind {
            case .find:
                params.lastFind = p.text
                if !params.find(p.text, snap) { say("no parameter matches \"\(p.text)\"", role: .warn, now: now) }
            case .reloadPath:
                let path = p.text.trimmingCharacters(in: .whitespaces)
                return [.params(.reload(path: path.isEmpty ? nil : path))]
            case .value(let i, let staged):
                guard snap.entries.indices.contains(i) else { return [] }
                let e = snap.entries[i]
                switch e.parse(p.text) {
                case .success(let v): return [.params(.set(group: e.group, name: e.name, value: v, staged: staged))]
                case .failure(let r):
                    say(r.reason, role: .bad, now: now)
                    params.prompt = p  // let the user fix it
                }
            }
        default:
            break
        }
        return []
    }

    /// Runs a Parameters screen action.
    mutating func paramsAction(_ action: ParamsAction, _ snap: ParamsSnapshot, now: Double) -> [AppEffect] {
        switch action {
        case .move(let d): params.move(d, snap)
        case .page(let d): params.move(d * max(1, params.page - 1), snap)
        case .edit, .stage:
            guard let i = params.selected(snap) else {
                if action == .edit { params.toggleFold(snap) }
                return []
            }
            let e = snap.entries[i]
            if e.restart {
                say("\(e.key) needs a restart to change", role: .warn, now: now)
                return []
            }
            params.prompt = (.value(entry: i, staged: action == .stage), e.readable ? e.valueText : "")
        case .commit:
            if snap.staged.isEmpty { say("nothing staged (s stages a value)", role: .dim, now: now); return [] }
            return [.params(.commit)]
        case .rollback:
            if snap.staged.isEmpty { say("nothing staged", role: .dim, now: now); return [] }
            return [.params(.rollback)]
        case .reload:
            guard snap.flavor == .kamailiod else {
                say("script reload is kamailiod's: this server has no cfg.reload_script", role: .warn, now: now)
                return []
            }
            params.prompt = (.reloadPath, "")
        case .reread:
            return [.params(.refresh)]
        case .find:
            params.prompt = (.find, params.lastFind)
        }
        return []
    }
}
