import ScriptEngine
import Synchronization

/// One variable of a cfg group as the `cfg.*` methods see it: either a parameter of the
/// `CfgStore` (core and modules: read from snapshots, changed by atomic commits) or a pair
/// of closures (a module that keeps the value itself, e.g. `dbg`).
public struct CfgVariable: Sendable {
    /// Whether the variable holds an integer or a string.
    public typealias Kind = CfgParam.Kind
    /// Variable name (`debug`).
    public var name: String
    /// Value type.
    public var kind: Kind
    /// Inclusive bounds for integers; `min == max == 0` means unchecked, as in Kamailio.
    public var min = 0, max = 0
    /// `cfg.help` text.
    public var description: String
    /// False where Kamailio's `cfg.get` answers "not readable" (a converting change fixup).
    public var readable = true
    /// Whether a change is used at once or needs a restart (refused by `cfg.set`).
    public var applies: CfgParam.Applies = .atOnce
    /// Reads the live value.
    public var read: @Sendable () -> CfgValue
    /// Stores a value that passed the checks.
    public var write: @Sendable (CfgValue) -> Void
    /// The store parameter behind it, when it is one (commits go through the store).
    public var param: CfgParam? { backing?.param }
    var backing: (store: CfgStore, param: CfgParam)?
    /// Extra check of a new value: why it is refused, nil when fine.
    public var check: (@Sendable (CfgValue) -> String?)?

    /// Creates a variable kept by its module (`read`/`write` reach the module's storage).
    public init(_ name: String, kind: Kind, min: Int = 0, max: Int = 0, description: String,
                readable: Bool = true, read: @escaping @Sendable () -> CfgValue,
                write: @escaping @Sendable (CfgValue) -> Void) {
        self.name = name
        self.kind = kind
        self.min = min
        self.max = max
        self.description = description
        self.readable = readable
        self.read = read
        self.write = write
    }

    /// The variable of a store parameter.
    public init(_ param: CfgParam, in store: CfgStore) {
        self.init(param.name, kind: param.kind, min: param.min, max: param.max, description: param.description,
                  readable: param.readable, read: { store.snapshot.value(param) },
                  write: { v in store.commit([(param.slot, v)]) })
        backing = (store, param)
        applies = param.applies
        check = param.check
    }

    /// A variable kept in its own box (values nobody else stores).
    public static func stored(_ name: String, _ initial: CfgValue, min: Int = 0, max: Int = 0,
                              description: String, onChange: (@Sendable (CfgValue) -> Void)? = nil) -> CfgVariable {
        let box = Mutex<CfgValue>(initial)
        let kind: Kind = if case .int = initial { .int } else { .string }
        return CfgVariable(name, kind: kind, min: min, max: max, description: description,
                           read: { box.withLock { $0 } },
                           write: { v in
                               box.withLock { $0 = v }
                               onChange?(v)
                           })
    }

    /// Why `value` is refused (restart needed, type, range, the variable's own check), or nil.
    public func refusal(_ value: CfgValue, qualified: String) -> String? {
        if applies == .restart { return "\(qualified) needs a restart to change" }
        switch (kind, value) {
        case (.int, .int(let i)):
            if !(min == 0 && max == 0), !(min...max).contains(i) { return "\(qualified): \(i) is out of range \(min)..\(max)" }
        case (.int, .string(let s)):
            guard let s, let i = Int(s) else { return "\(qualified) expects an integer, found \"\(s ?? "")\"" }
            return refusal(.int(i), qualified: qualified)
        case (.string, _): break
        }
        return check?(value)
    }

    /// The value converted to this variable's type and checked; nil when refused.
    /// A string for an integer variable must be a decimal number (Kamailio converts it).
    public func accepts(_ value: CfgValue) -> CfgValue? {
        guard refusal(value, qualified: name) == nil else { return nil }
        switch (kind, value) {
        case (.int, .string(let s)): return .int(s.flatMap { Int($0) } ?? 0)
        case (.string, .int(let i)): return .string(String(i))
        default: return value
        }
    }
}

/// A cfg group: a name and its variables in declaration order.
public struct CfgGroup: Sendable {
    /// Group name (`core`, `maxfwd`, or a script's custom group).
    public var name: String
    /// Its variables.
    public var variables: [CfgVariable]

    /// Creates a group.
    public init(_ name: String, _ variables: [CfgVariable]) {
        self.name = name
        self.variables = variables
    }
}

