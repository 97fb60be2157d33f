/// Composes a whole screen: chrome plus the current view, as a canvas.
enum ViewFrame {
    /// The content rectangle for a terminal of `width` × `height`.
    static func content(width: Int, height: Int) -> ViewRect {
        ViewRect(x: 0, y: 2, width: width, height: max(0, height - 4))
    }

    /// Draws everything; returns the canvas and the current list's page size.
    static func draw(width: Int, height: Int, state: AppState, context: ViewContext) -> (Canvas, Int) {
        var canvas = Canvas(width: width, height: height)
        guard width >= 20, height >= 6 else {
            canvas.put("kamcon: terminal too small", x: 0, y: 0, role: .bad)
            return (canvas, 1)
        }
        ViewChrome.title(&canvas, context: context)
        ViewChrome.tabs(&canvas, current: state.screen)
        let rect = content(width: width, height: height)
        let list = state.list(state.screen)
        let detail = state.details.contains(state.screen)
        var page = rect.height
        switch state.screen {
        case .overview: ViewOverview.draw(&canvas, rect: rect, context: context)
        case .transactions: page = ViewLists.transactions(&canvas, rect: rect, context: context, state: list, detail: detail)
        case .dialogs: page = ViewLists.dialogs(&canvas, rect: rect, context: context, state: list, detail: detail)
        case .registrations: page = ViewRegistrations.draw(&canvas, rect: rect, context: context, state: list, detail: detail)
        case .statistics: page = ViewLists.statistics(&canvas, rect: rect, context: context, state: list)
        case .debugger: page = ViewDebugger.draw(&canvas, rect: rect, ui: state.debugger, context: context)
        case .params: page = ViewParams.draw(&canvas, rect: rect, ui: state.params, context: context)
        case .command: page = ViewCommand.draw(&canvas, rect: rect, state: state, context: context)
        }
        ViewChrome.status(&canvas, y: height - 2, state: state, context: context)
        ViewChrome.keyBar(&canvas, y: height - 1, screen: state.screen)
        if state.mode == .help {
            ViewHelp.draw(&canvas, rect: ViewRect(x: 0, y: 1, width: width, height: height - 2), glyphs: context.glyphs,
                          scroll: state.helpScroll)
        }
        return (canvas, max(1, page))
    }
}
