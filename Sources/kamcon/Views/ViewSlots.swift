/// Screens whose issue has not landed yet keep their place in the layout.
enum ViewSlots {
    /// Draws a placeholder explaining what will appear.
    static func draw(_ canvas: inout Canvas, rect: ViewRect, screen: AppScreen) {
        let text = ["Runtime parameters", "", "cfg.* groups and values, with edit and commit, arrive with their issue.",
                    "Until then, use the Command screen: cfg.list, cfg.get GROUP NAME, cfg.seti GROUP NAME VALUE."]
        for (i, t) in text.enumerated() {
            canvas.put(t, x: rect.x + 2, y: rect.y + 1 + i, role: i == 0 ? .accent : .dim, limit: rect.width - 4)
        }
    }
}
