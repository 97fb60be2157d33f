import CNCursesW

/// Translation of curses key codes to `AppKey`.
enum TerminalKeys {
    /// A `KEY_CODE_YES` code.
    static func special(_ code: Int32) -> AppKey? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_PPAGE: return .pageUp
        case KEY_NPAGE: return .pageDown
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_RESIZE: return .resize
        case KEY_BTAB: return .tab
        default:
            for n in 1...12 where code == kc_key_f(Int32(n)) { return .function(n) }
            return nil
        }
    }

    /// A plain character code (UTF-32).
    static func character(_ code: UInt32) -> AppKey? {
        switch code {
        case 10, 13: return .enter
        case 9: return .tab
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26:
            guard let s = Unicode.Scalar(code + 96) else { return nil }
            return .ctrl(Character(s))
        default:
            guard let s = Unicode.Scalar(code) else { return nil }
            return .char(Character(s))
        }
    }
}
