import CMalloc

/// Gives the heap back to the system once traffic stops. glibc keeps what a burst of
/// calls freed in its per-thread arenas (with our trim threshold, 32 MiB each), so after
/// 100,000 calls the daemon stayed at ~55 MB although every transaction and dialog was
/// gone. `malloc_trim` returns the free pages; it runs only on idle ticks, so it never
/// competes with traffic, and a few times after the last message, because transactions
/// in their wait state and ended dialogs are freed seconds after the last reply.
/// Before each trim the modules drop the spare capacity of their tables: an empty hash
/// bucket's storage, allocated in a worker's arena during the burst, pins its page, and
/// tm's and dialog's 4096 buckets each kept ~36 MB resident after 100,000 calls at 2000/s.
struct DaemonIdleTrim {
    /// Idle ticks after the last message that still trim.
    static let trimsPerQuietPeriod = 3
    private var lastCount = 0
    private var quietTicks = Int.max
    /// What runs before the trim (the modules' `releaseIdleMemory`).
    private let release: () -> Void

    init(release: @escaping () -> Void = {}) { self.release = release }

    /// Called on each tick with the received-message count; true when it trimmed.
    @discardableResult
    mutating func tick(messages: Int) -> Bool {
        defer { lastCount = messages }
        if messages != lastCount {
            quietTicks = 0
            return false
        }
        guard quietTicks < Self.trimsPerQuietPeriod else { return false }
        quietTicks += 1
        release()
        _ = malloc_trim(0)
        return true
    }
}
