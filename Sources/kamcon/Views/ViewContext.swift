/// A rectangle of the canvas a view draws into.
struct ViewRect: Equatable, Sendable {
    /// Left column.
    var x: Int
    /// Top row.
    var y: Int
    /// Columns.
    var width: Int
    /// Rows.
    var height: Int
}

/// Glyph set: Unicode by default, ASCII when the locale is not UTF-8 (the terminal layer
/// decides at start-up), so sparklines and lines never turn into mojibake.
struct ViewGlyphs: Equatable, Sendable {
    /// Sparkline levels, lowest first.
    var spark: [String]
    /// Horizontal line.
    var hline: String
    /// Vertical line.
    var vline: String
    /// Filled / empty gauge cells.
    var full: String
    /// Empty gauge cell.
    var empty: String
    /// Status bullet.
    var bullet: String
    /// Sort direction markers.
    var up: String
    /// Descending marker.
    var down: String
    /// Tree branch for contacts under an AoR.
    var branch: String
    /// Last tree branch.
    var lastBranch: String

    /// Unicode glyphs.
    static let unicode = ViewGlyphs(spark: ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"], hline: "─", vline: "│",
                                    full: "█", empty: "░", bullet: "●", up: "▲", down: "▼", branch: "├─", lastBranch: "└─")
    /// ASCII glyphs.
    static let ascii = ViewGlyphs(spark: ["_", ".", "-", "~", "=", "+", "*", "#"], hline: "-", vline: "|",
                                  full: "#", empty: ".", bullet: "*", up: "^", down: "v", branch: "|-", lastBranch: "`-")
}

/// What every view gets besides its own state.
struct ViewContext: Sendable {
    /// Data to show.
    var snapshot: ServerSnapshot
    /// Local clock (epoch seconds), for countdowns that tick between polls.
    var now: Double
    /// Glyphs.
    var glyphs: ViewGlyphs
    /// Attached address, as typed.
    var address: String
    /// Poll interval.
    var interval: Double
    /// Display frozen.
    var paused: Bool
}
