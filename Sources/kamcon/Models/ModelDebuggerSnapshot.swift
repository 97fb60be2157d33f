/// What the debugger knows about one parked worker.
struct DebuggerStop: Equatable, Sendable {
    /// Where it stands (from `show`); nil while it does not answer (Kamailio: a worker in
    /// state 2 that finished its message answers nothing until its next action, spec §6.3).
    var position: DebuggerPosition?
    /// The action the last step executed (`exec [...]`).
    var lastExec: DebuggerPosition?
    /// Watch expression → value (or the error text) at this stop.
    var watches: [String: DebuggerWatchResult] = [:]
    /// Values at the previous stop of this worker, to mark what changed.
    var previous: [String: DebuggerWatchResult] = [:]
    /// The SIP message being processed (kamailiod `msg`; Kamailio `$mb`).
    var message: String?
    /// Number of stops seen for this worker (a step makes a new one).
    var serial = 0
}

/// A watch's outcome at one stop.
enum DebuggerWatchResult: Equatable, Sendable {
    /// Evaluated.
    case value(DebuggerValue)
    /// Fault or no answer.
    case failed(String)

    /// Text for the watch pane.
    var display: String {
        switch self {
        case .value(let v): return v.display
        case .failed(let why): return "? \(why)"
        }
    }
}

/// A line of the debugger's console (command results, eval answers, faults).
struct DebuggerLogLine: Equatable, Sendable {
    /// Text.
    var text: String
    /// How it reads.
    var role: CanvasRole
}

/// Everything the debugger screen shows, published by `ModelDebuggerRunner`.
struct DebuggerSnapshot: Equatable, Sendable {
    /// Which debugger the server has.
    var flavor: DebuggerFlavor = .unknown
    /// Why the debugger link is down, if it is.
    var error: String?
    /// Script processes with their debugger state.
    var workers: [DebuggerWorker] = []
    /// Line breakpoints (kamailiod).
    var breakpoints: [DebuggerBreakpoint] = []
    /// Parked workers by pid.
    var stops: [Int: DebuggerStop] = [:]
    /// Script sources by file name; "" is kamailiod's main file before its name is known.
    var sources: [String: [String]] = [:]
    /// Why a source could not be shown, by file name.
    var sourceErrors: [String: String] = [:]
    /// The main script file, once learnt (kamailiod `bp_add` reply or a stop).
    var mainFile: String?
    /// The command in flight and when it started (the screen shows "waiting…").
    var busy: DebuggerBusy?
    /// Recent results, newest last.
    var log: [DebuggerLogLine] = []
    /// The breakpoint bit was set by us and the first stop has not been released yet.
    var releasePending = false
    /// Increases with every publish.
    var generation = 0

    /// The workers parked in the debugger.
    var stoppedWorkers: [DebuggerWorker] { workers.filter(\.stopped) }

    /// Any worker has its breakpoint bit set.
    var armed: Bool { workers.contains(where: \.armed) }

    /// Adds a console line, keeping the last 200.
    mutating func note(_ text: String, _ role: CanvasRole = .normal) {
        log.append(DebuggerLogLine(text: text, role: role))
        if log.count > 200 { log.removeFirst(log.count - 200) }
    }
}

/// A command in flight.
struct DebuggerBusy: Equatable, Sendable {
    /// What is being waited for (`dbg.bp next 5670`).
    var what: String
    /// When it started (epoch seconds).
    var since: Double
}

/// How to step.
enum DebuggerStepKind: String, Equatable, Sendable {
    /// Run the current action including any route it calls (kamailiod `over`; Kamailio `next`).
    case over
    /// Stop at the very next action, inside a called route too (`next`).
    case into
    /// Run until the current route returns (kamailiod `out`).
    case out
}

/// A debugger operation the UI asks the runner to perform.
enum DebuggerCommand: Equatable, Sendable {
    /// Step the worker.
    case step(pid: Int, kind: DebuggerStepKind)
    /// Let the worker run to the end of its message (`move`).
    case resume(pid: Int)
    /// Set the breakpoint bit everywhere (`dbg.bp on`); the first stop releases the others.
    case arm
    /// Clear the bit everywhere and let parked workers go (spec §9 step 5).
    case disarm
    /// Add or remove the line breakpoint at `file:line` (kamailiod); nil file = main file.
    case toggleBreakpoint(file: String?, line: Int)
    /// Evaluate an expression in the worker's context.
    case eval(pid: Int, expression: String)
    /// Ask where the worker stands again and re-evaluate the watches.
    case look(pid: Int)
    /// Fetch a script file's text.
    case source(file: String?)
}
