#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fixed set of threads that run jobs to completion (the Kamailio worker model), fed
/// through a bounded queue.
///
/// Jobs are grouped in lanes (a stream connection's id): a lane runs on one worker at a
/// time, in submission order, so pipelined requests of a connection reach the routing
/// script in the order they were sent, while different connections spread over all
/// workers. When `capacity` jobs are waiting, `submit` refuses; the caller stops reading
/// and is told through `onSpace` when to try again, so memory stays bounded.
final class TransportWorkerPool<Job: Sendable>: @unchecked Sendable {
    // @unchecked: every mutable field below is read and written only while `mutex` is held
    // (a pthread mutex, because the condition variable needs one).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>
    private var lanes: [UInt64: TransportRing<Job>] = [:]
    private var ready = TransportRing<UInt64>()
    private var pending = 0
    private var stopping = false
    private var spaceWanted = false
    private var threads: [TransportThread] = []

    /// Most jobs waiting at once.
    let capacity: Int
    private let run: @Sendable (Job, Int) -> Void
    private let onSpace: @Sendable () -> Void

    /// `run(job, workerIndex)` executes a job; `onSpace` is called (from a worker, without
    /// the lock) after a refused `submit` once the queue has drained to half capacity.
    init(capacity: Int, run: @escaping @Sendable (Job, Int) -> Void, onSpace: @escaping @Sendable () -> Void) {
        self.capacity = max(1, capacity)
        self.run = run
        self.onSpace = onSpace
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    /// Starts `count` workers numbered `firstWorkerIndex...`, each calling `onThreadStart`
    /// with its index first; false if a thread failed.
    func start(count: Int, firstWorkerIndex: Int, onThreadStart: @escaping @Sendable (Int) -> Void = { _ in }) -> Bool {
        var started: [TransportThread] = []
        for i in 0..<max(1, count) {
            let index = firstWorkerIndex + i
            guard let t = TransportThread.spawn(name: "tcp-worker-\(i)", { [self] in
                onThreadStart(index)
                workerLoop(index)
            }) else {
                locked { threads = started }
                return false
            }
            started.append(t)
        }
        locked { threads = started }
        return true
    }

    /// Queues `job` behind earlier jobs of `lane`; false (and `onSpace` later) when full.
    func submit(_ job: Job, lane: UInt64) -> Bool {
        locked {
            guard !stopping else { return false }
            guard pending < capacity else {
                spaceWanted = true
                return false
            }
            pending += 1
            if lanes[lane] != nil {
                // The lane is queued or running; its worker picks this job up afterwards.
                lanes[lane]?.append(job)
            } else {
                var jobs = TransportRing<Job>()
                jobs.append(job)
                lanes[lane] = jobs
                ready.append(lane)
                pthread_cond_signal(cond)
            }
            return true
        }
    }

    /// Jobs waiting or running.
    var pendingCount: Int { locked { pending } }

    /// Wakes all workers, lets running jobs finish, drops queued ones and joins the threads.
    func stop() {
        let joined: [TransportThread] = locked {
            stopping = true
            pthread_cond_broadcast(cond)
            defer { threads = [] }
            return threads
        }
        for t in joined { t.join() }
        locked {
            lanes = [:]
            ready = TransportRing()
            pending = 0
        }
    }

    private func workerLoop(_ workerIndex: Int) {
        pthread_mutex_lock(mutex)
        while true {
            while ready.isEmpty && !stopping { pthread_cond_wait(cond, mutex) }
            if stopping { break }
            guard let lane = ready.popFirst(), let job = lanes[lane]?.popFirst() else { continue }
            pthread_mutex_unlock(mutex)
            run(job, workerIndex)
            pthread_mutex_lock(mutex)
            pending -= 1
            if lanes[lane]?.isEmpty ?? true {
                lanes[lane] = nil
            } else {
                ready.append(lane)
            }
            if spaceWanted && pending <= capacity / 2 {
                spaceWanted = false
                pthread_mutex_unlock(mutex)
                onSpace()
                pthread_mutex_lock(mutex)
            }
        }
        pthread_mutex_unlock(mutex)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}

/// A growable FIFO ring buffer; `Array.removeFirst` would be O(n) per job.
struct TransportRing<Element> {
    private var storage: [Element?] = []
    private var head = 0
    /// Number of elements.
    private(set) var count = 0

    /// True when empty.
    var isEmpty: Bool { count == 0 }

    /// Adds at the tail, doubling the storage when full.
    mutating func append(_ e: Element) {
        if count == storage.count {
            var grown = [Element?](repeating: nil, count: max(8, storage.count * 2))
            for i in 0..<count { grown[i] = storage[(head + i) % storage.count] }
            storage = grown
            head = 0
        }
        storage[(head + count) % storage.count] = e
        count += 1
    }

    /// Removes from the head.
    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return e
    }
}
