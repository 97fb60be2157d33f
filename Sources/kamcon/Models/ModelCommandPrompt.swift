import Shared

/// The command screen's input line: text, cursor, history (kept in a file) and completion.
/// No drawing and no I/O besides the history file.
struct ModelCommandPrompt: Equatable, Sendable {
    /// The typed text.
    var input = ""
    /// Cursor position in characters.
    var cursor = 0
    /// Earlier commands, oldest first.
    private(set) var history: [String] = []
    /// Position while browsing history (nil = editing a new line).
    private var historyIndex: Int?
    /// The new line being edited before browsing started.
    private var draft = ""
    /// Where history is kept; nil keeps it in memory only.
    let historyFile: String?
    /// Most lines kept in the file.
    static let historyLimit = 500

    /// A prompt reading and writing `historyFile`.
    init(historyFile: String?) {
        self.historyFile = historyFile
        if let f = historyFile, let text = try? String(contentsOfFile: f, encoding: .utf8) {
            history = text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
        }
    }

    /// Inserts a typed character at the cursor.
    mutating func insert(_ c: Character) {
        let i = input.index(input.startIndex, offsetBy: min(cursor, input.count))
        input.insert(c, at: i)
        cursor += 1
        historyIndex = nil
    }

    /// Deletes the character before the cursor.
    mutating func backspace() {
        guard cursor > 0, !input.isEmpty else { return }
        let i = input.index(input.startIndex, offsetBy: cursor - 1)
        input.remove(at: i)
        cursor -= 1
    }

    /// Deletes the character under the cursor.
    mutating func deleteForward() {
        guard cursor < input.count else { return }
        input.remove(at: input.index(input.startIndex, offsetBy: cursor))
    }

    /// Moves the cursor.
    mutating func moveCursor(_ delta: Int) { cursor = max(0, min(input.count, cursor + delta)) }

    /// Takes the line for running: records it in history (and the file) and clears it.
    mutating func submit() -> String {
        let line = input.trimmingCharacters(in: .whitespaces)
        input = ""
        cursor = 0
        historyIndex = nil
        if !line.isEmpty, history.last != line {
            history.append(line)
            if history.count > ModelCommandPrompt.historyLimit { history.removeFirst(history.count - ModelCommandPrompt.historyLimit) }
            if let f = historyFile {
                try? (history.joined(separator: "\n") + "\n").write(toFile: f, atomically: true, encoding: .utf8)
            }
        }
        return line
    }

    /// Shows the previous history entry.
    mutating func previous() {
        guard !history.isEmpty else { return }
        if historyIndex == nil { draft = input }
        let i = max(0, (historyIndex ?? history.count) - 1)
        historyIndex = i
        input = history[i]
        cursor = input.count
    }

    /// Shows the next history entry, or the draft after the last.
    mutating func next() {
        guard let i = historyIndex else { return }
        if i + 1 < history.count {
            historyIndex = i + 1
            input = history[i + 1]
        } else {
            historyIndex = nil
            input = draft
        }
        cursor = input.count
    }

    /// Completes the method name (the first word) against `methods`: a unique match is
    /// completed with a trailing space; several extend to their common prefix and are
    /// returned so the view can list them.
    mutating func complete(methods: [String]) -> [String] {
        guard !input.contains(" ") else { return [] }
        let prefix = input
        let matches = methods.filter { $0.hasPrefix(prefix) }
        guard !matches.isEmpty else { return [] }
        if matches.count == 1 {
            input = matches[0] + " "
        } else {
            input = ModelCommandPrompt.commonPrefix(matches)
        }
        cursor = input.count
        return matches.count == 1 ? [] : matches
    }

    /// Longest common prefix of `words`.
    static func commonPrefix(_ words: [String]) -> String {
        guard var p = words.first else { return "" }
        for w in words.dropFirst() {
            while !w.hasPrefix(p) { p.removeLast() }
        }
        return p
    }

    /// Splits a command line into method and kamcmd-typed parameters; double quotes group
    /// words (`htable.sets t k "two words"`).
    static func parse(_ line: String) -> (method: String, params: [RPCValue])? {
        var words: [String] = []
        var current = ""
        var quoted = false
        var started = false
        for c in line {
            if c == "\"" {
                quoted.toggle()
                started = true
            } else if c == " ", !quoted {
                if started { words.append(current) }
                current = ""
                started = false
            } else {
                current.append(c)
                started = true
            }
        }
        if started { words.append(current) }
        guard let method = words.first else { return nil }
        return (method, words.dropFirst().map { RPCValue(kamcmdArgument: $0) })
    }
}

import Foundation
