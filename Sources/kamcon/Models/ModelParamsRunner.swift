import Foundation
import Shared
import Synchronization

/// What the Parameters screen asks the server to do.
enum ParamsCommand: Sendable, Equatable {
    /// `cfg.seti`/`cfg.sets` (now) or `cfg.set_delayed_int`/`_string` (staged).
    case set(group: String, name: String, value: RPCValue, staged: Bool)
    /// `cfg.commit`.
    case commit
    /// `cfg.rollback`.
    case rollback
    /// `cfg.reload_script [path]` (kamailiod).
    case reload(path: String?)
    /// Read everything again.
    case refresh
}

/// Runs the `cfg.*` calls on a thread of its own with its own connection (over binrpc by
/// default, which always shows the committed value and every staged change), and
/// publishes `ParamsSnapshot`s. It polls values and staged changes only while the screen
/// is visible.
typealias ModelParamsRunner = ModelCommandRunner<ModelParamsWorker>

extension ModelCommandRunner where Worker == ModelParamsWorker {
    /// A runner polling every `interval` seconds while the screen is shown.
    convenience init(interval: Double, connect: @escaping ModelPoller.Connect, notify: @escaping @Sendable () -> Void) {
        self.init(name: "kamcon-params", initial: ParamsSnapshot(), interval: interval,
                  worker: { ModelParamsWorker(connect: connect, publish: $0) }, notify: notify)
    }
}

/// The runner thread's private side: the client and the calls.
final class ModelParamsWorker: ModelRunnerWorker {
    private var link: ModelRPCLink
    private let publish: (ParamsSnapshot) -> Void
    /// What gets published.
    var snap = ParamsSnapshot()

    /// The snapshot with a fresh generation (each publication counts).
    var published: ParamsSnapshot {
        snap.generation &+= 1
        return snap
    }

    /// Shows the command as running.
    private func begin(_ command: ParamsCommand) {
        switch command {
        case .set(let g, let n, let v, let staged): snap.busy = "\(staged ? "staging" : "setting") \(g).\(n) = \(RPCTextRender.scalarText(v))"
        case .commit: snap.busy = "committing"
        case .rollback: snap.busy = "rolling back"
        case .reload(let path): snap.busy = "reloading \(path ?? "the script")"
        case .refresh: snap.busy = "reading the parameters"
        }
    }

    /// Runs a command, published as "working…" first; that goes away with its result.
    func run(_ command: ParamsCommand) {
        begin(command)
        publish(published)
        perform(command)
        snap.busy = nil
    }

    /// A worker opening clients with `connect`, showing a command as running through `publish`.
    init(connect: @escaping ModelPoller.Connect, publish: @escaping (ParamsSnapshot) -> Void = { _ in }) {
        link = ModelRPCLink(connect: connect)
        self.publish = publish
    }

    /// Reads the parameter list once per link, then values and staged changes.
    func poll(now: Double) {
        guard open(now: now) else { return }
        do {
            if snap.entries.isEmpty { try loadEntries() }
            try loadValues()
            snap.staged = ParamsReplies.diff(try call("cfg.diff", []))
        } catch {
            lost(error, now: now)
        }
    }

    /// Runs one command; its outcome becomes the message.
    func perform(_ command: ParamsCommand) {
        guard open(now: ModelClock.now()) else { return }
        do {
            switch command {
            case .set(let g, let n, let value, let staged):
                let isInt: Bool = if case .int = value { true } else { false }
                let method = staged ? (isInt ? "cfg.set_delayed_int" : "cfg.set_delayed_string") : (isInt ? "cfg.seti" : "cfg.sets")
                _ = try call(method, [.string(g), .string(n), value])
                snap.message = (staged ? "staged \(g).\(n) = \(RPCTextRender.scalarText(value)) (c commits, x rolls back)"
                                       : "\(g).\(n) = \(RPCTextRender.scalarText(value))", false)
            case .commit:
                _ = try call("cfg.commit", [])
                snap.message = ("committed", false)
            case .rollback:
                _ = try call("cfg.rollback", [])
                snap.message = ("staged changes dropped", false)
            case .reload(let path):
                let reply = try call("cfg.reload_script", path.map { [.string($0)] } ?? [])
                let fields = ParamsReplies.records(reply).first ?? []
                func f(_ k: String) -> String { fields.first { $0.name == k }.map { RPCTextRender.scalarText($0.value) } ?? "?" }
                snap.message = ("script reloaded from \(f("file")): \(f("routes")) routes, generation \(f("generation"))", false)
            case .refresh:
                snap.entries = []
            }
        } catch {
            if case .fault(let fault) = error {
                snap.message = ("\(fault.code) \(fault.message)", true)
            } else {
                lost(error, now: ModelClock.now())
                snap.message = ("\(error)", true)
            }
        }
    }

    private func loadEntries() throws(RPCClientError) {
        if snap.flavor == .kamailiod {
            snap.entries = ParamsReplies.info(try call("cfg.info", []))
            return
        }
        var entries: [ParamEntry] = []
        for (g, n) in ParamsReplies.list(try call("cfg.list", [])) {
            let none: (description: String, isInt: Bool) = ("", true)
            let help = (try? call("cfg.help", [.string(g), .string(n)])).map(ParamsReplies.help) ?? none
            let k = ParamsReplies.kamailio(g, n)
            entries.append(ParamEntry(group: g, name: n, isInt: help.isInt, range: k.range, description: help.description,
                                      value: nil, readable: true, restart: k.readonly))
        }
        snap.entries = entries
    }

    private func loadValues() throws(RPCClientError) {
        var byGroup: [String: [String: RPCValue]] = [:]
        for g in snap.groups { byGroup[g] = ParamsReplies.values(try call("cfg.get", [.string(g)])) }
        for i in snap.entries.indices {
            let e = snap.entries[i]
            if let v = byGroup[e.group]?[e.name] {
                snap.entries[i].value = v
                snap.entries[i].readable = true
            } else {
                // cfg.get of a group leaves out what cannot be read (Kamailio's "not readable")
                snap.entries[i].value = nil
                snap.entries[i].readable = false
            }
        }
    }

    private func open(now: Double) -> Bool {
        if link.isOpen { return snap.flavor == .kamailio || snap.flavor == .kamailiod }
        do {
            guard let c = try link.reopen(now: now) else { return false }
            let methods = Set(ModelRecords.strings(try c.call("system.listMethods", [])))
            snap.flavor = !methods.contains("cfg.list") ? .absent
                : methods.contains("cfg.info") && methods.contains("cfg.reload_script") ? .kamailiod : .kamailio
            snap.error = nil
            snap.entries = []
            return snap.flavor != .absent
        } catch {
            lost(error, now: now)
            return false
        }
    }

    private func lost(_ error: RPCClientError, now: Double) {
        link.lost(now: now)
        snap.error = error.description
    }

    private func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue] {
        try link.call(method, params)
    }
}
