import Synchronization

/// A runtime-configuration value (Kamailio's cfg framework): an integer or a string;
/// a string variable may be unset (`cfg.get` shows it as null).
public enum CfgValue: Sendable, Equatable {
    case int(Int)
    case string(String?)

    /// The integer, or 0 for a string.
    public var intValue: Int { if case .int(let i) = self { i } else { 0 } }
    /// The string, or nil for an integer.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
}

/// One declared runtime parameter: where its value sits in a snapshot and what an
/// operator is told about it (`cfg.help`, `cfg.list`, kamcon's Parameters screen).
public struct CfgParam: Sendable {
    /// Whether the parameter holds an integer or a string.
    public enum Kind: Sendable { case int, string }
    /// When a new value is used.
    public enum Applies: Sendable {
        /// From the next message each worker handles (the normal case).
        case atOnce
        /// Only after a restart: the value is shown, `cfg.set` refuses a change.
        case restart
    }
    /// Group (`tm`) and variable (`fr_timer`) names.
    public let group, name: String
    /// The module that owns it (`core` for the core); the group is listed only when loaded.
    public let module: String
    /// Value type.
    public let kind: Kind
    /// Inclusive bounds for integers; `min == max == 0` means unchecked, as in Kamailio.
    public let min, max: Int
    /// `cfg.help` text.
    public let description: String
    /// Whether a change is used at once or needs a restart.
    public let applies: Applies
    /// False where Kamailio's `cfg.get` refuses to show the value (its change fixup
    /// converts it); kept so replies match Kamailio's.
    public let readable: Bool
    /// Extra check of a new value; returns why it is refused, nil when it is fine.
    public let check: (@Sendable (CfgValue) -> String?)?
    /// Index of the value in every snapshot.
    public let slot: Int

    /// `value` in this parameter's type (`"42"` → 42 for an integer, 42 → `"42"` for a string).
    public func converted(_ value: CfgValue) -> CfgValue {
        switch (kind, value) {
        case (.int, .string(let s)): return .int(s.flatMap { Int($0) } ?? 0)
        case (.string, .int(let i)): return .string(String(i))
        default: return value
        }
    }
}

/// The values of every parameter at one commit. Immutable: a worker takes the current
/// snapshot once at the start of a message and reads only it, so a message never sees
/// half of a commit (Kamailio's per-process `cfg_local` copy, updated at the same point).
public final class CfgSnapshot: Sendable {
    /// Counts commits; 0 for the values at start-up.
    public let generation: Int
    let values: [CfgValue]
    let store: ObjectIdentifier

    /// Slots by `group.name`, for lookups by name (`$sel(cfg_get.group.var)`).
    let index: [String: Int]

    /// Group instances (`cfg.add_group_inst`) by `group[id]`: the values set on them by slot
    /// (the others follow the group).
    let instances: [String: [Int: CfgValue]]
    /// For a snapshot with instances selected (`cfg_select`): the one they were applied to.
    let base: CfgSnapshot?
    /// The selected instance per group.
    let selected: [String: Int]

    init(generation: Int, values: [CfgValue], store: ObjectIdentifier, whileLoopsSlot: Int? = nil,
         index: [String: Int] = [:], instances: [String: [Int: CfgValue]] = [:], base: CfgSnapshot? = nil,
         selected: [String: Int] = [:]) {
        self.generation = generation
        self.values = values
        self.store = store
        self.whileLoopsSlot = whileLoopsSlot
        self.index = index
        self.instances = instances
        self.base = base
        self.selected = selected
    }

    /// The same values with instance `id` of `group` used for its variables (`cfg_select`),
    /// or with the group's own values again when `id` is nil (`cfg_reset`); nil when there
    /// is no such instance.
    public func selecting(_ group: String, _ id: Int?) -> CfgSnapshot? {
        let root = base ?? self
        var sel = selected
        if let id {
            guard root.instances["\(group)[\(id)]"] != nil else { return nil }
            sel[group] = id
        } else {
            sel[group] = nil
        }
        if sel.isEmpty { return root }
        var values = root.values
        for (g, i) in sel {
            for (slot, v) in root.instances["\(g)[\(i)]"] ?? [:] where slot < values.count { values[slot] = v }
        }
        return CfgSnapshot(generation: root.generation, values: values, store: store, whileLoopsSlot: whileLoopsSlot,
                           index: index, instances: root.instances, base: root, selected: sel)
    }

