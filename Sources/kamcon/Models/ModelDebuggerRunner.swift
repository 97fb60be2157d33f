import Foundation
import Shared
import Synchronization

/// Runs the debugger's calls on a thread of its own, with its own connection.
///
/// Separate from `ModelPoller` because a debugger command can block for up to 20 s on
/// Kamailio (spec §4) and needs a client with a long timeout; the UI only posts commands
/// and reads the published `DebuggerSnapshot`, so keys keep working and the screen shows
/// "waiting…" meanwhile. It polls only while the Debugger screen is visible.
final class ModelDebuggerRunner: Sendable {
    private struct Mailbox: Sendable {
        var snapshot = DebuggerSnapshot()
        var active = false
        var commands: [DebuggerCommand] = []
        var watches: [String] = []
        var stopped = false
    }

    private let mailbox = Mutex(Mailbox())
    private let wake = DispatchSemaphore(value: 0)
    private let connect: ModelPoller.Connect
    private let readFile: @Sendable (String) -> [String]?
    private let notify: @Sendable () -> Void
    private let interval: Double

    /// A runner polling every `interval` seconds while active.
    init(interval: Double, connect: @escaping ModelPoller.Connect,
         readFile: @escaping @Sendable (String) -> [String]? = ModelDebuggerRunner.localLines,
         notify: @escaping @Sendable () -> Void) {
        self.interval = interval
        self.connect = connect
        self.readFile = readFile
        self.notify = notify
    }

    /// Reads a local text file as lines.
    static func localLines(_ path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// Starts the thread; `stop` ends it after its current call.
    func start() {
        Thread.detachNewThread { [self] in
            Thread.current.name = "kamcon-debugger"
            run()
        }
    }

    /// Ends the thread after its current call.
    func stop() { enqueueStop() }

    private func enqueueStop() {
        mailbox.withLock { $0.stopped = true }
        wake.signal()
    }

    /// The latest published state.
    var snapshot: DebuggerSnapshot { mailbox.withLock { $0.snapshot } }

    /// Polls only while the Debugger screen is shown; turning on polls at once.
    func setActive(_ on: Bool) {
        let changed = mailbox.withLock { m in
            let c = m.active != on
            m.active = on
            return c
        }
        if changed && on { wake.signal() }
    }

    /// Queues a command.
    func enqueue(_ command: DebuggerCommand) {
        mailbox.withLock { $0.commands.append(command) }
        wake.signal()
    }

    /// The watch list to evaluate at each stop.
    func setWatches(_ watches: [String]) {
        mailbox.withLock { $0.watches = watches }
    }

    private func publish(_ snap: DebuggerSnapshot) {
        mailbox.withLock { m in
            let generation = m.snapshot.generation &+ 1
            m.snapshot = snap
            m.snapshot.generation = generation
        }
        notify()
    }

    private func run() {
        let worker = ModelDebuggerWorker(connect: connect, readFile: readFile) { [self] in publish($0) }
        var nextPoll = 0.0
        while true {
            let (stopped, commands, active, watches) = mailbox.withLock { m in
                let c = m.commands
                m.commands = []
                return (m.stopped, c, m.active, m.watches)
            }
            if stopped { return }
            worker.watches = watches
            for c in commands {
                worker.perform(c, now: ModelClock.now())
                publish(worker.snap)
            }
            let now = ModelClock.now()
            if active && (now >= nextPoll || !commands.isEmpty) {
                worker.poll(now: now)
                publish(worker.snap)
                nextPoll = ModelClock.now() + interval
            }
            _ = wake.wait(timeout: .now() + max(0.05, active ? nextPoll - ModelClock.now() : 3600))
        }
    }
}
