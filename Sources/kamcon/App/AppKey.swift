/// A key press as the app sees it, independent of curses (the terminal layer translates).
enum AppKey: Hashable, Sendable {
    /// A printable character.
    case char(Character)
    /// Ctrl + letter (`ctrl("l")`).
    case ctrl(Character)
    /// Function key F1…F12.
    case function(Int)
    /// Arrows.
    case up, down, left, right
    /// Paging and jumps.
    case pageUp, pageDown, home, end
    /// Editing keys.
    case enter, backspace, delete, tab, escape
    /// The terminal changed size.
    case resize

    /// The name shown in the key bar and help (`F1`, `Enter`, `q`).
    var name: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .ctrl(let c): return "^" + String(c).uppercased()
        case .function(let n): return "F\(n)"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .tab: return "Tab"
        case .escape: return "Esc"
        case .resize: return "resize"
        }
    }
}
