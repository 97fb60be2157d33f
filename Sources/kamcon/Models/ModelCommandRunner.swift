import Foundation
import Synchronization

/// What a `ModelCommandRunner` drives on its thread: commands and polls over a private
/// connection, with the state to publish after each.
protocol ModelRunnerWorker: AnyObject {
    associatedtype Snapshot: Sendable
    associatedtype Command: Sendable
    /// The state the UI is shown.
    var published: Snapshot { get }
    /// Marks a command as started (published before it runs, so the UI can say "working…").
    func begin(_ command: Command)
    /// Runs one command.
    func run(_ command: Command)
    /// Reads the server's state.
    func poll(now: Double)
}

/// A thread with a mailbox: the UI posts commands and reads the latest snapshot; the
/// thread runs the commands and polls every `interval` seconds while `active`, calling
/// `notify` (the UI's wake pipe) after each publication. Nothing here draws.
final class ModelCommandRunner<Worker: ModelRunnerWorker>: Sendable {
    private struct Mailbox: Sendable {
        var snapshot: Worker.Snapshot
        var active = false
        var commands: [Worker.Command] = []
        var stopped = false
    }

    private let mailbox: Mutex<Mailbox>
    private let wake = DispatchSemaphore(value: 0)
    private let makeWorker: @Sendable () -> Worker
    private let notify: @Sendable () -> Void
    private let interval: Double
    private let name: String

    /// A runner named `name` (the thread's name) starting from `initial`.
    init(name: String, initial: Worker.Snapshot, interval: Double, worker: @escaping @Sendable () -> Worker,
         notify: @escaping @Sendable () -> Void) {
        mailbox = Mutex(Mailbox(snapshot: initial))
        self.name = name
        self.interval = interval
        makeWorker = worker
        self.notify = notify
    }

    /// Starts the thread.
    func start() {
        Thread.detachNewThread { [self] in
            Thread.current.name = name
            run()
        }
    }

    /// Ends the thread after its current call.
    func stop() {
        mailbox.withLock { $0.stopped = true }
        wake.signal()
    }

    /// The latest published state.
    var snapshot: Worker.Snapshot { mailbox.withLock { $0.snapshot } }

    /// Polls only while active; turning on polls at once.
    func setActive(_ on: Bool) {
        let changed = mailbox.withLock { m in
            let c = m.active != on
            m.active = on
            return c
        }
        if changed && on { wake.signal() }
    }

    /// Queues a command.
    func enqueue(_ command: Worker.Command) {
        mailbox.withLock { $0.commands.append(command) }
        wake.signal()
    }

    private func publish(_ worker: Worker) {
        let snap = worker.published
        mailbox.withLock { $0.snapshot = snap }
        notify()
    }

    private func run() {
        let worker = makeWorker()
        var nextPoll = 0.0
        while true {
            let (stopped, commands, active) = mailbox.withLock { m in
                let c = m.commands
                m.commands = []
                return (m.stopped, c, m.active)
            }
            if stopped { return }
            for c in commands {
                worker.begin(c)
                publish(worker)
                worker.run(c)
                publish(worker)
            }
            let now = ModelClock.now()
            if active && (now >= nextPoll || !commands.isEmpty) {
                worker.poll(now: now)
                publish(worker)
                nextPoll = ModelClock.now() + interval
            }
            _ = wake.wait(timeout: .now() + max(0.05, active ? nextPoll - ModelClock.now() : 3600))
        }
    }
}
