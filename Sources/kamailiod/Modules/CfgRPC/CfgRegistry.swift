import Synchronization

/// A runtime-configuration value (Kamailio's cfg framework): an integer or a string;
/// a string variable may be unset (`cfg.get` shows it as null).
public enum CfgValue: Sendable, Equatable {
    case int(Int)
    case string(String?)
}

/// One declared variable of a cfg group.
public struct CfgVariable: Sendable {
    /// Whether the variable holds an integer or a string.
    public enum Kind: Sendable { case int, string }
    /// Variable name (`debug`).
    public var name: String
    /// Value type.
    public var kind: Kind
    /// Inclusive bounds for integers; `min == max == 0` means unchecked, as in Kamailio.
    public var min = 0, max = 0
    /// `cfg.help` text.
    public var description: String
    /// Reads the live value (the module's own storage, so script code sees changes).
    public var read: @Sendable () -> CfgValue
    /// Stores a value that passed the checks.
    public var write: @Sendable (CfgValue) -> Void

    /// Creates a variable.
    public init(_ name: String, kind: Kind, min: Int = 0, max: Int = 0, description: String,
                read: @escaping @Sendable () -> CfgValue, write: @escaping @Sendable (CfgValue) -> Void) {
        self.name = name
        self.kind = kind
        self.min = min
        self.max = max
        self.description = description
        self.read = read
        self.write = write
    }

    /// A variable kept in its own box (custom script groups, values nobody else stores).
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

    /// The value converted to this variable's type and range-checked; nil when refused.
    /// A string for an integer variable must be a decimal number (Kamailio converts it).
    public func accepts(_ value: CfgValue) -> CfgValue? {
        switch (kind, value) {
        case (.int, .int(let i)):
            return min == 0 && max == 0 || (min...max).contains(i) ? .int(i) : nil
        case (.int, .string(let s)):
            guard let s, let i = Int(s) else { return nil }
            return accepts(.int(i))
        case (.string, .string): return value
        case (.string, .int(let i)): return .string(String(i))
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
/// values (for `cfg.reset`) and the staged changes (for `cfg.commit`).
///
/// One table serves every RPC transport, so a change staged over the datagram socket can
/// be committed through kamcmd, as in Kamailio. Changes apply to the modules' own live
/// storage at once; SIP workers read that storage per message.
public final class CfgRegistry: Sendable {
    /// One staged change (`cfg.diff`).
    public struct Change: Sendable, Equatable {
        /// Group and variable names.
        public var group, variable: String
        /// The value to apply at commit.
        public var value: CfgValue
    }

    private struct State {
        var groups: [CfgGroup] = []
        var startup: [String: CfgValue] = [:]
        var staged: [Change] = []
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

    /// The named variable.
    public func variable(_ group: String, _ name: String) -> CfgVariable? {
        self.group(group)?.variables.first { $0.name == name }
    }

    /// Sets a variable now; false when it does not exist or refuses the value.
    @discardableResult
    public func set(_ group: String, _ name: String, _ value: CfgValue) -> Bool {
        guard let v = variable(group, name), let checked = v.accepts(value) else { return false }
        v.write(checked)
        return true
    }

    /// Stages a change for `commit`; false when it would be refused.
    public func stage(_ group: String, _ name: String, _ value: CfgValue) -> Bool {
        guard let v = variable(group, name), let checked = v.accepts(value) else { return false }
        state.withLock { s in
            // a second change to the same variable replaces the first, as in Kamailio's list
            s.staged.removeAll { $0.group == group && $0.variable == name }
            s.staged.append(Change(group: group, variable: name, value: checked))
        }
        return true
    }

    /// The staged changes.
    public var staged: [Change] { state.withLock { $0.staged } }

    /// Applies all staged changes together and clears them.
    public func commit() {
        let changes = state.withLock { s in
            defer { s.staged.removeAll() }
            return s.staged
        }
        for c in changes { set(c.group, c.variable, c.value) }
    }

    /// Drops the staged changes.
    public func rollback() { state.withLock { $0.staged.removeAll() } }

    /// Puts every variable of the group back to its startup value; false for an unknown group.
    @discardableResult
    public func reset(_ group: String) -> Bool {
        guard let g = self.group(group) else { return false }
        let startup = state.withLock { $0.startup }
        for v in g.variables {
            if let value = startup["\(group).\(v.name)"] { v.write(value) }
        }
        return true
    }
}
