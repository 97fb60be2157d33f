/// Sparklines and gauges as text.
enum ViewSparkline {
    /// The last `width` points as bar glyphs scaled to their maximum; zero stays the lowest
    /// bar, so a quiet server reads as a flat line rather than as noise.
    static func render(_ points: [Double], width: Int, glyphs: ViewGlyphs) -> String {
        guard width > 0 else { return "" }
        let tail = Array(points.suffix(width))
        let peak = tail.max() ?? 0
        var s = ""
        for p in tail {
            if peak <= 0 || p <= 0 {
                s += glyphs.spark[0]
            } else {
                let level = Int((p / peak) * Double(glyphs.spark.count - 1) + 0.5)
                s += glyphs.spark[max(1, min(glyphs.spark.count - 1, level))]
            }
        }
        return s
    }

    /// A bar like `█████░░░░░` for `fraction` of `width`.
    static func gauge(_ fraction: Double, width: Int, glyphs: ViewGlyphs) -> String {
        let filled = max(0, min(width, Int((fraction * Double(width)).rounded())))
        return String(repeating: glyphs.full, count: filled) + String(repeating: glyphs.empty, count: width - filled)
    }

    /// A rate for a column: `12.5`, `1.2k`, `-` when unknown.
    static func number(_ v: Double?) -> String {
        guard let v else { return "-" }
        if v >= 10_000 { return String(format: "%.1fk", v / 1000) }
        if v == v.rounded() { return String(Int(v)) }
        return String(format: "%.1f", v)
    }
}

import Foundation
