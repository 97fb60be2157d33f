/// A name-addr or addr-spec with header parameters (RFC 3261 §20.10, §20.20,
/// §20.39, §25.1): the value of From, To, Contact, Route, Record-Route, Refer-To...
///
/// In the addr-spec form (no `<>`), parameters after the URI belong to the header,
/// not to the URI (§20.10), so the URI ends at the first `;`.
///
/// An immutable class, not a struct: From, To and the route sets are read several
/// times per message, and a struct holding a URI was copied (a retain per slice in it)
/// on every read.
public final class SIPNameAddr: Sendable, Hashable {
    /// Display name as written (with quotes if quoted), nil when absent.
    public let displayNameRaw: ArraySlice<UInt8>?
    /// The URI.
    public let uri: SIPURI
    /// True when the URI was written in `<...>`.
    public let hasAngleBrackets: Bool
    /// Header parameters (`tag`, `expires`, `q`, ...), in order.
    public let params: [SIPParam]
    /// Byte range of the whole value in the message.
    public let range: Range<Int>

    public static func == (a: SIPNameAddr, b: SIPNameAddr) -> Bool {
        a.displayNameRaw == b.displayNameRaw && a.uri == b.uri && a.hasAngleBrackets == b.hasAngleBrackets
            && a.params == b.params && a.range == b.range
    }

    public func hash(into h: inout Hasher) {
        h.combine(displayNameRaw)
        h.combine(uri)
        h.combine(params)
        h.combine(range.lowerBound)
    }

    /// The display name unquoted, unescaped and unfolded (lossy UTF-8).
    public var displayName: String? {
        guard let d = displayNameRaw else { return nil }
        return String(decoding: SIPScanner.unquote(d), as: UTF8.self)
    }
    /// The `tag` parameter (§19.3). `;tag=` with no value never gets here: the
    /// parameter parser rejects an empty value.
    public var tag: ArraySlice<UInt8>? { params.value(named: "tag") }
    /// The tag as a String.
    public var tagString: String? { tag.map(SIPBytes.string) }
    /// The Contact `expires` parameter, if numeric.
    public var expires: Int? {
        params.first(named: "expires")?.value.flatMap { SIPBytes.parseUInt($0, max: UInt64(UInt32.max)) }.map { Int($0) }
    }
    /// The Contact `q` parameter as written (`0.33`).
    public var q: ArraySlice<UInt8>? { params.value(named: "q") }

    /// Creates a value from parts (for building headers).
    public init(displayNameRaw: ArraySlice<UInt8>?, uri: SIPURI, hasAngleBrackets: Bool,
                params: [SIPParam], range: Range<Int>) {
        self.displayNameRaw = displayNameRaw
        self.uri = uri
        self.hasAngleBrackets = hasAngleBrackets
        self.params = params
        self.range = range
    }

    /// Parses a single name-addr / addr-spec value; anything after it is an error.
    public convenience init(bytes: ArraySlice<UInt8>) throws(SIPParseError) {
        let v = try SIPNameAddr.parseWhole(bytes)
        self.init(displayNameRaw: v.displayNameRaw, uri: v.uri, hasAngleBrackets: v.hasAngleBrackets,
                  params: v.params, range: v.range)
    }

    /// `init(bytes:)` without the second object a convenience initialiser makes.
    static func parseWhole(_ bytes: ArraySlice<UInt8>) throws(SIPParseError) -> SIPNameAddr {
        var sc = SIPScanner(bytes)
        let v = try SIPNameAddr.parse(&sc)
        sc.skipLWS()
        guard sc.atEnd else { throw SIPParseError("Unexpected text after address", offset: sc.pos) }
        return v
    }

