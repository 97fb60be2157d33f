#if canImport(Glibc)
import Glibc
#endif
import ScriptEngine
import Synchronization

/// A command from the control side to a parked worker.
enum DebuggerCommand: Sendable {
    case show, eval(String, ScriptCompiledExpression), log(String, ScriptCompiledExpression), msg, whereAmI
    case next, over, out
    case move
    /// Let it run on without touching its bits (`off`, `keep` and auto-release use it).
    case resume

    /// Kamailio's `in.cmd` code (3 next, 4 move, 5 show, 6 eval, 7 log); ours above 7.
    var code: Int {
        switch self {
        case .next: 3
        case .move, .resume: 4
        case .show: 5
        case .eval: 6
        case .log: 7
        case .over: 8
        case .out: 9
        case .msg: 10
        case .whereAmI: 11
        }
    }
}

/// A worker's answer: text, a structured value (`where`), or a fault.
enum DebuggerReply: Sendable {
    case text(String)
    /// A step's answer, given once the worker stopped again or its run ended, so the
    /// client's next `show` finds it stopped (Kamailio's 20 s wait hid that race).
    case afterStop(String)
    case fields([(String, DebuggerField)])
    case fault(String)
}

/// A field of a structured reply.
enum DebuggerField: Sendable {
    case int(Int)
    case string(String)
    case strings([String])
}

/// Where a parked worker stands (what `dbg.ls` adds and `show` describes).
struct DebuggerPosition: Sendable {
    var file: String
    var line: Int
    var column: Int
    var code: Int
    var name: String
    var route: String
}

/// Stepping that continues after the worker answered: where to stop next.
enum DebuggerStep: Equatable, Sendable {
    case none
    /// Stop at the next action anywhere (`next`, `into`).
    case into
    /// Stop at the next action whose frame depth is at most `depth` (`over`).
    case over(depth: Int)
    /// Stop at the next action whose frame depth is below `depth` (`out`).
    case out(depth: Int)
    /// Stop at the next action run without a shared lock held, in this message only
    /// (a breakpoint reached under a lock).
    case afterLock
}

/// One worker's debugger record (Kamailio's per-process entry) and its mailbox.
///
/// `set` is atomic because the worker reads it on every action; everything else is
/// guarded by `mutex`, with `cond` waking the parked worker (a command came) and the
/// control thread (an answer came). Neither side ever holds the mutex while running
/// script code, so a control client never waits behind a running message.
final class DebuggerSlot: @unchecked Sendable {
    /// Worker index.
    let worker: Int
    /// Bit 1 trace, bit 2 breakpoint (Kamailio's `set`).
    let set: Atomic<Int>
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    // Guarded by `mutex`.
    private var stateValue = 0
    private var inPid = 0
    private var inCmd = 0
    private var positionValue: DebuggerPosition?
    private var command: DebuggerCommand?
    private var reply: DebuggerReply?
    private var waiting = false
    /// A step's answer held until the worker stops again or its run ends.
    private var deferredReply: DebuggerReply?
    /// The worker's hook, made and used on the worker's own thread only.
    private var hookObject: DebuggerHook?
    /// Bumped by `off`, `release` and `move`: a worker that is stepping but not parked
    /// drops its stepping when it sees the change.
    let stepResets = Atomic<Int>(0)

    init(worker: Int, set: Int) {
        self.worker = worker
        self.set = Atomic(set)
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Waits on the condition until `deadline` (monotonic ns); mutex held by the caller.
    private func wait(until deadline: UInt64) {
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        _ = pthread_cond_timedwait(cond, mutex, &ts)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    // MARK: - Read by dbg.ls

    /// (state, in.pid, in.cmd, position) at this moment.
    var snapshot: (state: Int, inPid: Int, inCmd: Int, position: DebuggerPosition?) {
        locked { (stateValue, inPid, inCmd, stateValue != 0 ? positionValue : nil) }
    }

    /// True while parked.
    var isStopped: Bool { locked { stateValue != 0 } }

    /// The worker's hook (call on the worker's thread).
    func hook(engine: DebuggerEngine, pid: Int) -> DebuggerHook {
        if let h = hookObject { return h }
        let h = DebuggerHook(engine: engine, slot: self, pid: pid)
        hookObject = h
        return h
    }

    // MARK: - Worker side

    /// Parks the worker: publishes its position and state, then hands every command to
    /// `handle` (called without the mutex) until one lets it go, or until `timeout`
    /// nanoseconds pass with no command (nil: never). Returns the command that released
    /// it, or nil after the timeout.
    func park(at position: DebuggerPosition, state: Int, timeout: UInt64?, poll: UInt64,
              handle: (DebuggerCommand) -> (reply: DebuggerReply?, release: Bool)) -> DebuggerCommand? {
        pthread_mutex_lock(mutex)
        positionValue = position
        stateValue = state
        postDeferred()
        var lastActivity = Self.now()
        while true {
            while command == nil {
                let now = Self.now()
                if let timeout, now >= lastActivity &+ timeout {
                    stateValue = 0
                    positionValue = nil
                    pthread_mutex_unlock(mutex)
                    return nil
                }
                var until = now &+ poll
                if let timeout { until = min(until, lastActivity &+ timeout) }
                wait(until: until)
            }
            guard let c = command else { continue }
            pthread_mutex_unlock(mutex)
            let (answer, release) = handle(c)
            pthread_mutex_lock(mutex)
            command = nil
            if case .afterStop(let text) = answer {
                deferredReply = .text(text)
                reply = nil
            } else {
                reply = answer
            }
            inCmd = answer == nil ? 0 : 2
            lastActivity = Self.now()
            if release {
                stateValue = 0
                positionValue = nil
            }
            pthread_cond_broadcast(cond)
            if release {
                pthread_mutex_unlock(mutex)
                return c
            }
        }
    }

    /// Hands a held step answer to the waiting control side (mutex held).
    private func postDeferred() {
        guard let d = deferredReply else { return }
        deferredReply = nil
        reply = d
        pthread_cond_broadcast(cond)
    }

    /// The worker's top-level run ended: a held step answer goes out now.
    func runEnded() {
        locked { postDeferred() }
    }

    // MARK: - Control side

    /// Why a command was not delivered.
    enum SendError: Error { case notStopped, busy, noAnswer }

    /// Gives a parked worker `command`; with `wait`, waits up to `timeout` ns for its
    /// answer. Never blocks while the worker runs script code other than for the answer.
    func send(_ c: DebuggerCommand, from caller: Int, wait: Bool, timeout: UInt64) -> Result<DebuggerReply?, SendError> {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard stateValue != 0 else { return .failure(.notStopped) }
        guard command == nil, !waiting else { return .failure(.busy) }
        command = c
        reply = nil
        inPid = caller
        inCmd = c.code
        pthread_cond_broadcast(cond)
        guard wait else { return .success(nil) }
        waiting = true
        defer { waiting = false }
        let deadline = Self.now() &+ timeout
        while reply == nil {
            if Self.now() >= deadline {
                if command != nil { command = nil }
                return .failure(.noAnswer)
            }
            self.wait(until: deadline)
        }
        let r = reply
        reply = nil
        inCmd = 0
        return .success(r)
    }
}
