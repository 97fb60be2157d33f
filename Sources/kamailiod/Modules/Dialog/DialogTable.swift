import SIPCore
import ScriptEngine
import Synchronization

/// Dialog states as Kamailio numbers them (`$dlg(state)`, `dlg.list`).
public enum DialogState: Int, Sendable {
    /// INVITE sent on, no reply with a To-tag yet.
    case unconfirmed = 1
    /// A provisional reply with a To-tag (early dialog, RFC 3261 §12.1).
    case early = 2
    /// 2xx relayed, ACK not seen yet.
    case confirmedNoACK = 3
    /// 2xx and ACK.
    case confirmed = 4
    /// Ended by BYE, a failure reply or a timeout.
    case deleted = 5
}

/// One tracked dialog. Mutable fields are guarded by the table bucket's lock.
public final class Dialog: @unchecked Sendable {
    /// Bucket and id within it (Kamailio's h_entry / h_id).
    public let entry: Int
    /// Id in the bucket.
    public let id: UInt32
    /// Call-ID.
    public let callID: [UInt8]
    /// From tag of the caller.
    public let fromTag: [UInt8]
    /// Creation time (seconds since the epoch).
    public let created: Int
    /// State.
    public internal(set) var state: DialogState = .unconfirmed
    /// To tag of the callee, once known.
    public internal(set) var toTag: [UInt8] = []
    /// When it was confirmed (0: not yet).
    public internal(set) var started = 0
    /// `$dlg_var(name)` values.
    var vars: [String: [UInt8]] = [:]
    /// `dlg_setflag` bits.
    var flags: UInt32 = 0

    init(entry: Int, id: UInt32, callID: [UInt8], fromTag: [UInt8], created: Int) {
        self.entry = entry
        self.id = id
        self.callID = callID
        self.fromTag = fromTag
        self.created = created
    }
}

/// Counters of the dialog module (Kamailio's `dialog:` group).
public final class DialogStatistics: Sendable {
    /// Dialogs confirmed now.
    public let active = Atomic<Int>(0)
    /// Dialogs in early state now.
    public let early = Atomic<Int>(0)
    /// Dialogs created.
    public let processed = Atomic<UInt64>(0)
    /// Dialogs ended by timeout.
    public let expired = Atomic<UInt64>(0)
    /// Dialogs that never got a 2xx.
    public let failed = Atomic<UInt64>(0)
}

/// The dialog table: Call-ID hash buckets, each with its own lock (architecture.md).
final class DialogTable: Sendable {
    /// One bucket: its dialogs under one lock.
    final class Bucket: Sendable {
        let dialogs = Mutex<[Dialog]>([])
    }

    /// The buckets.
    let buckets: [Bucket]
    private let nextID = Atomic<UInt32>(1)
    let stats = DialogStatistics()

    init(size: Int = 4096) {
        buckets = (0..<size).map { _ in Bucket() }
    }

    /// The bucket of a Call-ID.
    func bucket<C: Collection<UInt8>>(_ callID: C) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in callID { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return Int(h % UInt64(buckets.count))
    }

    /// A new dialog for an initial INVITE.
    func create(callID: [UInt8], fromTag: [UInt8], now: Int) -> Dialog {
        let e = bucket(callID)
        let d = Dialog(entry: e, id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, callID: callID,
                       fromTag: fromTag, created: now)
        buckets[e].dialogs.withLock { $0.append(d) }
        stats.processed.wrappingAdd(1, ordering: .relaxed)
        return d
    }

    /// The dialog of a request: same Call-ID, and the From/To tags in either direction
    /// (a BYE may come from the callee, RFC 3261 §12.2.1.1).
    func find<C: Collection<UInt8>>(callID: C, fromTag: ArraySlice<UInt8>, toTag: ArraySlice<UInt8>?) -> Dialog? {
        buckets[bucket(callID)].dialogs.withLock { list in
            list.first { d in
                guard d.callID.elementsEqual(callID), d.state != .deleted else { return false }
                if d.fromTag.elementsEqual(fromTag) {
                    return toTag == nil || d.toTag.isEmpty || d.toTag.elementsEqual(toTag ?? [])
                }
                if let toTag, d.fromTag.elementsEqual(toTag) { return d.toTag.elementsEqual(fromTag) }
                return false
            }
        }
    }

    /// Runs `body` on a dialog under its bucket's lock.
    func update<T>(_ d: Dialog, _ body: (Dialog) -> T) -> T {
        buckets[d.entry].dialogs.withLock { _ in body(d) }
    }

    /// Moves a dialog to `state`, keeping the counters right; deleted dialogs leave the table.
    func transition(_ d: Dialog, to new: DialogState, now: Int) {
        let old: DialogState = buckets[d.entry].dialogs.withLock { list in
            let old = d.state
            guard old != .deleted, old != new else { return old }
            // no way back from confirmed to early (late provisional after the 2xx)
            if new == .early && old.rawValue >= DialogState.confirmedNoACK.rawValue { return old }
            if new == .confirmedNoACK && old == .confirmed { return old }
            d.state = new
            if new == .confirmedNoACK || new == .confirmed, d.started == 0 { d.started = now }
            if new == .deleted { list.removeAll { $0 === d } }
            return old
        }
        guard old != d.state else { return }
        if old == .early { stats.early.wrappingSubtract(1, ordering: .relaxed) }
        if d.state == .early { stats.early.wrappingAdd(1, ordering: .relaxed) }
        let wasActive = old == .confirmed || old == .confirmedNoACK
        let isActive = d.state == .confirmed || d.state == .confirmedNoACK
        if !wasActive && isActive { stats.active.wrappingAdd(1, ordering: .relaxed) }
        if wasActive && !isActive { stats.active.wrappingSubtract(1, ordering: .relaxed) }
        if d.state == .deleted && !wasActive { stats.failed.wrappingAdd(1, ordering: .relaxed) }
    }

    /// Dialogs in the table now (tests, RPC).
    var count: Int { buckets.reduce(0) { $0 + $1.dialogs.withLock { $0.count } } }
}
