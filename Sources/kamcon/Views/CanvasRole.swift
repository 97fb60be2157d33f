/// What a piece of screen text *means*; the terminal layer maps each role to a colour pair
/// or, under `NO_COLOR`, to plain attributes. Views pick roles, never colours.
enum CanvasRole: UInt8, CaseIterable, Sendable {
    /// Ordinary text.
    case normal
    /// Secondary text: units, stale data, hints.
    case dim
    /// The top title bar.
    case title
    /// An inactive tab in the screen bar.
    case tab
    /// The active tab.
    case tabActive
    /// Column headers.
    case header
    /// The sort column's header.
    case headerSorted
    /// The selected row of a list.
    case selected
    /// A key name in the key bar or help ("F1", "q").
    case keyName
    /// The label next to a key name.
    case keyLabel
    /// Something healthy: connected, 2xx, confirmed.
    case good
    /// Something to watch: early dialogs, 4xx, paused.
    case warn
    /// Something wrong: disconnected, 5xx/6xx, faults.
    case bad
    /// Emphasised values (numbers in the overview, names in trees).
    case accent
    /// Box lines and separators.
    case border
    /// Sparkline bars.
    case spark
    /// The command prompt and input line.
    case prompt
    /// Labels in key/value layouts.
    case label
}