    /// The same parameters with other values (and, when declaring, one more name).
    func with(_ values: [CfgValue], generation: Int? = nil, whileLoopsSlot: Int?? = nil,
              named: (String, Int)? = nil, instances: [String: [Int: CfgValue]]? = nil) -> CfgSnapshot {
        var index = self.index
        if let (name, slot) = named { index[name] = slot }
        return CfgSnapshot(generation: generation ?? self.generation, values: values, store: store,
                           whileLoopsSlot: whileLoopsSlot ?? self.whileLoopsSlot, index: index,
                           instances: instances ?? self.instances)
    }

    /// The value of `group.name`, nil when no such parameter is declared.
    public func value(group: String, name: String) -> CfgValue? {
        index["\(group).\(name)"].map { self[$0] }
    }

    /// The value of a parameter.
    public func value(_ param: CfgParam) -> CfgValue { self[param.slot] }

    /// The value in `slot`; 0 for a slot declared after this snapshot was taken.
    subscript(_ slot: Int) -> CfgValue { slot < values.count ? values[slot] : .int(0) }

    /// An integer parameter's value.
    public subscript(_ key: CfgIntKey) -> Int { self[key.slot].intValue }
    /// A string parameter's value.
    public subscript(_ key: CfgStringKey) -> String? { self[key.slot].stringValue }

    /// `core.max_while_loops`, read by the interpreter at each loop (nil when not declared).
    public var maxWhileLoops: Int? { whileLoopsSlot.map { self[$0].intValue } }
    let whileLoopsSlot: Int?
}

/// Reads one integer parameter from the snapshot of the message being handled (or the
/// newest one where no message is, e.g. on a timer thread).
public struct CfgIntKey: Sendable {
    let store: CfgStore
    /// The parameter's slot.
    public let slot: Int

    /// The value `ctx` sees; without a context (timers, RPC), the newest committed one.
    public func callAsFunction(_ ctx: ScriptContext? = nil) -> Int {
        store.snapshot(for: ctx)[slot].intValue
    }
}

/// Reads one string parameter, as `CfgIntKey` does integers.
public struct CfgStringKey: Sendable {
    let store: CfgStore
    /// The parameter's slot.
    public let slot: Int

    /// The value `ctx` sees; without a context, the newest committed one.
    public func callAsFunction(_ ctx: ScriptContext? = nil) -> String? {
        store.snapshot(for: ctx)[slot].stringValue
    }
}

/// Every runtime parameter of the core and the modules, declared once (type, range,
/// description, applies at once or after restart), with the current snapshot of values.
///
/// Modules declare their parameters when they are created and keep the returned keys;
/// `modparam` and the script's core settings write start-up values with `setInitial`;
/// `cfg.*` changes values with `commit`, which swaps in a new snapshot atomically.
/// Workers pick the snapshot up once per message (`ScriptContext.cfg`).
public final class CfgStore: Sendable {
    private struct State {
        var params: [CfgParam] = []
        var current: CfgSnapshot
        var hooks: [@Sendable (CfgSnapshot, [CfgParam]) -> Void] = []
    }
    private let state: Mutex<State>

    /// An empty store.
    public init() {
        state = Mutex(State(current: CfgSnapshot(generation: 0, values: [], store: ObjectIdentifier(CfgStore.self))))
        let id = ObjectIdentifier(self)
        state.withLock { $0.current = CfgSnapshot(generation: 0, values: [], store: id) }
    }

    /// The newest committed values.
    public var snapshot: CfgSnapshot { state.withLock { $0.current } }

    /// The snapshot `ctx` took at the start of its message when it holds one of this
    /// store's, else the newest.
    public func snapshot(for ctx: ScriptContext?) -> CfgSnapshot {
        if let s = ctx?.cfg, s.store == ObjectIdentifier(self) { return s }
        return snapshot
    }

    /// Every declared parameter, in declaration order.
    public var params: [CfgParam] { state.withLock { $0.params } }

    /// The named parameter.
    public func param(_ group: String, _ name: String) -> CfgParam? {
        state.withLock { s in s.params.first { $0.group == group && $0.name == name } }
    }

