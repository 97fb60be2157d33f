#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Milliseconds on the monotonic clock: transaction timers must not jump with the wall clock.
public func tmNowMilliseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
}

/// One pending timer: which transaction, which timer, which branch (-1: the server side).
public struct TMTimerEntry: Sendable, Equatable {
    /// When it is due (monotonic milliseconds).
    public var due: UInt64
    /// The transaction's id in the table.
    public var cell: UInt64
    /// Which RFC 3261 timer.
    public var kind: TMTimerKind
    /// Branch index, or -1 for the server transaction.
    public var branch: Int
}

/// Who gets the due timers of a `TMTimerQueue`.
public protocol TMTimerHandler: AnyObject, Sendable {
    /// One timer is due (called on the timer thread).
    func timerFired(_ entry: TMTimerEntry)
}

/// A min-heap of timers served by one thread (architecture.md: tm owns retransmissions
/// and timeouts on the timer thread). Entries are never cancelled: a transaction that
/// no longer needs a timer ignores it when it fires (the state machines check their
/// state and deadlines), which keeps scheduling a cheap push under one short lock.
public final class TMTimerQueue: Sendable {
    private let heap = Mutex<[TMTimerEntry]>([])
    private let running = Atomic<Bool>(false)
    /// Held weakly: the owner holds the queue. A protocol reference, not a closure in the
    /// Mutex: reading a closure back through `withLock`'s inout re-wraps it in a
    /// reabstraction thunk each time, a chain that grows with every tick.
    private struct Target: Sendable {
        weak var handler: (any TMTimerHandler)?
    }

    private let target = Mutex(Target())

    private let autoStart: Bool

    /// Creates a queue; due entries go to the handler set with `setHandler`. With
    /// `autoStart` the first `schedule` starts the timer thread; without it the owner
    /// drives the queue with `fireDue` (tests with a made-up clock).
    public init(autoStart: Bool = true) {
        self.autoStart = autoStart
    }

    /// Sets where due entries go (called once, before `start`).
    public func setHandler(_ h: any TMTimerHandler) {
        target.withLock { $0.handler = h }
    }

    /// Adds an entry; the first one starts the timer thread.
    public func schedule(_ e: TMTimerEntry) {
        if autoStart, !running.load(ordering: .relaxed) { start() }
        heap.withLock { h in
            h.append(e)
            var i = h.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if h[p].due <= h[i].due { break }
                h.swapAt(p, i)
                i = p
            }
        }
    }

    /// Number of pending entries (statistics, tests).
    public var count: Int { heap.withLock { $0.count } }

    /// Idle ticks: drops the entries `keep` rejects (those of transactions already gone,
    /// which would otherwise sit here until they fire, up to max_inv_lifetime later) and
    /// lets go of the spare capacity. `keep` runs under the queue's lock: it may take a
    /// tm bucket lock (never held while scheduling), nothing else.
    public func compact(keep: (TMTimerEntry) -> Bool) {
        heap.withLock { h in
            guard h.capacity > h.count || !h.isEmpty else { return }
            var live = h.filter(keep)
            // ascending by due is a valid min-heap
            live.sort { $0.due < $1.due }
            h = live.isEmpty ? [] : live
        }
    }

    /// Removes and returns every entry due at `now`, earliest first.
    public func takeDue(now: UInt64) -> [TMTimerEntry] {
        heap.withLock { h in
            var out: [TMTimerEntry] = []
            while let first = h.first, first.due <= now {
                out.append(first)
                let last = h.removeLast()
                if h.isEmpty { break }
                h[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < h.count, h[l].due < h[m].due { m = l }
                    if r < h.count, h[r].due < h[m].due { m = r }
                    if m == i { break }
                    h.swapAt(i, m)
                    i = m
                }
            }
            return out
        }
    }

    /// Fires every entry due at `now` (tests call this with a made-up clock).
    public func fireDue(now: UInt64) {
        let due = takeDue(now: now)
        guard !due.isEmpty, let h = target.withLock({ $0.handler }) else { return }
        for e in due { h.timerFired(e) }
    }

    /// When the earliest entry is due (nil: none).
    public var nextDue: UInt64? { heap.withLock { $0.first?.due } }

    /// Starts the timer thread once; it sleeps until the earliest entry is due, at least
    /// 25 ms and at most 50 ms, far under T1 and cheap when idle.
    public func start() {
        guard running.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        let box = Unmanaged.passRetained(self)
        var tid = pthread_t()
        let ok = pthread_create(&tid, nil, { raw in
            guard let raw else { return nil }
            let q = Unmanaged<TMTimerQueue>.fromOpaque(raw).takeRetainedValue()
            q.loop()
            return nil
        }, box.toOpaque())
        if ok != 0 {
            box.release()
            running.store(false, ordering: .relaxed)
        } else {
            pthread_detach(tid)
        }
    }

    /// Stops the timer thread after its current tick.
    public func stop() { running.store(false, ordering: .relaxed) }

    private func loop() {
        while running.load(ordering: .relaxed) {
            fireDue(now: tmNowMilliseconds())
            // An entry added meanwhile waits at most 50 ms more: every timer of RFC 3261
            // is 500 ms (T1) or longer, and Kamailio's own timer ticks are 62.5 ms. Under
            // load something is always due soon; the 25 ms floor keeps that to 40
            // wake-ups a second (it was 100 with a 10 ms floor).
            let now = tmNowMilliseconds()
            let wait = nextDue.map { $0 > now ? $0 - now : 0 } ?? 50
            usleep(useconds_t(min(max(wait, 25), 50) * 1000))
        }
    }
}
