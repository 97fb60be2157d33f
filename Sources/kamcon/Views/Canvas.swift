/// An in-memory screen: a grid of cells, each holding one glyph and its role. Views draw
/// here; `TerminalScreen` copies the result to curses, and tests read it back as text.
struct Canvas: Sendable {
    /// One screen cell.
    struct Cell: Equatable, Sendable {
        /// The glyph (one grapheme) drawn in this cell; empty for the right half of a
        /// double-width glyph.
        var glyph: String
        /// What the cell means.
        var role: CanvasRole
    }

    /// Columns.
    let width: Int
    /// Rows.
    let height: Int
    /// Row-major cells.
    private(set) var cells: [Cell]

    /// A blank canvas.
    init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: Cell(glyph: " ", role: .normal), count: self.width * self.height)
    }

    /// The cell at column `x`, row `y`.
    subscript(x: Int, y: Int) -> Cell { cells[y * width + x] }

    /// Writes `text` at (`x`, `y`) in `role`, clipped to `limit` columns (default: to the
    /// right edge); control characters show as `?` so a hostile header cannot move the
    /// cursor. Returns the columns written.
    @discardableResult
    mutating func put(_ text: String, x: Int, y: Int, role: CanvasRole = .normal, limit: Int? = nil) -> Int {
        guard y >= 0, y < height, x < width else { return 0 }
        let end = min(width, x + (limit ?? width))
        var col = x
        for c in text {
            var glyph = String(c)
            var w = CanvasWidth.of(c)
            if let a = c.asciiValue, a < 0x20 || a == 0x7F { glyph = "?"; w = 1 }
            if c.unicodeScalars.first.map({ $0.value >= 0x80 && $0.value < 0xA0 }) == true { glyph = "?"; w = 1 }
            if w == 0 {
                // A lone combining mark joins the previous cell's glyph.
                if col > x, col - 1 < width, col - 1 >= 0 { cells[y * width + col - 1].glyph += glyph }
                continue
            }
            if col + w > end { break }
            if col >= 0 {
                cells[y * width + col] = Cell(glyph: glyph, role: role)
                if w == 2 { cells[y * width + col + 1] = Cell(glyph: "", role: role) }
            }
            col += w
        }
        return col - x
    }

    /// Paints `count` columns of row `y` from `x` with blanks in `role` (row backgrounds).
    mutating func fill(y: Int, x: Int = 0, count: Int? = nil, role: CanvasRole, glyph: String = " ") {
        guard y >= 0, y < height else { return }
        let end = min(width, x + (count ?? width))
        var col = max(0, x)
        while col < end {
            cells[y * width + col] = Cell(glyph: glyph, role: role)
            col += 1
        }
    }

    /// Changes the role of existing cells without touching their glyphs (selection bars).
    mutating func recolor(y: Int, x: Int = 0, count: Int? = nil, role: CanvasRole) {
        guard y >= 0, y < height else { return }
        let end = min(width, x + (count ?? width))
        var col = max(0, x)
        while col < end {
            cells[y * width + col].role = role
            col += 1
        }
    }

    /// Row `y` as plain text (trailing blanks kept), for tests and `dump`.
    func line(_ y: Int) -> String {
        guard y >= 0, y < height else { return "" }
        var s = ""
        for x in 0..<width { s += cells[y * width + x].glyph }
        return s
    }

    /// The whole canvas as text, one line per row, trailing blanks trimmed.
    var text: String {
        (0..<height).map { trimTrailing(line($0)) }.joined(separator: "\n")
    }

    private func trimTrailing(_ s: String) -> String {
        var t = Substring(s)
        while t.last == " " { t = t.dropLast() }
        return String(t)
    }

    /// Runs of equal role in row `y`: (start column, text, role). The terminal writes each
    /// run with one call, which keeps redraws fast.
    func runs(_ y: Int) -> [(x: Int, text: String, role: CanvasRole)] {
        var out: [(x: Int, text: String, role: CanvasRole)] = []
        var start = 0
        var text = ""
        var role = CanvasRole.normal
        for x in 0..<width {
            let c = cells[y * width + x]
            if x == 0 {
                role = c.role
            } else if c.role != role {
                out.append((start, text, role))
                start = x
                text = ""
                role = c.role
            }
            text += c.glyph
        }
        if width > 0 { out.append((start, text, role)) }
        return out
    }
}
