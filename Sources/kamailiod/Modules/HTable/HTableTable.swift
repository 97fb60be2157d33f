#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ScriptEngine

/// How one `modparam("htable", "htable", "name=>size=4;autoexpire=60;initval=0")`
/// line defines a table.
public struct HTableDefinition: Sendable, Equatable {
    /// Table name (`$sht(name=>key)`).
    public var name: String
    /// log2 of the bucket count, as Kamailio's `size` (clamped to 1...14 here).
    public var sizeBits = 4
    /// Seconds an item lives after it was set (0: for ever).
    public var autoExpire = 0
    /// Value of a missing item, when given: reads and `$shtinc` start from it.
    public var initialValue: Int32?
    /// Whether setting an item again restarts its expiry (Kamailio's `updateexpire`, default 1).
    public var updateExpire = true

    /// Parses the definition text; unknown attributes are errors, except the ones that
    /// only matter to storage and replication this server does not do (`dbtable`, `dbmode`,
    /// `dmqreplicate`, `cols`, `coldelim`, `colnull`).
    public init(parsing text: String) throws(ScriptFixupError) {
        guard let arrow = text.range(of: "=>") else { throw ScriptFixupError("expected 'name=>attr=value;...'") }
        name = String(text[..<arrow.lowerBound]).trimmedWS
        guard !name.isEmpty else { throw ScriptFixupError("the table has no name") }
        for item in text[arrow.upperBound...].split(separator: ";") {
            let pair = item.split(separator: "=", maxSplits: 1).map { String($0).trimmedWS }
            guard pair.count == 2, !pair[0].isEmpty else {
                if pair.first?.isEmpty ?? true { continue }
                throw ScriptFixupError("expected attr=value, found '\(item)'")
            }
            func int() throws(ScriptFixupError) -> Int {
                guard let v = Int(pair[1]) else { throw ScriptFixupError("'\(pair[0])' needs a number, found '\(pair[1])'") }
                return v
            }
            switch pair[0] {
            case "size": sizeBits = min(max(try int(), 1), 14)
            case "autoexpire": autoExpire = max(try int(), 0)
            case "initval": initialValue = Int32(truncatingIfNeeded: try int())
            case "updateexpire": updateExpire = try int() != 0
            case "dbtable", "dbmode", "dmqreplicate", "cols", "coldelim", "colnull": break
            default: throw ScriptFixupError("unknown htable attribute '\(pair[0])'")
            }
        }
    }
}

/// One shared hash table: items spread over `2^size` buckets, each bucket behind its
/// own recursive lock (re-entrant, as Kamailio's slot locks, so a script can `sht_lock`
/// a key and then read and write it). Expired items are dropped when next touched.
///
/// `@unchecked Sendable`: every access to `buckets[i]` happens with `locks[i]` held.
public final class HTable: @unchecked Sendable {
    /// The definition it was made from.
    public let definition: HTableDefinition
    private struct Item {
        var value: ScriptValue
        var expires: Int
    }

    private var buckets: [[String: Item]]
    private let locks: UnsafeMutablePointer<pthread_mutex_t>
    private let count: Int

    /// An empty table.
    public init(_ definition: HTableDefinition) {
        self.definition = definition
        count = 1 << definition.sizeBits
        buckets = Array(repeating: [:], count: count)
        locks = .allocate(capacity: count)
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        for i in 0..<count { pthread_mutex_init(locks + i, &attr) }
        pthread_mutexattr_destroy(&attr)
    }

    deinit {
        for i in 0..<count { pthread_mutex_destroy(locks + i) }
        locks.deallocate()
    }

    /// The bucket of a key (FNV-1a: cheap and stable across runs).
    func bucket(_ key: String) -> Int {
        var h: UInt32 = 2_166_136_261
        for b in key.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        return Int(h & UInt32(count - 1))
    }

    /// Runs `body` with the key's bucket locked.
    private func withBucket<T>(_ key: String, _ body: (inout [String: Item]) -> T) -> T {
        let b = bucket(key)
        pthread_mutex_lock(locks + b)
        defer { pthread_mutex_unlock(locks + b) }
        return body(&buckets[b])
    }

    private static func now() -> Int { Int(time(nil)) }

    /// Drops the item when it has expired; returns it otherwise.
    private static func live(_ items: inout [String: Item], _ key: String) -> Item? {
        guard let item = items[key] else { return nil }
        if item.expires != 0, item.expires <= now() {
            items[key] = nil
            return nil
        }
        return item
    }

    /// `$sht(t=>key)`: the value, the `initval` for a missing item, else null.
    public func get(_ key: String) -> ScriptValue {
        withBucket(key) { Self.live(&$0, key)?.value } ?? definition.initialValue.map { .int($0) } ?? .null
    }

    /// `$sht(t=>key) = v`; null removes the item.
    public func set(_ key: String, _ value: ScriptValue) {
        let autoExpire = definition.autoExpire, update = definition.updateExpire
        withBucket(key) { items in
            guard !value.isNull else {
                items[key] = nil
                return
            }
            let old = Self.live(&items, key)
            var expires = autoExpire > 0 ? Self.now() + autoExpire : 0
            if let old, !update { expires = old.expires }
            items[key] = Item(value: value, expires: expires)
        }
    }

