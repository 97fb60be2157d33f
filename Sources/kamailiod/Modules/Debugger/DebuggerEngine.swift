import SIPTransport
import ScriptEngine
import Synchronization

/// Settings that can change at run time (modparams first, then cfg `dbg.*`).
final class DebuggerSettings: Sendable {
    /// Level of trace and breakpoint lines (`log_level`, Kamailio's L_ERR by default).
    let logLevel = Atomic<Int>(-1)
    /// µs between mailbox checks of a parked worker (`step_usleep`).
    let stepUsleep = Atomic<Int>(100_000)
    /// Checks the control side makes before giving up (`step_loops`).
    let stepLoops = Atomic<Int>(200)
    /// Seconds a parked worker waits for a command before releasing itself (`bp_timeout`, 0 never).
    let bpTimeout = Atomic<Int>(60)
    /// `reset_msgid`.
    let resetMsgid = Atomic<Int>(0)
    /// `cfgtrace` / `breakpoint`: the bits every worker starts with.
    let initialSet = Atomic<Int>(0)
    /// `mod_hash_size`: 0 disables per-module levels and facilities, as in Kamailio.
    let modHashSize = Atomic<Int>(0)
    /// Texts fixed at start-up: `log_prefix`, `log_level_name`, `log_facility`.
    let texts = Mutex<(prefix: String, levelName: String, facility: String)>(("*** cfgtrace:", "", ""))

    /// How long the control side waits for a worker's answer, in ns.
    var answerTimeout: UInt64 {
        UInt64(max(1, stepLoops.load(ordering: .relaxed))) * UInt64(max(1, stepUsleep.load(ordering: .relaxed))) * 1000
    }
}

/// The debugger's shared state: one slot per SIP worker, the line breakpoints, and the
/// hook provider the script engine asks at the start of every route run.
final class DebuggerEngine: ScriptDebugHookProvider, Sendable {
    let runtime: CoreRuntime
    let settings = DebuggerSettings()
    let breakpoints = DebuggerBreakpoints()
    let levels: ModuleLogLevels
    /// Bits of threads that are not SIP workers (timer, control): trace only, no stops.
    let othersSet = Atomic<Int>(0)
    /// Workers with stepping pending (they must get a hook even when nothing is armed).
    let stepping = Atomic<Int>(0)
    /// True when any bit is set or a line breakpoint exists: the per-run fast check.
    private let armed = Atomic<Bool>(false)
    private let slots = Mutex<[Int: DebuggerSlot]>([:])
    /// The script, set when the module initialises.
    private let scriptRef = Mutex<LoadedScript?>(nil)

    init(runtime: CoreRuntime, levels: ModuleLogLevels) {
        self.runtime = runtime
        self.levels = levels
    }

    var script: LoadedScript? { scriptRef.withLock { $0 } }

    /// The script `cfg.reload_script` switched to: source, breakpoint resolution and `eval`
    /// follow it; worker bits and states stay as they are.
    func replaceScript(_ script: LoadedScript) {
        scriptRef.withLock { $0 = script }
        refreshArmed()
    }

    func attach(_ script: LoadedScript) {
        scriptRef.withLock { $0 = script }
        othersSet.store(settings.initialSet.load(ordering: .relaxed), ordering: .relaxed)
        refreshArmed()
    }

    // MARK: - Workers

    /// The slot of worker `w`, created on first use.
    func slot(worker w: Int) -> DebuggerSlot {
        slots.withLock { s in
            if let existing = s[w] { return existing }
            let slot = DebuggerSlot(worker: w, set: settings.initialSet.load(ordering: .relaxed))
            s[w] = slot
            return slot
        }
    }

    /// The slot of worker `w` if it was created.
    func existingSlot(worker w: Int) -> DebuggerSlot? { slots.withLock { $0[w] } }

    /// Bits of a worker whose slot was not created yet.
    var initialSet: Int { settings.initialSet.load(ordering: .relaxed) }

    /// Recomputes the fast "anything to do" flag after bits or breakpoints changed.
    func refreshArmed() {
        let anyBits = slots.withLock { s in s.values.contains { $0.set.load(ordering: .relaxed) != 0 } }
        let untouched = slots.withLock { $0.count } < (runtime.transport?.workerCount ?? 0)
        let on = anyBits || othersSet.load(ordering: .relaxed) != 0 || !breakpoints.isEmpty
            || (untouched && initialSet != 0)
        armed.store(on, ordering: .releasing)
    }

    // MARK: - Hook provider

    func hook(for context: ScriptContext) -> (any ScriptDebugHook)? {
        guard armed.load(ordering: .relaxed) || stepping.load(ordering: .relaxed) > 0 else { return nil }
        let w = context.worker.worker
        if let id = runtime.transport?.threadIdentities.identity(worker: w),
           id.thread == TransportThreadIdentities.currentThread {
            let slot = slot(worker: w)
            return slot.hook(engine: self, pid: id.tid)
        }
        guard othersSet.load(ordering: .relaxed) != 0 else { return nil }
        return DebuggerHook(engine: self, slot: nil, pid: TransportThreadIdentities.currentTID())
    }

    // MARK: - Logging

    /// Writes a trace or breakpoint line at `log_level` (or at `level` when given).
    func log(_ text: String, level given: CoreLogLevel? = nil) {
        let level = given ?? CoreLogLevel(rawValue: settings.logLevel.load(ordering: .relaxed)) ?? .error
        guard runtime.logEnabled(level) else { return }
        runtime.log(level, "debugger", text)
    }
}
