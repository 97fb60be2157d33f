import Foundation
import Shared
import Synchronization

/// Polls the daemon on a background thread and publishes `ServerSnapshot`s.
///
/// The RPC client is not thread-safe, so it lives on the poller's thread only; the UI
/// talks to the poller through a mutex-protected mailbox (what to poll, calls to make) and
/// is told about new data through `notify` (the UI loop's wake pipe). Nothing here draws.
final class ModelPoller: Sendable {
    /// Opens a client; injectable so tests can use an in-process fake.
    typealias Connect = @Sendable () throws(RPCClientError) -> any RPCClient

    private struct Mailbox: Sendable {
        var snapshot: ServerSnapshot
        var want: ModelListKind = .none
        var interval: Double
        var requests: [PollerRequest] = []
        var replies: [PollerReply] = []
        var stopped = false
        var pollNow = false
    }

    private let mailbox: Mutex<Mailbox>
    private let wake = DispatchSemaphore(value: 0)
    private let connect: Connect
    private let notify: @Sendable () -> Void

    /// A poller for `connect`, polling every `interval` seconds, calling `notify` after each publish.
    init(interval: Double, connect: @escaping Connect, notify: @escaping @Sendable () -> Void) {
        mailbox = Mutex(Mailbox(snapshot: ServerSnapshot(now: ModelClock.now()), interval: interval))
        self.connect = connect
        self.notify = notify
    }

    /// Starts the background thread.
    func start() {
        let thread = Thread { [self] in
            let worker = ModelPollerWorker(connect: connect)
            run(worker)
        }
        thread.name = "kamcon-poller"
        thread.start()
    }

    /// Asks the thread to finish after its current call.
    func stop() {
        mailbox.withLock { $0.stopped = true }
        wake.signal()
    }

    /// The latest snapshot.
    var snapshot: ServerSnapshot { mailbox.withLock { $0.snapshot } }

    /// Replies to UI calls that arrived since the last time this was asked.
    func takeReplies() -> [PollerReply] {
        mailbox.withLock { m in
            let r = m.replies
            m.replies = []
            return r
        }
    }

    /// Which list to poll; a change polls at once so a screen switch shows data quickly.
    func setWanted(_ kind: ModelListKind) {
        let changed = mailbox.withLock { m in
            let c = m.want != kind
            m.want = kind
            if c { m.pollNow = true }
            return c
        }
        if changed { wake.signal() }
    }

    /// Refresh interval in seconds.
    var interval: Double {
        get { mailbox.withLock { $0.interval } }
        set { mailbox.withLock { $0.interval = max(0.2, newValue) } }
    }

    /// Queues a call; the reply comes back through `takeReplies`.
    func enqueue(_ request: PollerRequest) {
        mailbox.withLock { $0.requests.append(request) }
        wake.signal()
    }

    /// Polls again as soon as possible (after an action changed server state).
    func pollSoon() {
        mailbox.withLock { $0.pollNow = true }
        wake.signal()
    }

    private func run(_ worker: ModelPollerWorker) {
        var nextPoll = 0.0
        while true {
            let (stopped, requests, want, interval, pollNow) = mailbox.withLock { m in
                let r = m.requests
                m.requests = []
                let p = m.pollNow
                m.pollNow = false
                return (m.stopped, r, m.want, m.interval, p)
            }
            if stopped { return }
            var snap = mailbox.withLock { $0.snapshot }
            var replies: [PollerReply] = []
            for r in requests { replies.append(worker.call(r, snapshot: &snap)) }
            let now = ModelClock.now()
            var polled = false
            if pollNow || now >= nextPoll || (snap.connection.phase != .connected && snap.connection.shouldAttempt(at: now)) {
                worker.poll(&snap, want: want, now: now)
                nextPoll = now + interval
                polled = true
            }
            if polled || !replies.isEmpty {
                snap.generation += 1
                mailbox.withLock { m in
                    m.snapshot = snap
                    m.replies += replies
                }
                notify()
            }
            var wait = nextPoll - ModelClock.now()
            if snap.connection.phase != .connected {
                wait = min(wait, max(0.05, snap.connection.nextAttempt - ModelClock.now()))
            }
            _ = wake.wait(timeout: .now() + max(0.01, wait))
        }
    }
}
