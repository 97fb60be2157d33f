/// What a key does; the app's `perform` switches over these.
enum AppAction: Equatable, Sendable {
    /// Show the help overlay.
    case help
    /// Leave.
    case quit
    /// Switch screen.
    case show(AppScreen)
    /// Freeze / unfreeze the display.
    case pause
    /// Edit the filter.
    case filter
    /// Sort by the next / previous column.
    case sortNext, sortPrevious
    /// Reverse the sort order.
    case sortInvert
    /// Move the selection or scroll.
    case up, down, pageUp, pageDown, home, end
    /// Open / close the detail pane.
    case details
    /// Close a pane, clear the filter, leave a mode.
    case back
    /// End the selected dialog (asks first).
    case endDialog
    /// Remove the selected contact or AoR (asks first).
    case removeContact
    /// Add a test binding (asks for AoR and contact).
    case addBinding
    /// Refresh faster / slower.
    case faster, slower
    /// Poll now.
    case refresh
    /// Command prompt: run, complete, history.
    case run, complete, historyPrevious, historyNext
    /// Command prompt: clear the output.
    case clearOutput
    /// A Debugger screen key.
    case debugger(DebuggerAction)
    /// A Parameters screen key.
    case params(ParamsAction)
}

/// Where a binding applies.
enum AppKeyScope: Equatable, Sendable {
    /// Every screen; on the command screen only non-printing keys.
    case global
    /// The list screens.
    case lists
    /// One screen.
    case screen(AppScreen)

    /// Does the scope include `screen`?
    func includes(_ screen: AppScreen) -> Bool {
        switch self {
        case .global: return true
        case .lists: return screen.isList
        case .screen(let s): return s == screen
        }
    }
}

/// One row of the command table: keys, what they do, where, and how the key bar and the
/// help screen name it. The key bar, the help screen and the dispatcher all read this one
/// table, so a key cannot exist without being documented.
struct AppKeyBinding: Sendable {
    /// Keys that trigger it (first one is shown).
    var keys: [AppKey]
    /// What happens.
    var action: AppAction
    /// Where.
    var scope: AppKeyScope
    /// Short label for the key bar; nil keeps it out of the bar.
    var bar: String?
    /// Sentence for the help screen.
    var help: String
}

