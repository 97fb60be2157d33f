import Foundation
import Shared

/// The debugger thread's private side: owns its own RPC client (opened with a long
/// timeout, because Kamailio answers `show`/`next`/`eval` to a worker that is not parked
/// only after 20 s, spec §4) and keeps the debugger snapshot.
///
/// Every operation is a short sequence of calls (step, then `dbg.ls`, `show`, the watches,
/// the message); doing them here keeps the UI thread free, and `publish` is called before
/// each slow call so the screen can say what it is waiting for.
final class ModelDebuggerWorker {
    /// The current state (published after each operation).
    private(set) var snap = DebuggerSnapshot()
    /// The snapshot with a fresh generation (each publication counts).
    var published: DebuggerSnapshot {
        snap.generation &+= 1
        return snap
    }
    /// Watch expressions, re-evaluated at each stop.
    var watches: [String] = []
    private var link: ModelRPCLink
    private let readFile: @Sendable (String) -> [String]?
    private let publish: (DebuggerSnapshot) -> Void
    private var processes: [ProcessRow] = []
    private var polls = 0

    /// A worker opening clients with `connect`, reading local script files with
    /// `readFile` (Kamailio has no `dbg.source`), and showing progress through `publish`.
    init(connect: @escaping ModelPoller.Connect, readFile: @escaping @Sendable (String) -> [String]?,
         publish: @escaping (DebuggerSnapshot) -> Void) {
        link = ModelRPCLink(connect: connect)
        self.readFile = readFile
        self.publish = publish
    }

    // MARK: - Polling

    /// One refresh: processes, their debugger state, breakpoints; newly parked workers are
    /// asked where they stand.
    func poll(now: Double) {
        guard open(now: now) else { return }
        polls += 1
        do {
            if processes.isEmpty || polls % 5 == 1 { processes = ProcessRow.parse(psx: try call("core.psx", [])) }
            var workers = DebuggerWorker.parse(ls: try call("dbg.ls", []), processes: processes)
            var seen: Set<Int> = []
            let pids = processes.map(\.pid).filter { seen.insert($0).inserted }
            if workers.count < pids.count {
                // JSON-RPC returns only the last process without a pid (spec §2): ask each one.
                workers = []
                for pid in pids {
                    workers += DebuggerWorker.parse(ls: try callTolerant("dbg.ls", [.int(pid)]) ?? [], processes: processes)
                }
            }
            snap.workers = DebuggerWorker.unique(workers).sorted { $0.index < $1.index }
            if snap.flavor.extended { snap.breakpoints = DebuggerBreakpoint.parse(try call("dbg.bp_list", [])) }
            for pid in snap.stops.keys where !(snap.workers.first(where: { $0.pid == pid })?.stopped ?? false) {
                snap.stops[pid] = nil
            }
            let stopped = snap.stoppedWorkers
            if snap.releasePending, !stopped.isEmpty, !stopped.contains(where: { $0.state == 2 }) {
                // Let every other process serve traffic (spec §9 step 3). Not while one is
                // stepping: Kamailio's `release` would strand it (spec §6.2).
                _ = try call("dbg.bp", ["release"], slow: true)
                snap.releasePending = false
                snap.note("worker \(stopped[0].pid) stopped; others released (dbg.bp release)", .warn)
            }
            for w in stopped {
                let known = snap.stops[w.pid]?.position
                // kamailiod tells where a parked worker is; a different line means it moved on and stopped again.
                let moved = w.line != nil && known != nil && (w.line != known?.line || w.file != known?.file)
                if snap.stops[w.pid] == nil || moved { try refresh(pid: w.pid) }
            }
            if snap.flavor.extended, snap.sources.isEmpty { try loadSource(nil) }
            snap.error = nil
        } catch {
            lost(error, now: now)
        }
    }

    // MARK: - Commands

    /// Performs one UI command; faults become console lines, transport errors drop the link.
    func perform(_ command: DebuggerCommand, now: Double) {
        guard open(now: now) else {
            snap.note("not attached: \(snap.error ?? "no connection")", .bad)
            return
        }
        do {
            try execute(command)
        } catch {
            if case .fault(let f) = error {
                snap.note("\(describe(command)): \(f.code) \(f.message)", .bad)
            } else {
                lost(error, now: now)
                snap.note("\(describe(command)): \(error.description)", .bad)
            }
        }
    }

