#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// A plain mutex that can be taken and released in different scopes: a transaction's
/// reply lock is held across `failure_route`, whose `t_relay()` adds branches to it.
final class TMLock: @unchecked Sendable {
    private let m: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        m = .allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
    }

    deinit {
        pthread_mutex_destroy(m)
        m.deallocate()
    }

    /// Takes the lock.
    func lock() { pthread_mutex_lock(m) }
    /// Releases the lock.
    func unlock() { pthread_mutex_unlock(m) }

    /// Runs `body` holding the lock.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// What identifies a server transaction (RFC 3261 §17.2.3), and the RFC 2543 fields for
/// requests whose branch lacks the magic cookie. The fields are slices of the request's
/// own bytes (which the transaction keeps anyway): building a key copies nothing. A
/// class: the key is read several times per request, and a copy of a struct of seven
/// slices would cost seven retains.
final class TMMatchKey: Sendable {
    /// z9hG4bK branch of the top Via, when RFC 3261.
    let branch: ArraySlice<UInt8>?
    /// Top Via sent-by host.
    let sentByHost: ArraySlice<UInt8>
    /// Top Via sent-by port (5060 when absent, as §18.2.2 reads it).
    let sentByPort: Int
    /// Call-ID.
    let callID: ArraySlice<UInt8>
    /// CSeq number.
    let cseq: UInt32
    /// From tag.
    let fromTag: ArraySlice<UInt8>
    /// To tag (empty for an initial request).
    let toTag: ArraySlice<UInt8>
    /// Whole top Via value (RFC 2543 §17.2.3 fallback).
    let topVia: ArraySlice<UInt8>
    /// Request-URI as received.
    let requestURI: ArraySlice<UInt8>

    init?(_ msg: SIPMessage) {
        guard let via = try? msg.topVia(), let cs = try? msg.cseq(), let cid = msg.callID else { return nil }
        branch = via.hasRFC3261Branch ? via.branch : nil
        sentByHost = via.host.text
        sentByPort = Int(via.port ?? 5060)
        callID = cid
        cseq = cs.number
        fromTag = msg.fromTag ?? []
        toTag = msg.toTag ?? []
        topVia = msg.bytes[via.range]
        requestURI = msg.requestURIBytes
    }

    /// The bucket: Call-ID and CSeq number, which an INVITE, its ACK and its CANCEL share.
    func bucket(_ count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in callID { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        h = (h ^ UInt64(cseq)) &* 0x0000_0100_0000_01b3
        return Int(h % UInt64(count))
    }

    /// True when `other` (a new request) belongs to the transaction keyed by `self`.
    /// An ACK compares as its INVITE; the RFC 2543 rule ignores the To tag of an ACK,
    /// which carries the tag of our reply (§17.2.3).
    func matches(_ other: TMMatchKey, ack: Bool) -> Bool {
        if let b = branch, let ob = other.branch {
            return b == ob && sentByPort == other.sentByPort && sentByHost == other.sentByHost
        }
        guard branch == nil, other.branch == nil else { return false }
        return callID == other.callID && cseq == other.cseq && fromTag == other.fromTag
            && topVia == other.topVia && (ack || toTag == other.toTag)
            && (ack || requestURI == other.requestURI)
    }
}

/// One branch of a transaction: the client transaction and what it needs to resend,
/// ACK and CANCEL.
struct TMBranch {
    /// The client transaction.
    var fsm: TMClientFSM
    /// Request-URI of the branch.
    var uri: [UInt8]
    /// Where the branch goes.
    var destination: Destination
    /// The request as sent (for retransmissions, ACK and CANCEL).
    var request: [UInt8]
    /// Final reply as it would go upstream (our Via removed), to relay if it is the best.
    var reply: [UInt8]?
    /// Reply received on this branch (0: none).
    var code: Int { fsm.code }
    /// CANCEL wanted but no provisional yet (§9.1: wait for one).
    var cancelPending = false
    /// A provisional reply arrived (a CANCEL may be sent, §9.1).
    var gotProvisional = false
    /// The CANCEL client transaction, once sent.
    var cancel: TMClientFSM?
    /// The CANCEL as sent.
    var cancelRequest: [UInt8]?
    /// This branch was added by a failure_route round that is still waiting.
    var round = 0
    /// `t_drop_replies()` took this branch's reply out of the final choice.
    var dropped = false
    /// usrloc record id of the contact this branch goes to (`$T(ruid)`).
    var ruid: [UInt8]?
}

/// A transaction ("cell" in Kamailio): the server transaction of the received request
/// and its branches. Everything mutable is guarded by `lock` (Kamailio's reply lock).
final class TMCell: @unchecked Sendable {
    /// Id in the table; its low bits are the bucket.
    let id: UInt64
    let lock = TMLock()
    /// What identifies the received request.
    let key: TMMatchKey
    /// Method of the received request.
    let method: SIPMethod
    /// True for an INVITE transaction.
    var isInvite: Bool { method == .invite }
    /// The request as received.
    let request: [UInt8]
    /// Where the request came from.
    let info: ReceiveInfo
    /// Logging and `myself`, for routes run later.
    let services: any ScriptServices
    /// Where replies go (§18.2.2).
    let replyDestination: Destination
    /// Creation time (monotonic ms).
    let created: UInt64
    /// When the transaction's lifetime ends (max_inv_lifetime / max_noninv_lifetime
    /// after creation): no branch waits beyond it, and `tm.clean` may drop it after.
    let lifetimeEnd: UInt64
    /// A transaction of a request we generated (Kamailio's T_IS_LOCAL_FLAG).
    var isLocal = false