    /// Declares an integer parameter (or returns the existing one of that name).
    public func declareInt(_ group: String, _ name: String, module: String? = nil, _ initial: Int,
                           min: Int = 0, max: Int = 0, applies: CfgParam.Applies = .atOnce, readable: Bool = true,
                           check: (@Sendable (CfgValue) -> String?)? = nil, _ description: String) -> CfgIntKey {
        CfgIntKey(store: self, slot: declare(group, name, module ?? group, .int, .int(initial), min, max,
                                             description, applies, readable, check))
    }

    /// Declares a string parameter (or returns the existing one of that name).
    public func declareString(_ group: String, _ name: String, module: String? = nil, _ initial: String?,
                              applies: CfgParam.Applies = .atOnce, readable: Bool = true,
                              check: (@Sendable (CfgValue) -> String?)? = nil, _ description: String) -> CfgStringKey {
        CfgStringKey(store: self, slot: declare(group, name, module ?? group, .string, .string(initial), 0, 0,
                                                description, applies, readable, check))
    }

    private func declare(_ group: String, _ name: String, _ module: String, _ kind: CfgParam.Kind,
                         _ initial: CfgValue, _ min: Int, _ max: Int, _ description: String,
                         _ applies: CfgParam.Applies, _ readable: Bool,
                         _ check: (@Sendable (CfgValue) -> String?)?) -> Int {
        state.withLock { s in
            if let p = s.params.first(where: { $0.group == group && $0.name == name }) { return p.slot }
            let slot = s.params.count
            s.params.append(CfgParam(group: group, name: name, module: module, kind: kind, min: min, max: max,
                                     description: description, applies: applies, readable: readable,
                                     check: check, slot: slot))
            let loops = group == "core" && name == "max_while_loops" ? slot : s.current.whileLoopsSlot
            s.current = s.current.with(s.current.values + [initial], whileLoopsSlot: loops, named: ("\(group).\(name)", slot))
            return slot
        }
    }

    /// Sets a start-up value (modparam, core setting) without a commit hook; no checks
    /// beyond the type (the caller checked the value its own way).
    public func setInitial(_ slot: Int, _ value: CfgValue) {
        state.withLock { s in
            var values = s.current.values
            guard slot < values.count else { return }
            values[slot] = value
            s.current = s.current.with(values)
        }
    }

    /// Sets the start-up value of a parameter named by group and name (for those a module
    /// only shows and never reads back: the ones that need a restart).
    public func setInitial(_ group: String, _ name: String, _ value: CfgValue) {
        if let p = param(group, name) { setInitial(p.slot, value) }
    }

    /// Sets an integer start-up value.
    public func setInitial(_ key: CfgIntKey, _ value: Int) { setInitial(key.slot, .int(value)) }
    /// Sets a string start-up value.
    public func setInitial(_ key: CfgStringKey, _ value: String?) { setInitial(key.slot, .string(value)) }

    /// Applies several changes as one new snapshot (all or nothing: the values were checked
    /// with `CfgParam.refusal` before), then runs the commit hooks with the changed params.
    @discardableResult
    public func commit(_ changes: [(slot: Int, value: CfgValue)]) -> CfgSnapshot {
        let (snap, params, hooks) = state.withLock { s in
            var values = s.current.values
            var changed: [CfgParam] = []
            for c in changes where c.slot < values.count {
                values[c.slot] = s.params[c.slot].converted(c.value)
                changed.append(s.params[c.slot])
            }
            s.current = s.current.with(values, generation: s.current.generation + 1)
            return (s.current, changed, s.hooks)
        }
        for h in hooks { h(snap, params) }
        return snap
    }

    /// Creates, changes (`values` by slot) or, with nil, deletes the instance `name`
    /// (`group[id]`) as one new snapshot.
    public func setInstance(_ name: String, _ values: [Int: CfgValue]?) {
        state.withLock { s in
            var instances = s.current.instances
            instances[name] = values
            s.current = s.current.with(s.current.values, generation: s.current.generation + 1, instances: instances)
        }
    }

    /// Runs `hook` after every commit with the new snapshot and the parameters it changed
    /// (what must happen outside message handling: the logger's level).
    public func onCommit(_ hook: @escaping @Sendable (CfgSnapshot, [CfgParam]) -> Void) {
        state.withLock { $0.hooks.append(hook) }
    }
}
