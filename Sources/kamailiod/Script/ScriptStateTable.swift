/// Module state attached to one message (a transaction, parsed credentials, pending
/// Record-Route...), keyed by the state's type. A message carries at most a handful,
/// so a linear scan over a small array beats a dictionary: no hashing and one
/// allocation per message instead of a hash table's, on the hottest path there is.
public struct ScriptStateTable {
    private var entries: [(key: ObjectIdentifier, value: AnyObject)] = []

    /// Slots for the states nearly every proxied message has, read many times per
    /// message: a stored field needs no scan and, written only by its module's getter
    /// with its own type, no checked cast (`unsafeDowncast` there).
    public var core: AnyObject?
    public var tm: AnyObject?
    public var rr: AnyObject?
    public var dialog: AnyObject?

    /// An empty table.
    public init() {}

    /// The state stored under `key`, or nil; storing nil removes it.
    public subscript(key: ObjectIdentifier) -> AnyObject? {
        get {
            for e in entries where e.key == key { return e.value }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[i].value = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                if entries.isEmpty { entries.reserveCapacity(6) }
                entries.append((key, newValue))
            }
        }
    }
}
