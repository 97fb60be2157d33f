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

/// One side of a dialog as this proxy sees it: what a request towards that side needs
/// (RFC 3261 §12.2.1.1) and the last CSeq that side used.
public struct DialogLeg: Sendable {
    /// The side's tag (From tag of the caller, To tag of the callee).
    public var tag: [UInt8] = []
    /// Its Contact URI (the remote target).
    public var contact: [UInt8] = []
    /// The highest CSeq seen in its requests.
    public var cseq: UInt32 = 0
    /// Route set towards it from here, nearest hop first (URIs, no `<>`).
    public var routeSet: [[UInt8]] = []
    /// Listener the side talks to (-1: unknown).
    public var socket = -1
    /// False until the leg is known (the callee's with the 2xx).
    public var known = false
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
    /// To tag of the callee, once known (from a provisional or the 2xx).
    public internal(set) var toTag: [UInt8] = []
    /// When it was confirmed (0: not yet).
    public internal(set) var started = 0
    /// When it ended (0: not yet).
    public internal(set) var ended = 0
    /// From URI, To URI and Request-URI of the INVITE.
    public internal(set) var fromURI: [UInt8] = []
    public internal(set) var toURI: [UInt8] = []
    public internal(set) var requestURI: [UInt8] = []
    /// The two sides.
    public internal(set) var caller = DialogLeg()
    public internal(set) var callee = DialogLeg()
    /// Seconds the confirmed dialog may last (`default_timeout`, `dlg_set_timeout`).
    public internal(set) var lifetime = 43200
    /// When the lifetime runs out (epoch seconds; 0 while not confirmed).
    public internal(set) var timeoutAt = 0
    /// The same deadline on the monotonic clock (milliseconds), what the timer checks.
    var timeoutDue: UInt64 = 0
    /// Creation and confirmation (2xx) on the monotonic clock, for early_timeout and
    /// noack_timeout.
    var createdClock: UInt64 = 0
    var startedClock: UInt64 = 0
    /// True once noack_timeout cut the lifetime of a dialog whose ACK never came.
    var noackCut = false
    /// A dialog ended by a BYE stays listed (state 5) until its BYE transaction is over:
    /// when it ended and when to let it go (monotonic ms; 0: at end_timeout).
    var endedClock: UInt64 = 0
    var lingerDue: UInt64 = 0
    /// `$dlg_ctx(timeout_route)`: route[NAME] run when the lifetime runs out.
    var timeoutRoute: String?
    /// db_mode: changed since the last write (2, 3); has rows in the database.
    var dbDirty = false
    var inDB = false
    /// `$dlg_var(name)` values, newest first (the order `dlg.list` shows).
    var vars: [(name: String, value: [UInt8])] = []
    /// Profiles the dialog is in: name and value (nil for a profile without values).
    var profiles: [(name: String, value: [UInt8]?)] = []
    /// `dlg_setflag` bits (Kamailio's sflags).
    var flags: UInt32 = 0
    /// Internal flags (Kamailio's iflags: 1 = send BYEs on timeout).
    var iflags: UInt32 = 0
    /// The services of the worker that created it (event routes run off a worker).
    var services: (any ScriptServices)?
    /// True once a 2xx was seen (starts the lifetime and `dialog:start` once).
    var answered = false
    /// True once BYEs went out for it (dlg_bye, dlg.end_dlg, timeout).
    var byeSent = false
    /// When the next keep-alive goes (monotonic ms; 0: not scheduled yet), and the
    /// failed ones in a row per side.
    var keepaliveDue: UInt64 = 0
    var keepaliveFailedCaller = 0
    var keepaliveFailedCallee = 0
    /// True once failed keep-alives cut the lifetime to 10 s (in-dialog requests no
    /// longer restart it).
    var keepaliveCut = false

    /// `iflags` bit: BYE both sides when the lifetime runs out (`$dlg_ctx(timeout_bye)`).
    static let timeoutBye: UInt32 = 1

    init(entry: Int, id: UInt32, callID: [UInt8], fromTag: [UInt8], created: Int) {
        self.entry = entry
        self.id = id
        self.callID = callID
        self.fromTag = fromTag
        self.created = created
        caller.tag = fromTag
        caller.known = true
    }

    /// A dialog ended by a BYE is done with by `now` (monotonic ms): its BYE transaction
    /// is over, or `endTimeout` ms passed since the BYE (bucket lock held).
    func ended(by now: UInt64, endTimeout: UInt64) -> Bool {
        (lingerDue != 0 && lingerDue <= now) || endedClock + endTimeout <= now
    }

