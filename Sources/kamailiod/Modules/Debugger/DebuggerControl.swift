#if canImport(Glibc)
import Glibc
#endif
import Control
import SIPTransport
import ScriptEngine
import Shared

/// What the `dbg.*` handlers do. Runs on control threads: it only flips atomic bits and
/// talks to parked workers through their mailboxes, never touching a running message.
struct DebuggerControl: Sendable {
    let engine: DebuggerEngine
    let environment: ControlEnvironment

    private static func fault(_ text: String) -> RPCFault { RPCFault(code: 500, message: text) }

    // MARK: - Processes

    var processes: [DebuggerProcess] {
        ControlMethods.processes(environment).enumerated().map { DebuggerProcess(entry: $0, pid: $1.pid, worker: $1.worker) }
    }

    /// The entry of `pid` (the first one: non-worker threads share the process id).
    private func process(_ pid: Int) throws(RPCFault) -> DebuggerProcess {
        guard let p = processes.first(where: { $0.pid == pid }) else { throw Self.fault("No such pid") }
        return p
    }

    /// The processes a command with an optional pid applies to.
    private func selected(_ pid: Int?) throws(RPCFault) -> [DebuggerProcess] {
        guard let pid else { return processes }
        return [try process(pid)]
    }

    /// Applies `change` to the bits of `p` (worker slot, or the shared bits of the rest).
    private func update(_ p: DebuggerProcess, _ change: (DebuggerSlot?) -> Void) {
        if let w = p.worker { change(engine.slot(worker: w)) } else { change(nil) }
    }

    // MARK: - dbg.ls

    func list(_ call: RPCCall) throws(RPCFault) {
        let pid = call.optionalInt()
        let rows: [DebuggerProcess]
        if let pid {
            rows = [try process(pid)]
        } else {
            rows = processes
        }
        for p in rows {
            var members: [RPCMember] = [RPCMember("entry", .int(p.entry)), RPCMember("pid", .int(p.pid))]
            if let w = p.worker {
                let slot = engine.existingSlot(worker: w)
                let snap = slot?.snapshot
                members += [RPCMember("set", .int(slot?.set.load(ordering: .relaxed) ?? engine.initialSet)),
                            RPCMember("state", .int(snap?.state ?? 0)), RPCMember("in.pid", .int(snap?.inPid ?? 0)),
                            RPCMember("in.cmd", .int(snap?.inCmd ?? 0))]
                if let at = snap?.position {
                    members += [RPCMember("file", .string(at.file)), RPCMember("line", .int(at.line)),
                                RPCMember("route", .string(at.route)), RPCMember("action", .string(at.name))]
                }
            } else {
                members += [RPCMember("set", .int(engine.othersSet.load(ordering: .relaxed))), RPCMember("state", .int(0)),
                            RPCMember("in.pid", .int(0)), RPCMember("in.cmd", .int(0))]
            }
            call.add(.struct(members))
        }
    }

    // MARK: - dbg.bp

    func breakpoint(_ call: RPCCall) throws(RPCFault) {
        guard let cmd = call.optionalString() else { throw Self.fault("Config breakpoint command missing") }
        let pid = call.optionalInt()
        switch cmd {
        case "on":
            for p in try selected(pid) {
                update(p) { s in
                    if let s { s.set.bitwiseOr(2, ordering: .relaxed) } else { engine.othersSet.bitwiseOr(2, ordering: .relaxed) }
                }
            }
            engine.refreshArmed()
            call.add(.string("200 ok"))
        case "off", "release":
            // off: everything selected, parked ones run on; release: only those not stopped.
            for p in try selected(pid) {
                update(p) { s in
                    guard let s else {
                        engine.othersSet.bitwiseAnd(~2, ordering: .relaxed)
                        return
                    }
                    if cmd == "release" && s.isStopped { return }
                    s.set.bitwiseAnd(~2, ordering: .relaxed)
                    s.stepResets.wrappingAdd(1, ordering: .relaxed)
                    if s.isStopped { _ = s.send(.resume, from: caller, wait: false, timeout: 0) }
                }
            }
            engine.refreshArmed()
            call.add(.string("200 ok"))
        case "keep":
            guard let pid else { throw Self.fault("Missing pid parameter") }
            let keep = try process(pid)
            for p in processes where p.entry != keep.entry {
                update(p) { s in
                    guard let s else {
                        engine.othersSet.bitwiseAnd(~2, ordering: .relaxed)
                        return
                    }
                    s.set.bitwiseAnd(~2, ordering: .relaxed)
                    s.stepResets.wrappingAdd(1, ordering: .relaxed)
                    if s.isStopped { _ = s.send(.resume, from: caller, wait: false, timeout: 0) }
                }
            }
            engine.refreshArmed()
            call.add(.string("200 ok"))
        case "next", "into", "over", "out", "move", "show", "eval", "log", "msg", "where":
            guard let pid else { throw Self.fault("Missing pid parameter") }
            let p = try process(pid)
            let command = try parse(cmd, call)
            let answer = try send(command, to: p, wait: cmd != "log")
            engine.refreshArmed()
            switch answer {
            case nil: call.add(.string("200 ok"))
            case .text(let t): call.add(.string(t))
            case .fault(let t): throw Self.fault(t)
            case .afterStop(let t): call.add(.string(t))
            case .fields(let fields): call.add(.struct(fields.map { RPCMember($0.0, Self.rpc($0.1)) }))
            }
        default:
            throw Self.fault("Unknown inner command")
        }
    }