/// The runtime-configuration table behind `cfg.*`: the declared groups, their startup
/// values (for `cfg.reset`), group instances and the staged changes (for `cfg.commit`).
///
/// One table serves every RPC transport, so a change staged over the datagram socket can
/// be committed through kamcmd, as in Kamailio. Changes of store parameters are applied
/// as one new snapshot per commit, which workers take at their next message.
public final class CfgRegistry: Sendable {
    /// One staged change (`cfg.diff`).
    public struct Change: Sendable, Equatable {
        /// Group (possibly `group[id]`) and variable names.
        public var group, variable: String
        /// The value to apply at commit.
        public var value: CfgValue
    }

    private struct State {
        var groups: [CfgGroup] = []
        var startup: [String: CfgValue] = [:]
        var staged: [Change] = []
        /// Instances by `group[id]`: the values set on the instance (the rest follow the group).
        var instances: [String: [String: CfgValue]] = [:]
        /// Why the last change was refused (for the log line next to the fault).
        var lastRefusal: String?
    }

    private let state = Mutex(State())

    /// An empty table.
    public init() {}

    /// Adds a group (replacing one of the same name) and records its startup values.
    public func declare(_ group: CfgGroup) {
        let values = group.variables.map { ("\(group.name).\($0.name)", $0.read()) }
        state.withLock { s in
            s.groups.removeAll { $0.name == group.name }
            s.groups.append(group)
            for (k, v) in values { s.startup[k] = v }
        }
    }

    /// Every group, in declaration order.
    public var groups: [CfgGroup] { state.withLock { $0.groups } }

    /// The named group.
    public func group(_ name: String) -> CfgGroup? { state.withLock { s in s.groups.first { $0.name == name } } }

    /// Splits `group[id]` into the group and the instance id; nil id for a plain group name.
    static func instance(_ text: String) -> (group: String, id: Int?)? {
        guard let open = text.firstIndex(of: "[") else { return (text, nil) }
        guard text.hasSuffix("]"), let id = Int(text[text.index(after: open)..<text.index(before: text.endIndex)]),
              id >= 0 else { return nil }
        return (String(text[..<open]), id)
    }

    /// The named variable (of the group an instance name belongs to).
    public func variable(_ group: String, _ name: String) -> CfgVariable? {
        guard let g = Self.instance(group)?.group else { return nil }
        return self.group(g)?.variables.first { $0.name == name }
    }

    /// The value of a variable, of an instance when `group` is `group[id]`; nil when
    /// either does not exist.
    public func value(_ group: String, _ name: String) -> CfgValue? {
        guard let v = variable(group, name) else { return nil }
        guard Self.instance(group)?.id != nil else { return v.read() }
        guard let inst = state.withLock({ $0.instances[group] }) else { return nil }
        return inst[name] ?? v.read()
    }

    /// Why the last `set`/`stage` was refused.
    public var lastRefusal: String? { state.withLock { $0.lastRefusal } }

    private func refuse(_ reason: String) -> Bool {
        state.withLock { $0.lastRefusal = reason }
        return false
    }

    /// The checked value for a change, or nil (with the reason kept in `lastRefusal`).
    private func checked(_ group: String, _ name: String, _ value: CfgValue) -> (CfgVariable, CfgValue)? {
        guard let v = variable(group, name) else {
            _ = refuse("no variable \(group).\(name)")
            return nil
        }
        if Self.instance(group)?.id != nil, state.withLock({ $0.instances[group] == nil }) {
            _ = refuse("no group instance \(group)")
            return nil
        }
        if let reason = v.refusal(value, qualified: "\(group).\(name)") {
            _ = refuse(reason)
            return nil
        }
        return (v, v.accepts(value) ?? value)
    }

    /// Sets a variable now; false when it does not exist or refuses the value.
    @discardableResult
    public func set(_ group: String, _ name: String, _ value: CfgValue) -> Bool {
        guard let (_, value) = checked(group, name, value) else { return false }
        apply([Change(group: group, variable: name, value: value)])
        return true
    }

    /// Stages a change for `commit`; false when it would be refused.
    public func stage(_ group: String, _ name: String, _ value: CfgValue) -> Bool {
        guard let (_, value) = checked(group, name, value) else { return false }
        state.withLock { s in
            // a second change to the same variable replaces the first, as in Kamailio's list
            s.staged.removeAll { $0.group == group && $0.variable == name }
            s.staged.append(Change(group: group, variable: name, value: value))
        }
        return true
    }

