/// One row of the Parameters tree: a group heading or one of its parameters.
enum ParamsRow: Equatable, Sendable {
    case group(String)
    case param(Int)
}

/// What the Parameters prompt is typing.
enum ParamsPromptKind: Equatable, Sendable {
    /// A new value, set at once (`cfg.seti/sets`) or staged (`cfg.set_delayed_*`).
    case value(entry: Int, staged: Bool)
    /// The script path for `cfg.reload_script` (empty: the loaded file).
    case reloadPath
    /// Text to find in `group.name`.
    case find
}

/// The Parameters screen's UI state: cursor, folded groups and the prompt. No drawing
/// and no I/O, so it is tested without a terminal.
struct ModelParamsUI: Sendable {
    /// Index into `rows`.
    var cursor = 0
    /// First row shown.
    var top = 0
    /// Rows on screen (set by the view).
    var page = 10
    /// Groups shown folded.
    var folded: Set<String> = []
    /// The open prompt and its text.
    var prompt: (kind: ParamsPromptKind, text: String)?
    /// The last text looked for (the find prompt starts with it).
    var lastFind = ""

    /// The tree rows for `snap`, folded groups without their parameters.
    func rows(_ snap: ParamsSnapshot) -> [ParamsRow] {
        var out: [ParamsRow] = []
        var last: String?
        for (i, e) in snap.entries.enumerated() {
            if e.group != last {
                out.append(.group(e.group))
                last = e.group
            }
            if !folded.contains(e.group) { out.append(.param(i)) }
        }
        return out
    }

    /// The parameter under the cursor.
    func selected(_ snap: ParamsSnapshot) -> Int? {
        let r = rows(snap)
        guard cursor < r.count, case .param(let i) = r[cursor] else { return nil }
        return i
    }

    /// The group under the cursor (its heading or one of its parameters).
    func selectedGroup(_ snap: ParamsSnapshot) -> String? {
        let r = rows(snap)
        guard cursor < r.count else { return nil }
        switch r[cursor] {
        case .group(let g): return g
        case .param(let i): return snap.entries[i].group
        }
    }

    /// Moves the cursor by `delta` rows, keeping it on screen.
    mutating func move(_ delta: Int, _ snap: ParamsSnapshot) {
        let count = rows(snap).count
        cursor = max(0, min(count - 1, cursor + delta))
        if cursor < top { top = cursor }
        if cursor >= top + page { top = cursor - page + 1 }
    }

    /// Moves the cursor to the next parameter after it whose `group.name` contains `text`
    /// (case-insensitive), unfolding its group; false when none does.
    mutating func find(_ text: String, _ snap: ParamsSnapshot) -> Bool {
        let needle = text.lowercased()
        guard !needle.isEmpty else { return false }
        let start = selected(snap) ?? -1
        let order = Array(snap.entries.indices.dropFirst(start + 1)) + Array(snap.entries.indices.prefix(start + 1))
        guard let hit = order.first(where: { snap.entries[$0].key.lowercased().contains(needle) }) else { return false }
        folded.remove(snap.entries[hit].group)
        guard let at = rows(snap).firstIndex(of: .param(hit)) else { return false }
        cursor = at
        move(0, snap)
        return true
    }

    /// Folds or unfolds the group under the cursor, leaving the cursor on its heading.
    mutating func toggleFold(_ snap: ParamsSnapshot) {
        guard let g = selectedGroup(snap) else { return }
        if folded.contains(g) { folded.remove(g) } else { folded.insert(g) }
        if let at = rows(snap).firstIndex(of: .group(g)) {
            cursor = at
            move(0, snap)
        }
    }
}