    /// The command for a sub-command that needs a stopped worker.
    private func parse(_ cmd: String, _ call: RPCCall) throws(RPCFault) -> DebuggerCommand {
        switch cmd {
        case "next", "into": return .next
        case "over": return .over
        case "out": return .out
        case "move": return .move
        case "show": return .show
        case "msg": return .msg
        case "where": return .whereAmI
        default:
            guard let text = call.optionalString() else { throw Self.fault("pv param missing") }
            guard text.utf8.count >= 2, text.utf8.count < 256 else { throw Self.fault("invalid pv param") }
            let e = try compile(text)
            return cmd == "eval" ? .eval(text, e) : .log(text, e)
        }
    }

    /// A full expression, or (Kamailio's `eval`) the pseudo-variable it starts with.
    private func compile(_ text: String) throws(RPCFault) -> ScriptCompiledExpression {
        guard let script = engine.script else { throw Self.fault("no script loaded") }
        do {
            return try script.compileExpression(text)
        } catch {
            let n = LoadedScript.leadingPseudoVariableLength(text)
            if n > 0, n < text.utf8.count,
               let e = try? script.compileExpression(String(decoding: Array(text.utf8)[..<n], as: UTF8.self)) {
                return e
            }
            throw Self.fault("cannot evaluate '\(text)': \(error.message)")
        }
    }

    /// The calling control thread, shown as `in.pid`.
    private var caller: Int { TransportThreadIdentities.currentTID() }

    private func send(_ c: DebuggerCommand, to p: DebuggerProcess, wait: Bool) throws(RPCFault) -> DebuggerReply? {
        guard let w = p.worker, let slot = engine.existingSlot(worker: w) else { throw Self.fault("process not stopped") }
        switch slot.send(c, from: caller, wait: wait, timeout: engine.settings.answerTimeout) {
        case .success(let r): return r
        case .failure(.notStopped): throw Self.fault("process not stopped")
        case .failure(.busy): throw Self.fault("process busy with another command")
        case .failure(.noAnswer): throw Self.fault("no reply from process")
        }
    }

    private static func rpc(_ f: DebuggerField) -> RPCValue {
        switch f {
        case .int(let i): .int(i)
        case .string(let s): .string(s)
        case .strings(let l): .array(l.map { .string($0) })
        }
    }

    // MARK: - dbg.trace

    func trace(_ call: RPCCall) throws(RPCFault) {
        guard let cmd = call.optionalString() else { throw Self.fault("Config trace command missing") }
        guard cmd == "on" || cmd == "off" else { throw Self.fault("Unknown trace command") }
        for p in try selected(call.optionalInt()) {
            update(p) { s in
                switch (s, cmd == "on") {
                case (let s?, true): s.set.bitwiseOr(1, ordering: .relaxed)
                case (let s?, false): s.set.bitwiseAnd(~1, ordering: .relaxed)
                case (nil, true): engine.othersSet.bitwiseOr(1, ordering: .relaxed)
                case (nil, false): engine.othersSet.bitwiseAnd(~1, ordering: .relaxed)
                }
            }
        }
        engine.refreshArmed()
        call.add(.string("200 ok"))
    }
}