    /// A `$dlg_var` value.
    func variable(_ name: String) -> [UInt8]? { vars.first { $0.name == name }?.value }

    /// Sets (or with nil removes) a `$dlg_var` value.
    func setVariable(_ name: String, _ value: [UInt8]?) {
        vars.removeAll { $0.name == name }
        if let value { vars.insert((name, value), at: 0) }
    }

    /// Kamailio's dflags as `dlg.list` shows them: TM-tracked (512), variables (128) and
    /// profiles (1024) changed, and new/changed (1|2) once confirmed.
    var dflags: Int {
        var f = 512
        if !vars.isEmpty { f |= 128 }
        if !profiles.isEmpty { f |= 1024 }
        if state.rawValue >= DialogState.confirmedNoACK.rawValue { f |= 3 }
        return f
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
    /// Called (outside the bucket lock) for each dialog that leaves the table (db_mode).
    let onDelete = Mutex<(@Sendable (Dialog) -> Void)?>(nil)

    init(size: Int = 4096) {
        buckets = (0..<size).map { _ in Bucket() }
    }

    /// Drops the storage of empty buckets (idle ticks only, see `TMTable`). Returns how
    /// many it freed.
    @discardableResult
    func releaseEmptyStorage() -> Int {
        var n = 0
        for b in buckets {
            b.dialogs.withLock { list in
                if list.isEmpty, list.capacity > 0 {
                    list = []
                    n += 1
                }
            }
        }
        return n
    }

    /// The bucket of a Call-ID: Kamailio's `core_hash` (bytes as signed chars, four at a
    /// time), so `h_entry` is what Kamailio computes and its dialog table accepts our rows
    /// (it refuses a `hash_entry` it would not have computed).
    func bucket<C: Collection<UInt8>>(_ callID: C) -> Int {
        @inline(__always) func mix(_ h: inout UInt32, _ v: UInt32) { h = h &+ (v ^ (v >> 3)) }
        var h: UInt32 = 0
        var word: Int32 = 0, n = 0
        for b in callID {
            word = (word << 8) &+ Int32(Int8(bitPattern: b))
            n += 1
            if n == 4 {
                mix(&h, UInt32(bitPattern: word))
                word = 0
                n = 0
            }
        }
        mix(&h, UInt32(bitPattern: word))  // the 0-3 bytes left (0 when none)
        h = (h &+ (h >> 11)) &+ ((h >> 13) &+ (h >> 23))
        let size = UInt32(buckets.count)
        return Int(size & (size - 1) == 0 ? h & (size - 1) : h % size)
    }

    /// A new dialog for an initial INVITE, made at `now` (epoch seconds) and `clock`
    /// (monotonic milliseconds).
    func create(callID: [UInt8], fromTag: [UInt8], now: Int, clock: UInt64 = 0) -> Dialog {
        let e = bucket(callID)
        let d = Dialog(entry: e, id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, callID: callID,
                       fromTag: fromTag, created: now)
        d.createdClock = clock
        buckets[e].dialogs.withLock { $0.append(d) }
        stats.processed.wrappingAdd(1, ordering: .relaxed)
        return d
    }

    /// Puts back a dialog loaded from the database (confirmed), counted active; new
    /// dialogs get ids above its.
    func restore(_ d: Dialog) {
        buckets[d.entry].dialogs.withLock { $0.append(d) }
        var cur = nextID.load(ordering: .relaxed)
        while cur <= d.id {
            let (done, now) = nextID.compareExchange(expected: cur, desired: d.id &+ 1, ordering: .relaxed)
            if done { break }
            cur = now
        }
        stats.active.wrappingAdd(1, ordering: .relaxed)
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

    /// The dialog with this h_entry and h_id (RPC, timers).
    func find(entry: Int, id: UInt32) -> Dialog? {
        guard entry >= 0, entry < buckets.count else { return nil }
        return buckets[entry].dialogs.withLock { list in list.first { $0.id == id } }
    }

    /// Every dialog, bucket by bucket (each bucket locked only while it is copied).
    func all() -> [Dialog] {
        var out: [Dialog] = []
        for b in buckets { b.dialogs.withLock { out += $0 } }
        return out
    }

    /// Profile sizes: profile name → value (empty for profiles without values) → dialogs,
    /// kept as dialogs join and leave so `get_profile_size` needs no walk of the table.
    /// Taken under a bucket lock, never the other way round.
    let profileCounts = Mutex<[String: [[UInt8]: Int]]>([:])

    /// Adds `d` to a profile (bucket lock held); false when it was in already.
    @discardableResult
    func joinProfile(_ d: Dialog, _ name: String, _ value: [UInt8]?) -> Bool {
        guard d.state != .deleted, !d.profiles.contains(where: { $0.name == name && $0.value == value }) else { return false }
        d.profiles.insert((name, value), at: 0)  // newest first, the order dlg.list shows
        profileCounts.withLock { $0[name, default: [:]][value ?? [], default: 0] += 1 }
        return true
    }

    /// Removes `d` from a profile (any value when `value` is nil; bucket lock held); false
    /// when it was not in it.
    @discardableResult
    func leaveProfile(_ d: Dialog, _ name: String, _ value: [UInt8]?) -> Bool {
        let gone = d.profiles.filter { $0.name == name && (value == nil || $0.value == value) }
        guard !gone.isEmpty else { return false }
        d.profiles.removeAll { $0.name == name && (value == nil || $0.value == value) }
        profileCounts.withLock { counts in
            for p in gone {
                let key = p.value ?? []
                let n = (counts[p.name]?[key] ?? 1) - 1
                counts[p.name]?[key] = n > 0 ? n : nil
            }
        }
        return true
    }

    /// Dialogs in profile `name` (with `value` when given).
    func profileSize(_ name: String, value: [UInt8]?) -> Int {
        profileCounts.withLock { counts in
            guard let values = counts[name] else { return 0 }
            if let value { return values[value] ?? 0 }
            return values.values.reduce(0, +)
        }
    }

    /// Runs `body` on a dialog under its bucket's lock.
    func update<T>(_ d: Dialog, _ body: (Dialog) -> T) -> T {
        buckets[d.entry].dialogs.withLock { _ in body(d) }
    }

    /// Moves a dialog to `state`, keeping the counters right; deleted dialogs leave the
    /// table. Returns the state it was in (taken under the lock: of two callers racing to
    /// delete it, one sees it not deleted yet).
    /// `countFailed` false: a dialog dropped unanswered is not counted failed (early_timeout).
    /// `keep`: a deleted dialog stays in the table (listed, never matched) until `remove`.
    @discardableResult
    func transition(_ d: Dialog, to new: DialogState, now: Int, countFailed: Bool = true, keep: Bool = false) -> DialogState {
        let old: DialogState = buckets[d.entry].dialogs.withLock { list in
            let old = d.state
            guard old != .deleted, old != new else { return old }
            // no way back from confirmed to early (late provisional after the 2xx)
            if new == .early && old.rawValue >= DialogState.confirmedNoACK.rawValue { return old }
            if new == .confirmedNoACK && old == .confirmed { return old }
            d.state = new
            // a 2xx sets the start itself, after event_route[dialog:start] (as Kamailio)
            if new == .confirmed, d.started == 0 { d.started = now }
            if new == .deleted {
                d.ended = now
                if !keep { list.removeAll { $0 === d } }
                // a dialog leaves its profiles with the table (get_profile_size counts live ones)
                for p in d.profiles { leaveProfile(d, p.name, p.value) }
            }
            return old
        }
        guard old != d.state else { return old }
        if old == .early { stats.early.wrappingSubtract(1, ordering: .relaxed) }
        if d.state == .early { stats.early.wrappingAdd(1, ordering: .relaxed) }
        let wasActive = old == .confirmed || old == .confirmedNoACK
        let isActive = d.state == .confirmed || d.state == .confirmedNoACK
        if !wasActive && isActive { stats.active.wrappingAdd(1, ordering: .relaxed) }
        if wasActive && !isActive { stats.active.wrappingSubtract(1, ordering: .relaxed) }
        if d.state == .deleted && !wasActive && countFailed { stats.failed.wrappingAdd(1, ordering: .relaxed) }
        if d.state == .deleted, let gone = onDelete.withLock({ $0 }) { gone(d) }
        return old
    }

    /// Takes a deleted dialog `transition(keep:)` left in the table out of it.
    func remove(_ d: Dialog) {
        buckets[d.entry].dialogs.withLock { $0.removeAll { $0 === d } }
    }

    /// Dialogs in the table now (tests, RPC).
    var count: Int { buckets.reduce(0) { $0 + $1.dialogs.withLock { $0.count } } }
}
