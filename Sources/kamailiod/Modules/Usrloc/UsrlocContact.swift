/// One binding of an address-of-record to a contact address (RFC 3261 §10.3), with the
/// fields Kamailio keeps per contact so the `location` table row round-trips.
public struct UsrlocContact: Sendable, Equatable {
    /// Record unique id (`location.ruid`): the key of the row in the database.
    public var ruid: String
    /// The address-of-record key: `user` or `user@domain` with `use_domain`.
    public var aor: String
    /// The contact URI as registered.
    public var contact: String
    /// Source address the REGISTER came from when it differs (`sip:ip:port`), or nil.
    public var received: String?
    /// The Path header values of the REGISTER (RFC 3327), joined with `,`; nil for none.
    public var path: String?
    /// Absolute expiry time (seconds since the epoch); 0 for a permanent binding.
    public var expires: Int
    /// q-value times 1000 (0...1000); -1 when the contact gave none.
    public var q: Int
    /// Call-ID of the REGISTER that made the binding (§10.3 step 7 ordering).
    public var callID: String
    /// CSeq number of that REGISTER.
    public var cseq: Int
    /// usrloc flags (`FL_*`).
    public var flags: Int
    /// Branch flags saved with the contact.
    public var cflags: Int
    /// User-Agent of the registering client.
    public var userAgent: String
    /// Socket the REGISTER arrived on (`udp:127.0.0.1:5060`), nil when unknown.
    public var socket: String?
    /// Methods mask from the contact's `methods` parameter; nil when not given.
    public var methods: Int?
    /// `+sip.instance` (RFC 5626), nil when absent.
    public var instance: String?
    /// `reg-id` (RFC 5626), 0 when absent.
    public var regID: Int
    /// When the binding last changed (seconds since the epoch).
    public var lastModified: Int

    /// Creates a contact.
    public init(ruid: String, aor: String, contact: String, received: String? = nil, path: String? = nil,
                expires: Int, q: Int = -1, callID: String, cseq: Int, flags: Int = 0, cflags: Int = 0,
                userAgent: String = "", socket: String? = nil, methods: Int? = nil, instance: String? = nil,
                regID: Int = 0, lastModified: Int) {
        self.ruid = ruid
        self.aor = aor
        self.contact = contact
        self.received = received
        self.path = path
        self.expires = expires
        self.q = q
        self.callID = callID
        self.cseq = cseq
        self.flags = flags
        self.cflags = cflags
        self.userAgent = userAgent
        self.socket = socket
        self.methods = methods
        self.instance = instance
        self.regID = regID
        self.lastModified = lastModified
    }

    /// True when the binding is no longer valid at `now` (permanent ones never expire).
    public func isExpired(at now: Int) -> Bool { expires != 0 && expires <= now }

    /// Seconds left at `now` (0 for expired; a permanent binding reports 0 too).
    public func remaining(at now: Int) -> Int { expires == 0 ? 0 : max(0, expires - now) }

    /// The q-value as Kamailio prints it (`0.5`, `1`), nil when unspecified.
    public var qText: String? {
        guard q >= 0 else { return nil }
        if q == 1000 { return "1" }
        if q == 0 { return "0" }
        var frac = String(q)
        while frac.count < 3 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return "0." + frac
    }

    /// Parses a q-value (`0.5`, `1.000`; RFC 3261 §20.10 qvalue) into 0...1000.
    public static func parseQ<C: Collection<UInt8>>(_ text: C) -> Int? {
        var it = text.makeIterator()
        guard let first = it.next(), first == UInt8(ascii: "0") || first == UInt8(ascii: "1") else { return nil }
        var value = Int(first - 48) * 1000
        guard let dot = it.next() else { return value }
        guard dot == UInt8(ascii: ".") else { return nil }
        var scale = 100
        while let d = it.next() {
            guard d >= 48, d <= 57, scale >= 1 else { return nil }
            value += Int(d - 48) * scale
            scale /= 10
        }
        return value <= 1000 ? value : nil
    }
}