    private func execute(_ command: DebuggerCommand) throws(RPCClientError) {
        switch command {
        case .step(let pid, let kind):
            let sub: String
            switch (snap.flavor.extended, kind) {
            case (true, _): sub = kind.rawValue
            case (false, .out):
                snap.note("step out: Kamailio's debugger has no such command (use c to continue)", .warn)
                return
            case (false, _): sub = "next"
            }
            let reply = text(try call("dbg.bp", [.string(sub), .int(pid)], slow: true))
            var stop = snap.stops[pid] ?? DebuggerStop()
            stop.lastExec = DebuggerPosition.parse(reply)
            snap.stops[pid] = stop
            snap.note("\(sub) \(pid): \(stop.lastExec.map { "ran " + $0.summary } ?? reply)", stop.lastExec == nil ? .warn : .normal)
            try afterRun(pid: pid)
        case .resume(let pid):
            let reply = text(try call("dbg.bp", ["move", .int(pid)], slow: true))
            let was = snap.stops[pid]?.position
            snap.stops[pid] = nil
            // Kamailio answers `move` before the worker reads it; a `show` sent meanwhile
            // would replace the command in its mailbox and leave it parked. Wait until it runs.
            if try waitRunning(pid: pid, leaving: was) {
                snap.note("continue \(pid): \(reply)", .good)
            } else {
                snap.note("continue \(pid): \(reply), but it still looks parked (l looks again, c retries)", .warn)
            }
        case .arm:
            _ = try call("dbg.bp", ["on"], slow: true)
            snap.releasePending = true
            snap.note("armed: the next script action of any worker stops (dbg.bp on)", .good)
        case .disarm:
            let parked = snap.stoppedWorkers.map(\.pid)
            _ = try call("dbg.bp", ["off"], slow: true)
            snap.releasePending = false
            if snap.flavor == .kamailio {
                // `off` leaves a parked Kamailio worker parked while dbg.ls says it runs;
                // only `next` frees it (spec §6.4, §9 step 5).
                for pid in parked { _ = try callTolerant("dbg.bp", ["next", .int(pid)], slow: true) }
            }
            for pid in parked { snap.stops[pid] = nil }
            snap.note("disarmed (dbg.bp off)" + (parked.isEmpty ? "" : "; let \(parked.map(String.init).joined(separator: ", ")) run on"), .good)
        case .toggleBreakpoint(let file, let line):
            guard snap.flavor.extended else {
                snap.note("Kamailio's debugger has no line breakpoints: arm (a) stops at every action", .warn)
                return
            }
            let target = file ?? snap.mainFile
            if let bp = snap.breakpoints.first(where: { $0.line == line && (target == nil || $0.file == target) }) {
                _ = try call("dbg.bp_del", [.int(bp.id)])
                snap.note("breakpoint \(bp.id) at \(DebuggerPosition.shortName(bp.file)):\(bp.line) removed", .good)
            } else {
                let location = target.map { "\($0):\(line)" } ?? String(line)
                let added = DebuggerBreakpoint.parse(try call("dbg.bp_add", [.string(location)]))
                if let b = added.first {
                    if file == nil, snap.mainFile == nil { snap.mainFile = b.file }
                    snap.note("breakpoint \(b.id) at \(DebuggerPosition.shortName(b.file)):\(b.line)\(b.route.isEmpty ? "" : " in \(b.route)")", .good)
                }
            }
            snap.breakpoints = DebuggerBreakpoint.parse(try call("dbg.bp_list", []))
        case .eval(let pid, let expression):
            let reply = text(try call("dbg.bp", ["eval", .int(pid), .string(expression)], slow: true))
            if let v = DebuggerValue.parse(reply) {
                snap.note("\(v.label) = \(v.display)  (\(v.kind.rawValue))", .accent)
            } else {
                snap.note("eval \(expression): no answer (\(reply)) — is the worker still parked?", .warn)
            }
        case .look(let pid):
            try refresh(pid: pid)
        case .source(let file):
            try loadSource(file)
        }
    }

    /// Polls `dbg.ls <pid>` for up to 3 s until the worker is no longer parked at `leaving`
    /// (kamailiod names the line a parked worker is at: another line is a new stop, e.g.
    /// a breakpoint hit by the next message).
    private func waitRunning(pid: Int, leaving: DebuggerPosition?) throws(RPCClientError) -> Bool {
        let end = ModelClock.now() + 3
        while true {
            let w = DebuggerWorker.parse(ls: try callTolerant("dbg.ls", [.int(pid)]) ?? [], processes: processes).first
            if let w, let i = snap.workers.firstIndex(where: { $0.pid == pid }) { snap.workers[i] = w }
            if !(w?.stopped ?? false) { return true }
            if let line = w?.line, let leaving, line != leaving.line || w?.file != leaving.file { return true }
            if ModelClock.now() >= end { return false }
            usleep(50_000)
        }
    }

    /// After a step: the worker may have finished its message and run on.
    private func afterRun(pid: Int) throws(RPCClientError) {
        let state = DebuggerWorker.parse(ls: try callTolerant("dbg.ls", [.int(pid)]) ?? [], processes: processes).first
        if let state, let i = snap.workers.firstIndex(where: { $0.pid == pid }) { snap.workers[i] = state }
        if let state, !state.stopped {
            snap.stops[pid] = nil
            snap.note("worker \(pid) finished its message and runs on", .good)
            return
        }
        try refresh(pid: pid)
    }