    // guarded by lock
    /// The server transaction.
    var server: TMServerFSM
    /// Timer values of this transaction (`t_set_fr` changes them).
    var timers: TMTimerValues
    /// Last reply sent upstream, replayed for retransmissions.
    var lastReply: [UInt8]?
    /// Branches in the order they were sent.
    var branches: [TMBranch] = []
    /// The request with request_route's edits, the base for branches added later.
    var forwardBase: [UInt8]
    /// Armed failure_route.
    var onFailure: ScriptRouteRef?
    /// Armed onreply_route.
    var onReply: ScriptRouteRef?
    /// Armed branch_route.
    var onBranch: ScriptRouteRef?
    /// The script the armed routes belong to: a transaction keeps the one it started
    /// with, so its failure/reply routes stay valid across `cfg.reload_script`.
    var script: LoadedScript?
    /// Message flags, back in failure_route.
    var flags: UInt32 = 0
    /// AVPs of the request, back in failure_route (Kamailio keeps them with the transaction).
    var avps: [String: [ScriptValue]] = [:]
    /// Contact groups still to try (serial forking, `t_next_contacts` in failure_route).
    var contactGroups: [[TMBranchTarget]] = []
    /// `force_send_socket` of request_route, for branches failure_route starts (-1: none).
    var forcedSocket = -1
    /// Socket-dependent edits (rr's double Record-Route) found in `forwardBase`, for the
    /// branches failure_route starts.
    var branchEdits: [any CoreBranchEdit] = []
    var canceled = false
    /// Code of the last reply received on any branch (`$T(reply_last)`).
    var lastReceivedCode = 0
    var round = 0
    var removed = false
    /// Called with each reply code above 100 relayed or sent (dialog tracking).
    var replyCallbacks: [@Sendable (Int, SIPMessage?) -> Void] = []

    init(id: UInt64, key: TMMatchKey, msg: SIPMessage, info: ReceiveInfo, services: any ScriptServices,
         replyDestination: Destination, timers: TMTimerValues, now: UInt64) {
        self.id = id
        self.key = key
        method = msg.method
        request = msg.bytes
        self.info = info
        self.services = services
        self.replyDestination = replyDestination
        self.timers = timers
        created = now
        lifetimeEnd = now + (msg.method == .invite ? timers.maxInvLifetime : timers.maxNoninvLifetime)
        server = TMServerFSM(isInvite: msg.method == .invite, reliable: info.proto.isStream, timers: timers)
        forwardBase = msg.bytes
    }

