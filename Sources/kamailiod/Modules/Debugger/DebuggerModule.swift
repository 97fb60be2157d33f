import ScriptEngine
import Synchronization

/// `debugger`: Kamailio's config-script debugger — per-action trace (`cfgtrace`), a step
/// debugger driven over RPC (`dbg.bp ...`), line breakpoints (`dbg_breakpoint(1)`,
/// `dbg.bp_add`) and per-module log levels and facilities.
///
/// It attaches to the script through the engine's hook provider; the provider answers
/// "no hook" with one atomic load while nothing is armed, so a loaded but idle debugger
/// costs next to nothing, and a daemon without `loadmodule "debugger.so"` nothing at all.
public final class DebuggerModule: ScriptModule {
    public let name = "debugger"
    let engine: DebuggerEngine
    /// `mod_level` / `mod_facility` modparam entries, applied at initialisation.
    private let pending = Mutex<(levels: [(String, Int)], facilities: [(String, Int32)])>(([], []))

    /// The module; `levels` is the table the daemon's logger consults.
    public init(runtime: CoreRuntime, levels: ModuleLogLevels) {
        engine = DebuggerEngine(runtime: runtime, levels: levels)
    }

    public var parameters: [ScriptModuleParameter] {
        let s = engine.settings
        let levels = engine.levels
        func int(_ name: String, _ range: ClosedRange<Int>, _ store: @escaping @Sendable (Int) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .int) { v throws(ScriptFixupError) in
                let n = Int(v.intValue)
                guard range.contains(n) else {
                    throw ScriptFixupError("\(name) must be \(range.lowerBound)-\(range.upperBound), found \(n)")
                }
                store(n)
            }
        }
        func bit(_ mask: Int) -> @Sendable (Int) -> Void {
            { n in
                if n != 0 { s.initialSet.bitwiseOr(mask, ordering: .relaxed) } else { s.initialSet.bitwiseAnd(~mask, ordering: .relaxed) }
            }
        }
        return [
            int("cfgtrace", 0...1, bit(1)),
            int("breakpoint", 0...1, bit(2)),
            int("log_level", -5...3) { s.logLevel.store($0, ordering: .relaxed) },
            ScriptModuleParameter("log_level_name", .string) { v in s.texts.withLock { $0.levelName = v.stringValue } },
            ScriptModuleParameter("log_facility", .string) { v throws(ScriptFixupError) in
                guard ModuleLogLevels.facility(named: v.stringValue) != nil else {
                    throw ScriptFixupError("unknown log facility '\(v.stringValue)' (LOG_DAEMON, LOG_LOCAL0 ...)")
                }
                s.texts.withLock { $0.facility = v.stringValue }
            },
            ScriptModuleParameter("log_prefix", .string) { v in s.texts.withLock { $0.prefix = v.stringValue } },
            int("step_usleep", 1...10_000_000) { s.stepUsleep.store($0, ordering: .relaxed) },
            int("step_loops", 1...1_000_000) { s.stepLoops.store($0, ordering: .relaxed) },
            int("mod_hash_size", 0...32) { s.modHashSize.store($0, ordering: .relaxed) },
            int("mod_level_mode", 0...1) { levels.levelMode.store($0, ordering: .relaxed) },
            int("mod_facility_mode", 0...1) { levels.facilityMode.store($0, ordering: .relaxed) },
            int("reset_msgid", 0...1) { s.resetMsgid.store($0, ordering: .relaxed) },
            int("bp_timeout", 0...86_400) { s.bpTimeout.store($0, ordering: .relaxed) },
            ScriptModuleParameter("mod_level", .string) { [self] v throws(ScriptFixupError) in
                guard let (m, text) = ModuleLogLevels.assignment(v.stringValue), let l = Int(text) else {
                    throw ScriptFixupError("expected 'module=level' (a number), found '\(v.stringValue)'")
                }
                self.pending.withLock { $0.levels.append((m, l)) }
            },
            ScriptModuleParameter("mod_facility", .string) { [self] v throws(ScriptFixupError) in
                guard let (m, text) = ModuleLogLevels.assignment(v.stringValue), let f = ModuleLogLevels.facility(named: text) else {
                    throw ScriptFixupError("expected 'module=LOG_FACILITY' (LOG_LOCAL0 ...), found '\(v.stringValue)'")
                }
                self.pending.withLock { $0.facilities.append((m, f)) }
            },
        ]
    }

    public var functions: [ScriptFunction] {
        let engine = engine
        return [
            // The stop itself happens in the hook before this action runs (a line
            // breakpoint registered at start-up); running it does nothing.
            ScriptFunction("dbg_breakpoint", arity: 1...1) { _, _ in 1 },
            // dbg_sip_msg([level]): the message as it would be sent now, with the
            // script's changes applied, in one log line block.
            ScriptFunction("dbg_sip_msg", arity: 0...2) { ctx, args in
                let level = args.count > 0 ? CoreLogLevel(name: ctx.string(args[0])) : nil
                let text = String(decoding: ctx.serializeMessage(), as: UTF8.self)
                engine.log("msg out:{\n\(text)\n}", level: level)
                return 1
            },
        ]
    }

    /// After `cfg.reload_script` (the hook provider itself is carried over by the reload).
    public func scriptReloaded(_ new: LoadedScript) {
        engine.replaceScript(new)
        for bp in engine.breakpoints.remap(to: new.actionInfos) {
            engine.log("breakpoint \(bp.id) at \(bp.action.location.file):"
                + "\(bp.action.location.line) (\(bp.action.name)) dropped: the reloaded script has no such action there", level: .warning)
        }
    }

    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        let script = context.script
        let (levels, facilities) = pending.withLock { ($0.levels, $0.facilities) }
        if engine.settings.modHashSize.load(ordering: .relaxed) > 0 {
            for (m, l) in levels { engine.levels.setLevel(m, l) }
            for (m, f) in facilities { engine.levels.setFacility(m, f) }
        }
        engine.levels.refresh()
        for a in script.actionInfos where a.name == "dbg_breakpoint" && a.constantIntArgument == 1 {
            _ = engine.breakpoints.add(a)
        }
        engine.attach(script)
        script.setDebugHookProvider(engine)
    }
}
