import CNCursesW

/// The mapping of semantic roles to curses attributes and colour pairs, in one place.
enum TerminalStyles {
    /// Builds the table; with colours, pair n+1 belongs to role n.
    static func make(colors: Bool) -> [CanvasRole: (attr: attr_t, pair: Int16)] {
        let bold = kc_a_bold(), rev = kc_a_reverse(), dim = kc_a_dim(), und = kc_a_underline(), none = kc_a_normal()
        var out: [CanvasRole: (attr: attr_t, pair: Int16)] = [:]
        guard colors else {
            // NO_COLOR: attributes carry the meaning (bold = look here, reverse = bars).
            let mono: [CanvasRole: attr_t] = [
                .normal: none, .dim: dim, .title: rev | bold, .tab: none, .tabActive: rev | bold, .header: rev,
                .headerSorted: rev | bold | und, .selected: rev, .keyName: bold, .keyLabel: rev, .good: none,
                .warn: bold, .bad: bold | und, .accent: bold, .border: none, .spark: none, .prompt: bold, .label: none,
            ]
            for (r, a) in mono { out[r] = (a, 0) }
            return out
        }
        let black = Int16(COLOR_BLACK), red = Int16(COLOR_RED), green = Int16(COLOR_GREEN), yellow = Int16(COLOR_YELLOW)
        let blue = Int16(COLOR_BLUE), cyan = Int16(COLOR_CYAN), white = Int16(COLOR_WHITE), dflt: Int16 = -1
        let table: [CanvasRole: (Int16, Int16, attr_t)] = [
            .normal: (dflt, dflt, none), .dim: (dflt, dflt, dim), .title: (black, cyan, none),
            .tab: (white, blue, none), .tabActive: (black, yellow, bold), .header: (black, green, none),
            .headerSorted: (black, cyan, bold), .selected: (black, cyan, none), .keyName: (white, black, bold),
            .keyLabel: (black, cyan, none), .good: (green, dflt, none), .warn: (yellow, dflt, bold),
            .bad: (red, dflt, bold), .accent: (cyan, dflt, bold), .border: (blue, dflt, none),
            .spark: (green, dflt, none), .prompt: (yellow, dflt, bold), .label: (cyan, dflt, none),
        ]
        for role in CanvasRole.allCases {
            guard let (fg, bg, attr) = table[role] else { continue }
            let pair = Int16(role.rawValue) + 1
            init_pair(pair, fg, bg)
            out[role] = (attr, pair)
        }
        return out
    }
}
