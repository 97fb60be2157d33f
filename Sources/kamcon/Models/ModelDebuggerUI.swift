import Foundation

/// Which pane of the Debugger screen the arrow keys move in.
enum DebuggerFocus: CaseIterable, Equatable, Sendable {
    /// Script source (cursor line for breakpoints).
    case source
    /// Worker list (selects the worker commands go to).
    case workers
    /// Watch list (selects the watch `x` removes).
    case watches
    /// The SIP message (scrolls).
    case message

    /// Pane title.
    var title: String {
        switch self {
        case .source: return "Source"
        case .workers: return "Workers"
        case .watches: return "Watches"
        case .message: return "Message"
        }
    }
}

/// A one-line prompt on the Debugger screen.
struct DebuggerPrompt: Equatable, Sendable {
    /// What the text is for.
    enum Kind: Equatable, Sendable {
        /// `dbg.bp eval` once.
        case eval
        /// Add to the watch list.
        case watch
    }

    /// Purpose.
    var kind: Kind
    /// Typed so far.
    var text = ""
}

/// The Debugger screen's own state: focus, source cursor and window, selected worker,
/// watch list, prompt. Pure value logic, tested without a terminal.
struct ModelDebuggerUI: Equatable, Sendable {
    /// Pane the arrows move in.
    var focus: DebuggerFocus = .source
    /// 1-based cursor line in the shown file.
    var cursor = 1
    /// First line shown.
    var top = 1
    /// The worker the user picked (commands go to the first parked one otherwise).
    var selectedPid: Int?
    /// Watch expressions, in the order added.
    var watches: [String] = []
    /// Selected watch.
    var watchIndex = 0
    /// Selected row of the worker list.
    var workerIndex = 0
    /// Message lines scrolled.
    var messageScroll = 0
    /// Open prompt, if any.
    var prompt: DebuggerPrompt?
    /// The stop the cursor last jumped to (pid, serial), so it follows each new stop
    /// but stays where the user moved it in between.
    var followed: [Int] = []
    /// Source rows on screen (set by the view).
    var rows = 10

    /// The worker commands go to: the picked one while it is parked, else the first parked.
    func target(_ snap: DebuggerSnapshot) -> Int? {
        let stopped = snap.stoppedWorkers
        if let p = selectedPid, stopped.contains(where: { $0.pid == p }) { return p }
        return stopped.first?.pid
    }

    /// The file on screen: where the target worker stands, else the main file.
    func file(_ snap: DebuggerSnapshot) -> String? {
        if let pid = target(snap), let p = snap.stops[pid]?.position { return p.file }
        return snap.mainFile
    }

    /// The shown file's lines, if known ("" holds kamailiod's main file before its name is).
    func lines(_ snap: DebuggerSnapshot) -> [String]? {
        guard let f = file(snap) else { return snap.sources[""] }
        return snap.sources[f] ?? (f == snap.mainFile ? snap.sources[""] : nil)
    }

    /// Follows a new stop of the target worker: cursor to its line, line into view.
    mutating func sync(_ snap: DebuggerSnapshot) {
        guard let pid = target(snap), let stop = snap.stops[pid], let p = stop.position else { return }
        let mark = [pid, stop.serial]
        guard mark != followed else { return }
        followed = mark
        cursor = p.line
        reveal(count: lines(snap)?.count ?? p.line)
    }

    /// Moves the cursor (source), selection (workers, watches) or scroll (message).
    mutating func move(_ delta: Int, _ snap: DebuggerSnapshot) {
        switch focus {
        case .source:
            let count = max(1, lines(snap)?.count ?? 1)
            cursor = min(count, max(1, cursor + delta))
            reveal(count: count)
        case .workers:
            let n = snap.workers.count
            guard n > 0 else { return }
            workerIndex = min(n - 1, max(0, workerIndex + delta))
            selectedPid = snap.workers[workerIndex].pid
        case .watches:
            watchIndex = min(max(0, watches.count - 1), max(0, watchIndex + delta))
        case .message:
            messageScroll = max(0, messageScroll + delta)
        }
    }

    /// Scrolls so the cursor is visible with a little context above and below.
    mutating func reveal(count: Int) {
        let margin = rows > 8 ? 3 : 0
        if cursor - margin < top { top = max(1, cursor - margin) }
        if cursor + margin >= top + rows { top = max(1, min(cursor + margin - rows + 1, count - rows + 1)) }
    }

    /// Adds a watch (ignoring duplicates); false when already there.
    mutating func addWatch(_ expression: String) -> Bool {
        let e = expression.trimmingCharacters(in: .whitespaces)
        guard !e.isEmpty, !watches.contains(e) else { return false }
        watches.append(e)
        watchIndex = watches.count - 1
        return true
    }

    /// Removes the selected watch; returns it.
    mutating func removeWatch() -> String? {
        guard watches.indices.contains(watchIndex) else { return nil }
        let w = watches.remove(at: watchIndex)
        watchIndex = max(0, min(watchIndex, watches.count - 1))
        return w
    }
}
