#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The Linux thread id and pthread handle of each worker thread, recorded by the thread
/// itself when it starts. Kamailio's process table shows one pid per worker; ours are
/// threads, so `core.psx` and the debugger (`dbg.ls`, `dbg.bp ... <pid>`) show the
/// worker's thread id instead, which is unique and what `top -H` and `/proc` show.
public final class TransportThreadIdentities: Sendable {
    /// One worker thread.
    public struct Identity: Sendable, Equatable {
        /// Kernel thread id (`/proc/<pid>/task/<tid>`).
        public var tid: Int
        /// `pthread_self()` of the thread: cheap to compare against on the hot path.
        public var thread: UInt
    }

    private let table: Mutex<[Identity?]>

    /// Room for `count` workers.
    init(count: Int) {
        table = Mutex(Array(repeating: nil, count: max(count, 0)))
    }

    /// Called on the worker thread before it takes traffic.
    func recordCurrentThread(worker: Int) {
        let id = Identity(tid: Self.currentTID(), thread: UInt(pthread_self()))
        table.withLock { t in
            if worker >= 0 && worker < t.count { t[worker] = id }
        }
    }

    /// The worker's identity, once its thread has started.
    public func identity(worker: Int) -> Identity? {
        table.withLock { t in worker >= 0 && worker < t.count ? t[worker] : nil }
    }

    /// All workers, by worker index (nil for one not started yet).
    public var all: [Identity?] { table.withLock { $0 } }

    /// `pthread_self()` of the calling thread, comparable with `Identity.thread`.
    public static var currentThread: UInt { UInt(pthread_self()) }

    /// The calling thread's kernel id, read from `/proc/thread-self` (`<pid>/task/<tid>`),
    /// since Swift does not see Glibc's `gettid`. Falls back to the process id.
    public static func currentTID() -> Int {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
        guard n > 0 else { return Int(getpid()) }
        let text = buffer.prefix(n).map { UInt8(bitPattern: $0) }
        guard let slash = text.lastIndex(of: UInt8(ascii: "/")),
              let tid = Int(String(decoding: text[(slash + 1)...], as: UTF8.self)) else { return Int(getpid()) }
        return tid
    }
}