    /// True while some branch waits for its final reply.
    var hasPendingBranch: Bool { branches.contains { $0.fsm.isPending } }
}

/// The transaction table: buckets with their own locks (architecture.md, habit 3).
final class TMTable: Sendable {
    /// log2 of the number of buckets.
    static let bucketBits = 12
    let count = 1 << TMTable.bucketBits
    /// One bucket: its cells by id, under its own lock.
    final class Bucket: Sendable {
        let cells = Mutex<[UInt64: TMCell]>([:])
    }

    private let buckets: [Bucket]
    private let nextID = Atomic<UInt64>(1)
    /// Transactions in the table.
    let current = Atomic<Int>(0)
    /// Transactions ever inserted (`created` of tm.stats).
    let created = Atomic<UInt64>(0)
    /// Transactions removed (`freed` of tm.stats).
    let freed = Atomic<UInt64>(0)

    init() {
        buckets = (0..<(1 << TMTable.bucketBits)).map { _ in Bucket() }
    }

    /// A fresh id whose low bits name `bucket`.
    func makeID(bucket: Int) -> UInt64 {
        (nextID.wrappingAdd(1, ordering: .relaxed).oldValue << UInt64(TMTable.bucketBits)) | UInt64(bucket)
    }

    /// Looks a cell up by id (replies, timers).
    func cell(_ id: UInt64) -> TMCell? {
        buckets[Int(id & UInt64(count - 1))].cells.withLock { $0[id] }
    }

    /// The transaction a request belongs to: `method` is INVITE for an ACK or for the
    /// INVITE a CANCEL refers to.
    func find(_ key: TMMatchKey, method: SIPMethod, ack: Bool) -> TMCell? {
        buckets[key.bucket(count)].cells.withLock { b in
            b.values.first { $0.method == method && $0.key.matches(key, ack: ack) }
        }
    }

    /// Inserts `cell` unless a matching transaction got there first (a retransmission
    /// handled by another worker); returns the one in the table.
    func insert(_ cell: TMCell) -> (cell: TMCell, inserted: Bool) {
        let r: (TMCell, Bool) = buckets[Int(cell.id & UInt64(count - 1))].cells.withLock { b in
            if let other = b.values.first(where: { $0.method == cell.method && $0.key.matches(cell.key, ack: false) }) {
                return (other, false)
            }
            b[cell.id] = cell
            return (cell, true)
        }
        if r.1 {
            current.wrappingAdd(1, ordering: .relaxed)
            created.wrappingAdd(1, ordering: .relaxed)
        }
        return r
    }

    /// Removes a cell.
    func remove(_ cell: TMCell) {
        let gone = buckets[Int(cell.id & UInt64(count - 1))].cells.withLock { $0.removeValue(forKey: cell.id) != nil }
        if gone {
            current.wrappingSubtract(1, ordering: .relaxed)
            freed.wrappingAdd(1, ordering: .relaxed)
        }
    }

    /// Drops the storage of empty buckets (idle ticks only: at traffic the storage is
    /// reused, and a fresh insert would allocate it again). Returns how many it freed.
    @discardableResult
    func releaseEmptyStorage() -> Int {
        var n = 0
        for b in buckets {
            b.cells.withLock { d in
                if d.isEmpty, d.capacity > 0 {
                    d = [:]
                    n += 1
                }
            }
        }
        return n
    }

    /// Every cell, bucket by bucket (RPC dumps, tests).
    func allCells() -> [TMCell] {
        buckets.flatMap { $0.cells.withLock { Array($0.values) } }
    }

    /// The cells of each non-empty bucket, newest first within a bucket (the order
    /// Kamailio's tm.list shows), one bucket lock at a time.
    func cellsByBucket() -> [(bucket: Int, cells: [TMCell])] {
        var out: [(Int, [TMCell])] = []
        for (i, b) in buckets.enumerated() {
            let cells = b.cells.withLock { $0.isEmpty ? [] : $0.values.sorted { $0.id > $1.id } }
            if !cells.isEmpty { out.append((i, cells)) }
        }
        return out
    }
}