    /// Asks where a parked worker stands, evaluates the watches and fetches the message.
    private func refresh(pid: Int) throws(RPCClientError) {
        var stop = snap.stops[pid] ?? DebuggerStop()
        guard let reply = try callTolerant("dbg.bp", ["show", .int(pid)], slow: true).map(text) else {
            // kamailiod: 500 "process not stopped".
            snap.stops[pid] = nil
            return
        }
        guard let position = DebuggerPosition.parse(reply) else {
            stop.position = nil
            snap.stops[pid] = stop
            snap.note("worker \(pid) gives no position (\(reply)): it runs until its next action; l asks again", .warn)
            return
        }
        if stop.position != nil { stop.previous = stop.watches }
        stop.position = position
        stop.serial += 1
        if snap.mainFile == nil { snap.mainFile = position.file }
        var values: [String: DebuggerWatchResult] = [:]
        for w in watches { values[w] = try evaluate(pid: pid, w) }
        stop.watches = values
        if snap.flavor.extended {
            stop.message = try callTolerant("dbg.bp", ["msg", .int(pid)], slow: true).map(text)
        } else if case .value(let v) = try evaluate(pid: pid, "$mb") {
            stop.message = v.value
        }
        snap.stops[pid] = stop
        if snap.sources[position.file] == nil && snap.sourceErrors[position.file] == nil { try loadSource(position.file) }
    }

    private func evaluate(pid: Int, _ expression: String) throws(RPCClientError) -> DebuggerWatchResult {
        do {
            let reply = text(try call("dbg.bp", ["eval", .int(pid), .string(expression)], slow: true))
            return DebuggerValue.parse(reply).map(DebuggerWatchResult.value) ?? .failed("no answer (\(reply))")
        } catch {
            guard case .fault(let f) = error else { throw error }
            return .failed(f.message)
        }
    }

    /// Script text: kamailiod serves it (`dbg.source`); for Kamailio the file named by
    /// `c=` is read locally, which works when kamcon runs on the server's machine.
    private func loadSource(_ file: String?) throws(RPCClientError) {
        let key = file ?? ""
        if snap.flavor.extended {
            do {
                snap.sources[key] = ModelRecords.strings(try call("dbg.source", file.map { [.string($0)] } ?? []))
                return
            } catch {
                guard case .fault(let f) = error else { throw error }
                snap.sourceErrors[key] = "dbg.source: \(f.message)"
            }
        }
        guard let file else { return }
        if let lines = readFile(file) {
            snap.sources[file] = lines
            snap.sourceErrors[file] = nil
        } else {
            snap.sourceErrors[file] = "cannot read \(file) here (Kamailio sends no source; run kamcon on the server's machine)"
        }
    }

    // MARK: - Link

    private func open(now: Double) -> Bool {
        if link.isOpen { return true }
        do {
            guard let c = try link.reopen(now: now) else { return false }
            let methods = ModelRecords.strings(try c.call("system.listMethods", []))
            snap.flavor = DebuggerFlavor.detect(methods: methods)
            snap.error = nil
            processes = []
            polls = 0
            return snap.flavor == .kamailio || snap.flavor == .kamailiod
        } catch {
            lost(error, now: now)
            return false
        }
    }

    private func lost(_ error: RPCClientError, now: Double) {
        link.lost(now: now)
        snap.error = error.description
    }

    private func call(_ method: String, _ params: [RPCValue], slow: Bool = false) throws(RPCClientError) -> [RPCValue] {
        guard link.isOpen else { throw .connectionClosed }
        if slow {
            let shown = ([method] + params.map(RPCTextRender.scalarText)).joined(separator: " ")
            snap.busy = DebuggerBusy(what: shown, since: ModelClock.now())
            publish(published)
        }
        defer { snap.busy = nil }
        return try link.call(method, params)
    }

    /// Like `call`, but a fault (no such pid, process not stopped) gives nil.
    private func callTolerant(_ method: String, _ params: [RPCValue], slow: Bool = false) throws(RPCClientError) -> [RPCValue]? {
        do {
            return try call(method, params, slow: slow)
        } catch {
            guard case .fault = error else { throw error }
            return nil
        }
    }

    private func text(_ values: [RPCValue]) -> String {
        values.first.map(RPCTextRender.scalarText) ?? ""
    }

    private func describe(_ command: DebuggerCommand) -> String {
        switch command {
        case .step(let pid, let kind): return "step \(kind.rawValue) \(pid)"
        case .resume(let pid): return "continue \(pid)"
        case .arm: return "arm"
        case .disarm: return "disarm"
        case .toggleBreakpoint(let file, let line): return "breakpoint \(file.map(DebuggerPosition.shortName) ?? "main"):\(line)"
        case .eval(_, let e): return "eval \(e)"
        case .look(let pid): return "show \(pid)"
        case .source(let f): return "source \(f ?? "main")"
        }
    }
}
