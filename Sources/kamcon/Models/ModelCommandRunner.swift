import Foundation
import Synchronization

/// What a `ModelCommandRunner` drives on its thread: commands and polls over a private
/// connection, with the state to publish after each.
protocol ModelRunnerWorker: AnyObject, SendableMetatype {
    associatedtype Snapshot: Sendable
    associatedtype Command: Sendable
    /// What the UI hands over between calls (the debugger's watch list); nothing by default.
    associatedtype Settings: Sendable = Void
    /// The state the UI is shown (each read is one publication).
    var published: Snapshot { get }
    /// Runs one command; progress worth showing meanwhile (a "working…" line) goes through
    /// the `publish` the worker was made with, the outcome is published after it.
    func run(_ command: Command)
    /// Reads the server's state.
    func poll(now: Double)
    /// Takes the UI's latest settings (before the next commands and poll).
    func apply(_ settings: Settings)
}

extension ModelRunnerWorker where Settings == Void {
    func apply(_ settings: Void) {}
}

/// A thread with a mailbox: the UI posts commands and reads the latest snapshot; the
/// thread runs the commands and polls every `interval` seconds while `active`, calling
/// `notify` (the UI's wake pipe) after each publication. Nothing here draws.
final class ModelCommandRunner<Worker: ModelRunnerWorker>: Sendable {
    private struct Mailbox: Sendable {
        var snapshot: Worker.Snapshot
        var active = false
        var commands: [Worker.Command] = []
        /// Settings not yet handed to the worker.
        var settings: Worker.Settings?
        var stopped = false
    }

    private let mailbox: Mutex<Mailbox>
    private let wake = DispatchSemaphore(value: 0)
    private let makeWorker: @Sendable (_ publish: @escaping (Worker.Snapshot) -> Void) -> Worker
    private let notify: @Sendable () -> Void
    private let interval: Double
    private let name: String

    /// A runner named `name` (the thread's name) starting from `initial`; `worker` makes
    /// the worker on the thread, given the function that publishes its progress.
    init(name: String, initial: Worker.Snapshot, interval: Double,
         worker: @escaping @Sendable (_ publish: @escaping (Worker.Snapshot) -> Void) -> Worker,
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

    /// Hands `settings` to the worker before its next commands and poll (without waking it).
    func setSettings(_ settings: Worker.Settings) {
        mailbox.withLock { $0.settings = settings }
    }

    private func publish(_ snap: Worker.Snapshot) {
        mailbox.withLock { $0.snapshot = snap }
        notify()
    }

    private func run() {
        let worker = makeWorker { [self] in publish($0) }
        var nextPoll = 0.0
        while true {
            let (stopped, commands, active, settings) = mailbox.withLock { m in
                let c = m.commands
                m.commands = []
                let s = m.settings
                m.settings = nil
                return (m.stopped, c, m.active, s)
            }
            if stopped { return }
            if let settings { worker.apply(settings) }
            for c in commands {
                worker.run(c)
                publish(worker.published)
            }
            let now = ModelClock.now()
            if active && (now >= nextPoll || !commands.isEmpty) {
                worker.poll(now: now)
                publish(worker.published)
                nextPoll = ModelClock.now() + interval
            }
            _ = wake.wait(timeout: .now() + max(0.05, active ? nextPoll - ModelClock.now() : 3600))
        }
    }
}