    /// Removes an item; false when there was none.
    @discardableResult
    public func remove(_ key: String) -> Bool {
        withBucket(key) { $0.removeValue(forKey: key) != nil }
    }

    /// `$shtinc`/`$shtdec`: adds `delta` to an integer item under its bucket lock. A
    /// missing item starts from `initval` (and is created); without `initval`, or for a
    /// string item, nothing changes and the result is null, as observed on 5.6.
    public func add(_ key: String, _ delta: Int32) -> ScriptValue {
        let initial = definition.initialValue, autoExpire = definition.autoExpire
        return withBucket(key) { items in
            if var item = Self.live(&items, key) {
                guard case .int(let v) = item.value else { return .null }
                item.value = .int(v &+ delta)
                items[key] = item
                return item.value
            }
            guard let initial else { return .null }
            let v = ScriptValue.int(initial &+ delta)
            items[key] = Item(value: v, expires: autoExpire > 0 ? Self.now() + autoExpire : 0)
            return v
        }
    }

    /// `$shtex(t=>key)`: seconds until the item expires (0 when it does not, or is missing).
    public func expiresIn(_ key: String) -> Int32 {
        withBucket(key) { items in
            guard let item = Self.live(&items, key), item.expires != 0 else { return 0 }
            return Int32(truncatingIfNeeded: item.expires - Self.now())
        }
    }

    /// `$shtex(t=>key) = n`: the item expires `n` seconds from now (0: never).
    public func setExpires(_ key: String, _ seconds: Int32) {
        withBucket(key) { items in
            guard var item = Self.live(&items, key) else { return }
            item.expires = seconds > 0 ? Self.now() + Int(seconds) : 0
            items[key] = item
        }
    }

    /// `sht_lock(t=>key)`: holds the key's bucket lock until `unlock` (same thread).
    public func lock(_ key: String) { pthread_mutex_lock(locks + bucket(key)) }

    /// `sht_unlock(t=>key)`.
    public func unlock(_ key: String) { pthread_mutex_unlock(locks + bucket(key)) }

    /// Removes every item (`sht_reset`).
    public func reset() {
        for b in 0..<count {
            pthread_mutex_lock(locks + b)
            buckets[b].removeAll()
            pthread_mutex_unlock(locks + b)
        }
    }

    /// Removes the items whose name (or value) matches `matches`; walks bucket by bucket.
    public func removeAll(where matches: (String, ScriptValue) -> Bool) {
        for b in 0..<count {
            pthread_mutex_lock(locks + b)
            buckets[b] = buckets[b].filter { !matches($0.key, $0.value.value) }
            pthread_mutex_unlock(locks + b)
        }
    }

    /// Number of live items whose name satisfies `matches` (`$shtcn`).
    public func count(where matches: (String) -> Bool) -> Int {
        var n = 0
        let t = Self.now()
        for b in 0..<count {
            pthread_mutex_lock(locks + b)
            n += buckets[b].filter { ($0.value.expires == 0 || $0.value.expires > t) && matches($0.key) }.count
            pthread_mutex_unlock(locks + b)
        }
        return n
    }

    /// Number of buckets (`2^size`; `htable.stats` calls them slots).
    public var bucketCount: Int { count }

    /// The live item and its absolute expiry (seconds since the epoch, 0: never), for
    /// `htable.get`, which shows both; nil when missing (no `initval` fallback here,
    /// since the RPC reports a missing key as an error).
    public func entry(_ key: String) -> (value: ScriptValue, expires: Int)? {
        withBucket(key) { items in Self.live(&items, key).map { ($0.value, $0.expires) } }
    }

    /// The live items grouped by bucket: only non-empty buckets, in bucket order, items
    /// sorted by name so dumps are stable (`htable.dump`, `htable.stats`).
    public func bucketContents() -> [(bucket: Int, items: [(key: String, value: ScriptValue)])] {
        var out: [(bucket: Int, items: [(key: String, value: ScriptValue)])] = []
        let t = Self.now()
        for b in 0..<count {
            pthread_mutex_lock(locks + b)
            let live = buckets[b].filter { $0.value.expires == 0 || $0.value.expires > t }
                .map { (key: $0.key, value: $0.value.value) }
            pthread_mutex_unlock(locks + b)
            if !live.isEmpty { out.append((b, live.sorted { $0.key < $1.key })) }
        }
        return out
    }

    /// Every live item, bucket by bucket (RPC dumps, tests).
    public func items() -> [(key: String, value: ScriptValue)] {
        var out: [(key: String, value: ScriptValue)] = []
        let t = Self.now()
        for b in 0..<count {
            pthread_mutex_lock(locks + b)
            for (k, v) in buckets[b] where v.expires == 0 || v.expires > t { out.append((k, v.value)) }
            pthread_mutex_unlock(locks + b)
        }
        return out
    }
}