    /// Applies checked changes: instance values in the table, store parameters as one
    /// commit (so no message sees part of them), module-kept variables one by one.
    private func apply(_ changes: [Change]) {
        var storeChanges: [(CfgStore, Int, CfgValue)] = []
        var others: [(CfgVariable, CfgValue)] = []
        for c in changes {
            guard let v = variable(c.group, c.variable) else { continue }
            if Self.instance(c.group)?.id != nil {
                state.withLock { $0.instances[c.group]?[c.variable] = c.value }
                syncInstance(c.group)
            } else if let (store, p) = v.backing {
                storeChanges.append((store, p.slot, c.value))
            } else {
                others.append((v, c.value))
            }
        }
        // every store parameter of this table lives in one store: one snapshot for all
        if let store = storeChanges.first?.0 {
            store.commit(storeChanges.filter { $0.0 === store }.map { ($0.1, $0.2) })
        }
        for (v, value) in others { v.write(value) }
    }

    /// Declares the groups of `store`'s parameters whose module is loaded (`loaded(name)`).
    public func declare(store: CfgStore, loaded: (String) -> Bool) {
        var order: [String] = []
        var byGroup: [String: [CfgVariable]] = [:]
        for p in store.params where p.module == "core" || loaded(p.module) {
            if byGroup[p.group] == nil { order.append(p.group) }
            byGroup[p.group, default: []].append(CfgVariable(p, in: store))
        }
        for g in order { declare(CfgGroup(g, byGroup[g] ?? [])) }
    }

    /// The staged changes.
    public var staged: [Change] { state.withLock { $0.staged } }

    /// Applies all staged changes together and clears them.
    public func commit() {
        let changes = state.withLock { s in
            defer { s.staged.removeAll() }
            return s.staged
        }
        apply(changes)
    }

    /// Drops the staged changes.
    public func rollback() { state.withLock { $0.staged.removeAll() } }

    /// Puts every variable of the group back to its startup value, in one commit;
    /// false for an unknown group. Unlike Kamailio 5.6.3 it does not stop at the first
    /// counted-string variable: all of them are reset.
    @discardableResult
    public func reset(_ group: String) -> Bool {
        guard let g = self.group(group) else { return false }
        let startup = state.withLock { $0.startup }
        apply(g.variables.compactMap { v in
            guard v.applies == .atOnce, let value = startup["\(group).\(v.name)"] else { return nil }
            return Change(group: group, variable: v.name, value: value)
        })
        return true
    }

    /// `cfg.add_group_inst group[id]`: false when the name is not `group[id]` of a known
    /// group or the instance exists.
    public func addInstance(_ text: String) -> Bool {
        guard let (g, id) = Self.instance(text), id != nil, group(g) != nil else { return false }
        let added = state.withLock { s in
            guard s.instances[text] == nil else { return false }
            s.instances[text] = [:]
            return true
        }
        if added { syncInstance(text) }
        return added
    }

    /// `cfg.del_group_inst group[id]`: false when there is no such instance.
    public func deleteInstance(_ text: String) -> Bool {
        let deleted = state.withLock { s in
            s.staged.removeAll { $0.group == text }
            return s.instances.removeValue(forKey: text) != nil
        }
        if deleted { syncInstance(text) }
        return deleted
    }

    /// `cfg.del group[id] var`: the instance follows the group's value again.
    public func deleteInstanceValue(_ text: String, _ name: String) -> Bool {
        guard variable(text, name) != nil else { return false }
        let done = state.withLock { s in
            guard s.instances[text] != nil else { return false }
            s.instances[text]?[name] = nil
            return true
        }
        if done { syncInstance(text) }
        return done
    }

    /// Copies an instance's values of store parameters into the store, where the script's
    /// `cfg_select` finds them (a deleted instance is deleted there too).
    private func syncInstance(_ text: String) {
        guard let g = Self.instance(text)?.group, let vars = group(g)?.variables,
              let store = vars.lazy.compactMap({ $0.backing?.store }).first else { return }
        guard let set = state.withLock({ $0.instances[text] }) else {
            store.setInstance(text, nil)
            return
        }
        var values: [Int: CfgValue] = [:]
        for v in vars {
            if let (_, p) = v.backing, let value = set[v.name] { values[p.slot] = value }
        }
        store.setInstance(text, values)
    }

    /// The instances of every group, `group[id]` names in id order.
    public var instances: [String] {
        state.withLock { Array($0.instances.keys) }.sorted { a, b in
            let (ga, ia) = Self.instance(a) ?? (a, nil)
            let (gb, ib) = Self.instance(b) ?? (b, nil)
            return ga != gb ? ga < gb : (ia ?? 0) < (ib ?? 0)
        }
    }
}
