import Foundation
import Shared

/// Runs the debugger's calls on a thread of its own, with its own connection.
///
/// Separate from `ModelPoller` because a debugger command can block for up to 20 s on
/// Kamailio (spec §4) and needs a client with a long timeout; the UI only posts commands
/// and reads the published `DebuggerSnapshot`, so keys keep working and the screen shows
/// "waiting…" meanwhile. It polls only while the Debugger screen is visible.
typealias ModelDebuggerRunner = ModelCommandRunner<ModelDebuggerWorker>

extension ModelCommandRunner where Worker == ModelDebuggerWorker {
    /// A runner polling every `interval` seconds while active.
    convenience init(interval: Double, connect: @escaping ModelPoller.Connect,
                     readFile: @escaping @Sendable (String) -> [String]? = ModelDebuggerRunner.localLines,
                     notify: @escaping @Sendable () -> Void) {
        self.init(name: "kamcon-debugger", initial: DebuggerSnapshot(), interval: interval,
                  worker: { ModelDebuggerWorker(connect: connect, readFile: readFile, publish: $0) }, notify: notify)
    }

    /// Reads a local text file as lines.
    static func localLines(_ path: String) -> [String]? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// The watch list to evaluate at each stop.
    func setWatches(_ watches: [String]) { setSettings(watches) }
}

/// How the runner drives the debugger worker: its settings are the watch list.
extension ModelDebuggerWorker: ModelRunnerWorker {
    func run(_ command: DebuggerCommand) { perform(command, now: ModelClock.now()) }

    func apply(_ watches: [String]) { self.watches = watches }
}
