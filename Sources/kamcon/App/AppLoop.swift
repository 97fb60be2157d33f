import Foundation
import Glibc
import Shared
import Synchronization

/// Set by the SIGINT/SIGTERM/SIGHUP handler; read by the UI loop.
let appSignalStop = Atomic<Bool>(false)
/// The wake pipe's write end, for the signal handler.
let appSignalWakeFD = Atomic<Int32>(-1)

/// The interactive console: one UI thread doing all curses work, woken by keys, the
/// poller's pipe, signals and a clock tick (countdowns move every second).
enum AppLoop {
    /// Runs until `q`, Ctrl-C or SIGTERM; returns the exit status.
    static func run(options: AppOptions) -> Int32 {
        guard let pipe = AppWakePipe() else {
            AppOutput.error("kamcon: cannot create the wake pipe")
            return 1
        }
        let address = options.address
        let dgram: RPCDatagramProtocol = options.datagramBinrpc ? .binrpc : .jsonRPC
        let timeout = Duration.milliseconds(Int64(max(1000, min(5000, options.interval * 1000))))
        let poller = ModelPoller(interval: options.interval, connect: { () throws(RPCClientError) -> any RPCClient in
            try RPCClients.connect(address, timeout: timeout, datagramProtocol: dgram)
        }, notify: { pipe.poke() })
        // Debugger commands may take 20 s on Kamailio (spec debugger §4): own link, long timeout.
        let debugger = ModelDebuggerRunner(interval: 1, connect: { () throws(RPCClientError) -> any RPCClient in
            try RPCClients.connect(address, timeout: .seconds(25), datagramProtocol: dgram)
        }, notify: { pipe.poke() })

        let params = ModelParamsRunner(interval: 2, connect: { () throws(RPCClientError) -> any RPCClient in
            try RPCClients.connect(address, timeout: .seconds(10), datagramProtocol: dgram)
        }, notify: { pipe.poke() })

        // Before any thread starts, so every thread inherits the unblocked mask.
        TerminalSignals.unblockInteractiveSignals()
        // Ctrl-C, SIGTERM and SIGHUP end the loop cleanly (terminal restored by `close`):
        // the handler only sets a flag and pokes the pipe, both async-signal-safe.
        appSignalWakeFD.store(pipe.writeFD, ordering: .relaxed)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { _ in
                appSignalStop.store(true, ordering: .relaxed)
                var b: UInt8 = 2
                _ = write(appSignalWakeFD.load(ordering: .relaxed), &b, 1)
            }
        }

        let screen: TerminalScreen
        do {
            screen = try TerminalScreen(noColor: options.noColor)
        } catch {
            AppOutput.error("kamcon: \(error.message)")
            return 1
        }
        defer { screen.close() }
        let glyphs = screen.utf8 ? ViewGlyphs.unicode : ViewGlyphs.ascii
        var state = AppState(interval: options.interval, historyFile: options.historyFile)
        state.screen = options.startScreen
        poller.setWanted(state.screen.listKind)
        poller.start()
        defer { poller.stop() }
        debugger.start()
        defer { debugger.stop() }
        params.start()
        defer { params.stop() }
        var lastGeneration = -1
        while true {
            pipe.drain()
            if appSignalStop.load(ordering: .relaxed) { return 0 }
            let now = ModelClock.now()
            var live = poller.snapshot
            live.debugger = debugger.snapshot
            live.params = params.snapshot
            while let key = screen.readKey() {
                if key == .resize {
                    screen.invalidate()
                    continue
                }
                for effect in state.handle(key, live: live, now: now) {
                    switch effect {
                    case .quit: return 0
                    case .call(let r): poller.enqueue(r)
                    case .interval(let i): poller.interval = i
                    case .pollNow: poller.pollSoon()
                    case .debugger(let c): debugger.enqueue(c)
                    case .params(let c): params.enqueue(c)
                    }
                }
            }
            for reply in poller.takeReplies() {
                for effect in state.receive(reply, now: now) {
                    if case .pollNow = effect { poller.pollSoon() }
                }
            }
            poller.setWanted(state.screen.listKind)
            debugger.setActive(state.screen == .debugger)
            params.setActive(state.screen == .params)
            debugger.setWatches(state.debugger.watches)
            state.debugger.sync(live.debugger)
            let shown = state.shown(live)
            if live.generation != lastGeneration {
                lastGeneration = live.generation
                state.reanchor(shown, now: now)
            }
            let context = ViewContext(snapshot: shown, now: state.pausedAt ?? now, glyphs: glyphs, address: address.description,
                                      interval: state.interval, paused: state.paused)
            let (canvas, page) = ViewFrame.draw(width: screen.width, height: screen.height, state: state, context: context)
            state.pageSize = page
            if state.screen == .debugger { state.debugger.rows = page }
            if state.screen == .params { state.params.page = page }
            state.width = screen.width
            screen.present(canvas)
            // Wake at the next whole second so clocks and countdowns tick evenly.
            let ms = Int32(max(20, (1.0 - ModelClock.now().truncatingRemainder(dividingBy: 1.0)) * 1000))
            pipe.wait(milliseconds: ms)
        }
    }
}