    /// Parses one value at the cursor; stops before a `,` or the end.
    static func parse(_ sc: inout SIPScanner) throws(SIPParseError) -> SIPNameAddr {
        sc.skipLWS()
        let start = sc.pos
        var display: ArraySlice<UInt8>?
        if sc.peek == SIPASCII.dquote {
            display = try sc.quotedString()
            sc.skipLWS()
            guard sc.peek == SIPASCII.laquot else { throw SIPParseError("Expected < after display name", offset: sc.pos) }
        } else if sc.peek != SIPASCII.laquot {
            // Unquoted text directly followed by '<' is a display name (RFC 4475
            // lwsdisp: `caller<sip:...>`); otherwise this is an addr-spec. The RFC
            // allows only *(token LWS) here; like Kamailio we also take other
            // printable text (`Alice (work) <sip:...>`), stopping at the bytes that
            // end an element, so a list and an addr-spec still split correctly.
            var p = sc.pos
            while p < sc.end, !SIPNameAddr.endsUnquotedDisplay(sc.s[p]) { p += 1 }
            if p < sc.end, sc.s[p] == SIPASCII.laquot {
                display = SIPBytes.trimLWS(sc.s[sc.pos..<p])
                sc.pos = p
            }
        }
        let uri: SIPURI
        let angle = sc.peek == SIPASCII.laquot
        if angle {
            let open = sc.pos
            var p = open + 1
            while p < sc.end, sc.s[p] != SIPASCII.raquot { p += 1 }
            guard p < sc.end else { throw SIPParseError("Unclosed <", offset: open) }
            uri = try SIPURI(bytes: SIPBytes.trimLWS(sc.s[(open + 1)..<p]))
            sc.pos = p + 1
        } else {
            let u = sc.pos
            while let b = sc.peek, b != SIPASCII.semicolon, b != SIPASCII.comma, !SIPASCII.isLWS(b),
                  b != SIPASCII.dquote, b != SIPASCII.raquot { sc.pos += 1 }
            guard sc.pos > u else { throw SIPParseError("Missing URI", offset: u) }
            uri = try SIPURI(bytes: sc.s[u..<sc.pos])
            // §20.10: a URI with headers (or ',' ';' '?') must be in <> (RFC 4475 regbadct).
            guard uri.headers.isEmpty else { throw SIPParseError("URI with headers needs <>", offset: u) }
        }
        let uriEnd = sc.pos
        let params = try sc.params(what: "address")
        return SIPNameAddr(displayNameRaw: display?.isEmpty == true ? nil : display, uri: uri,
                           hasAngleBrackets: angle, params: params,
                           range: start..<(params.last?.range.upperBound ?? uriEnd))
    }

    private static func endsUnquotedDisplay(_ b: UInt8) -> Bool {
        switch b {
        case SIPASCII.laquot, SIPASCII.raquot, SIPASCII.comma, SIPASCII.semicolon, SIPASCII.dquote: return true
        default: return false
        }
    }

    /// Parses a comma list of addresses (Route, Record-Route, Path); `*` is an error.
    static func parseList(_ v: ArraySlice<UInt8>) throws(SIPParseError) -> [SIPNameAddr] {
        var stars = 0
        let list = try parseList(v, stars: &stars)
        guard stars == 0 else { throw SIPParseError("Unexpected * in address list", offset: v.startIndex) }
        return list
    }

    /// Parses a comma list of addresses, counting bare `*` elements in `stars`
    /// (Contact, §20.10) instead of failing on them.
    static func parseList(_ v: ArraySlice<UInt8>, stars: inout Int) throws(SIPParseError) -> [SIPNameAddr] {
        var out: [SIPNameAddr] = []
        var sc = SIPScanner(v)
        while true {
            sc.skipLWS()
            if sc.peek == SIPASCII.star {
                sc.pos += 1
                stars += 1
            } else {
                out.append(try parse(&sc))
            }
            sc.skipLWS()
            if sc.atEnd { return out }
            guard sc.consume(SIPASCII.comma) else { throw SIPParseError("Malformed address list", offset: sc.pos) }
            sc.skipLWS()
            guard !sc.atEnd else { throw SIPParseError("Empty address list element", offset: sc.pos) }
        }
    }
}

/// The Contact header set of a message (RFC 3261 §20.10, §10.2.2).
public enum SIPContactList: Sendable, Hashable {
    /// `Contact: *` (REGISTER: remove all bindings; only valid with Expires: 0).
    case star
    /// Ordinary contacts, in order over all Contact fields.
    case list([SIPNameAddr])

    /// The addresses (empty for `*`).
    public var addresses: [SIPNameAddr] {
        if case .list(let a) = self { return a }
        return []
    }
}
