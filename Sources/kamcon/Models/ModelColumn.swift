/// A cell value that knows how to sort: numbers compare as numbers, text case-insensitively.
enum ModelCell: Sendable {
    /// A number and how to show it.
    case number(Double, String)
    /// Text shown and sorted as is.
    case text(String)

    /// What is shown.
    var display: String {
        switch self {
        case .number(_, let s): return s
        case .text(let s): return s
        }
    }

    /// Orders two cells of one column.
    static func less(_ a: ModelCell, _ b: ModelCell) -> Bool {
        switch (a, b) {
        case (.number(let x, _), .number(let y, _)): return x < y
        default: return a.display.localizedStandardCompare(b.display) == .orderedAscending
        }
    }
}

/// A column of a list screen: title, width hints for the view, and the cell extractor the
/// model sorts and filters by. Columns are data so the key table can say "sort by any
/// column" without the model knowing how the view draws.
struct ModelColumn<Row>: Sendable {
    /// Header text.
    var title: String
    /// Minimum width in columns.
    var width: Int
    /// Share of the spare width this column takes (0 = fixed).
    var flex: Int
    /// Right-aligned (numbers).
    var right: Bool
    /// The cell for a row.
    var cell: @Sendable (Row) -> ModelCell

    /// Creates a column.
    init(_ title: String, width: Int, flex: Int = 0, right: Bool = false, cell: @escaping @Sendable (Row) -> ModelCell) {
        self.title = title
        self.width = width
        self.flex = flex
        self.right = right
        self.cell = cell
    }
}

/// Where the user is in one list: sort column and order, filter text, selection, scroll.
/// Kept per screen by the app, so switching screens or a reconnect does not lose the place.
struct ModelListState: Equatable, Sendable {
    /// Index of the sort column, or nil for server order.
    var sortColumn: Int?
    /// Ascending order.
    var ascending = true
    /// Case-insensitive substring filter over every column.
    var filter = ""
    /// Index of the selected row among the visible (filtered, sorted) rows.
    var selected = 0
    /// First visible row.
    var scroll = 0
    /// Identity of the selected row, so it stays selected when rows move between polls.
    var selectedKey: String?

    /// Moves the selection by `delta`, clamped to `count` rows.
    mutating func move(_ delta: Int, count: Int) {
        selected = max(0, min(count - 1, selected + delta))
        if count == 0 { selected = 0 }
    }

    /// Keeps the selection visible in a window of `rows` lines.
    mutating func scrollToSelection(rows: Int, count: Int) {
        if selected < scroll { scroll = selected }
        if rows > 0, selected >= scroll + rows { scroll = selected - rows + 1 }
        scroll = max(0, min(scroll, max(0, count - rows)))
    }
}

/// Filtering and sorting of rows by their columns; no drawing.
enum ModelList {
    /// Rows whose any column contains `filter` (case-insensitive), sorted by the state's column.
    static func arrange<Row>(_ rows: [Row], columns: [ModelColumn<Row>], state: ModelListState,
                             extraText: ((Row) -> String)? = nil) -> [Row] {
        var out = rows
        let needle = state.filter.lowercased()
        if !needle.isEmpty {
            out = out.filter { row in
                if let extra = extraText?(row), extra.lowercased().contains(needle) { return true }
                return columns.contains { $0.cell(row).display.lowercased().contains(needle) }
            }
        }
        if let c = state.sortColumn, c >= 0, c < columns.count {
            let col = columns[c]
            let keyed = out.enumerated().map { ($0.offset, col.cell($0.element), $0.element) }
            // Stable: equal keys keep server order, so rows do not jump around between polls.
            out = keyed.sorted { a, b in
                if ModelCell.less(a.1, b.1) { return state.ascending }
                if ModelCell.less(b.1, a.1) { return !state.ascending }
                return a.0 < b.0
            }.map(\.2)
        }
        return out
    }

    /// Re-finds the selected row by key after new rows arrived.
    static func reselect(_ state: inout ModelListState, keys: [String]) {
        if let key = state.selectedKey, let i = keys.firstIndex(of: key) {
            state.selected = i
        } else {
            state.selected = max(0, min(state.selected, keys.count - 1))
        }
        state.selectedKey = keys.indices.contains(state.selected) ? keys[state.selected] : nil
    }
}

import Foundation
