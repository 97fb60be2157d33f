/// Display width of text in terminal columns, without curses, so views lay out the same
/// way in tests and on screen. Double-width CJK/fullwidth/emoji count 2, combining marks
/// and format characters 0, everything else 1 (what `wcwidth` says on glibc for the
/// ranges operators meet in SIP headers and user agents).
enum CanvasWidth {
    /// Columns taken by one scalar.
    static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (v >= 0x7F && v < 0xA0) { return 1 }  // drawn as a replacement
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v == 0x200B { return 0 }
        if isWide(v) || s.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// Columns taken by one grapheme cluster: its first scalar decides (emoji sequences and
    /// base + combining marks are one glyph).
    static func of(_ c: Character) -> Int {
        var total = 0
        for s in c.unicodeScalars {
            total = max(total, of(s))
            if s.properties.isEmojiPresentation { return 2 }
        }
        return total
    }

    /// Columns taken by a string.
    static func of(_ text: String) -> Int {
        var n = 0
        for c in text { n += of(c) }
        return n
    }

    private static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
             0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
             0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// `text` cut to at most `width` columns; when cut, the last column shows `…` so a
    /// reader knows there is more.
    static func truncate(_ text: String, to width: Int, ellipsis: String = "…") -> String {
        guard width > 0 else { return "" }
        if of(text) <= width { return text }
        var out = ""
        var used = 0
        let limit = width - of(ellipsis)
        for c in text {
            let w = of(c)
            if used + w > limit { break }
            out.append(c)
            used += w
        }
        return out + ellipsis
    }

    /// `text` truncated and padded to exactly `width` columns, left or right aligned.
    static func fit(_ text: String, to width: Int, right: Bool = false) -> String {
        let cut = truncate(text, to: width)
        let pad = String(repeating: " ", count: max(0, width - of(cut)))
        return right ? pad + cut : cut + pad
    }
}