/// The command table.
enum AppKeyTable {
    /// Every binding, in help order.
    static let bindings: [AppKeyBinding] = {
        var b: [AppKeyBinding] = [
            .init(keys: [.function(1), .char("?"), .char("h")], action: .help, scope: .global, bar: "Help",
                  help: "Show this help (any key closes it)"),
        ]
        for s in AppScreen.allCases {
            b.append(.init(keys: [.function(s.functionKey), .char(s.letter)], action: .show(s), scope: .global, bar: nil,
                           help: "\(s.title) screen"))
        }
        b += [
            .init(keys: [.char("/")], action: .filter, scope: .lists, bar: "Filter",
                  help: "Filter rows (substring of any column; Enter keeps, Esc clears)"),
            .init(keys: [.char(">"), .char(".")], action: .sortNext, scope: .lists, bar: "Sort",
                  help: "Sort by the next column"),
            .init(keys: [.char("<"), .char(",")], action: .sortPrevious, scope: .lists, bar: nil,
                  help: "Sort by the previous column"),
            .init(keys: [.char("I")], action: .sortInvert, scope: .lists, bar: "Invert", help: "Invert the sort order"),
            .init(keys: [.enter], action: .details, scope: .screen(.transactions), bar: "Details",
                  help: "Open or close the detail pane of the selected transaction"),
            .init(keys: [.enter], action: .details, scope: .screen(.dialogs), bar: "Details",
                  help: "Open or close the detail pane of the selected dialog"),
            .init(keys: [.enter], action: .details, scope: .screen(.registrations), bar: "Details",
                  help: "Open or close the detail pane of the selected contact"),
            .init(keys: [.char("x"), .delete], action: .endDialog, scope: .screen(.dialogs), bar: "End dlg",
                  help: "End the selected dialog (dlg.end_dlg, sends BYE both ways; asks first)"),
            .init(keys: [.char("x"), .delete], action: .removeContact, scope: .screen(.registrations), bar: "Remove",
                  help: "Remove the selected contact (ul.rm_contact) or whole AoR (ul.rm); asks first"),
            .init(keys: [.char("a")], action: .addBinding, scope: .screen(.registrations), bar: "Add",
                  help: "Add a test binding (ul.add): type AOR CONTACT [EXPIRES]"),
            .init(keys: [.up, .char("k")], action: .up, scope: .lists, bar: nil, help: "Select the previous row"),
            .init(keys: [.down, .char("j")], action: .down, scope: .lists, bar: nil, help: "Select the next row"),
            .init(keys: [.pageUp], action: .pageUp, scope: .global, bar: nil, help: "Scroll one page up"),
            .init(keys: [.pageDown], action: .pageDown, scope: .global, bar: nil, help: "Scroll one page down"),
            .init(keys: [.home], action: .home, scope: .lists, bar: nil, help: "Jump to the first row"),
            .init(keys: [.end], action: .end, scope: .lists, bar: nil, help: "Jump to the last row"),
            .init(keys: [.enter], action: .run, scope: .screen(.command), bar: "Run", help: "Run the typed command"),
            .init(keys: [.tab], action: .complete, scope: .screen(.command), bar: "Complete",
                  help: "Complete the method name (from system.listMethods)"),
            .init(keys: [.up], action: .historyPrevious, scope: .screen(.command), bar: "History",
                  help: "Previous command from the history file"),
            .init(keys: [.down], action: .historyNext, scope: .screen(.command), bar: nil, help: "Next command in history"),
            .init(keys: [.ctrl("l")], action: .clearOutput, scope: .screen(.command), bar: nil, help: "Clear the output"),
            .init(keys: [.char(" ")], action: .pause, scope: .global, bar: "Pause",
                  help: "Pause / resume the display (polling goes on)"),
            .init(keys: [.char("+")], action: .faster, scope: .global, bar: nil, help: "Refresh faster"),
            .init(keys: [.char("-")], action: .slower, scope: .global, bar: nil, help: "Refresh slower"),
            .init(keys: [.ctrl("r")], action: .refresh, scope: .global, bar: nil, help: "Poll now"),
            .init(keys: [.escape], action: .back, scope: .global, bar: nil,
                  help: "Close the pane, clear the filter, or leave the command screen"),
            .init(keys: [.function(10), .char("q")], action: .quit, scope: .global, bar: "Quit", help: "Quit kamcon"),
        ]
        b += AppDebuggerKeys.bindings
        b += AppParamsKeys.bindings
        return b
    }()

    /// The action for `key` on `screen`; printable keys on the command screen belong to
    /// the prompt, so only non-printing keys act there.
    static func action(for key: AppKey, on screen: AppScreen) -> AppAction? {
        if screen == .command, case .char = key { return nil }
        // Screen-specific bindings win over list-wide and global ones.
        let candidates = bindings.filter { $0.keys.contains(key) && $0.scope.includes(screen) }
        let ranked = candidates.sorted { rank($0.scope) < rank($1.scope) }
        return ranked.first?.action
    }

    private static func rank(_ s: AppKeyScope) -> Int {
        switch s {
        case .screen: return 0
        case .lists: return 1
        case .global: return 2
        }
    }

    /// Key bar entries for `screen`: (key name, label), screen-specific first.
    static func bar(for screen: AppScreen) -> [(key: String, label: String)] {
        let own = bindings.filter { $0.bar != nil && $0.scope.includes(screen) }
        let ranked = own.enumerated().sorted { (rank($0.element.scope), $0.offset) < (rank($1.element.scope), $1.offset) }
        return ranked.compactMap { e in
            // On the prompt printable keys type text, so show the binding's other key (F1, F10) or nothing.
            let usable = e.element.keys.filter { key in
                if screen == .command, case .char = key { return false }
                return true
            }
            guard let label = e.element.bar, let key = usable.first else { return nil }
            return (key.name, label)
        }
    }

    /// Help lines grouped by scope: (section title, [(keys, text)]).
    static func helpSections() -> [(String, [(String, String)])] {
        func keys(_ b: AppKeyBinding) -> String { b.keys.map(\.name).joined(separator: " ") }
        var sections: [(String, [(String, String)])] = []
        sections.append(("Everywhere", bindings.filter { $0.scope == .global }.map { (keys($0), $0.help) }))
        sections.append(("Lists", bindings.filter { $0.scope == .lists }.map { (keys($0), $0.help) }))
        for s in AppScreen.allCases {
            let own = bindings.filter { $0.scope == .screen(s) }
            if !own.isEmpty { sections.append((s.title, own.map { (keys($0), $0.help) })) }
        }
        return sections
    }
}
