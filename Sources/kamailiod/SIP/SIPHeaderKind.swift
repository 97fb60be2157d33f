/// The header fields the core knows by name. Lookup is ASCII case-insensitive
/// (RFC 3261 §7.3.1) and compact forms map to the same kind (§7.3.3, §20; plus the
/// IANA-registered compact forms of RFC 3265, 3515, 3892, 4028 and 4474).
public enum SIPHeaderKind: UInt8, Sendable, Hashable, CaseIterable {
    /// Headers known by name, RFC 3261 §20 and the common extensions (one case each;
    /// `canonicalName` gives the spelling).
    case via, from, to, callID, cseq, maxForwards, contact, route, recordRoute
    case contentLength, contentType, contentEncoding, contentDisposition, contentLanguage
    case expires, minExpires, userAgent, server, subject, supported, require, proxyRequire
    case unsupported, allow, accept, acceptEncoding, acceptLanguage, event, allowEvents
    case referTo, referredBy, sessionExpires, identity, authorization, proxyAuthorization
    case wwwAuthenticate, proxyAuthenticate, authenticationInfo, path, date, timestamp
    case warning, retryAfter, rseq, rack, replyTo, inReplyTo, priority, organization
    case alertInfo, callInfo, errorInfo, mimeVersion, subscriptionState, privacy
    case pAssertedIdentity, pPreferredIdentity, serviceRoute, reason
    /// Any header the core does not know; compare names with `headers(named:)`.
    case other

    /// Canonical spelling used when the core writes a header of this kind.
    public var canonicalName: String {
        SIPHeaderKind.names[Int(rawValue)].canonical
    }

    /// The compact form letter, if the kind has one.
    public var compactForm: Character? {
        SIPHeaderKind.names[Int(rawValue)].compact.map { Character(Unicode.Scalar($0)) }
    }

    /// Whether the value follows a structured grammar in which a `"` opens a quoted
    /// string that must close (used by validation; free-text headers like Subject are
    /// `TEXT-UTF8` and may contain a lone `"`).
    public var hasQuotedStrings: Bool {
        switch self {
        case .subject, .userAgent, .server, .organization, .other, .warning, .date,
             .callID, .cseq, .contentLength, .maxForwards, .expires, .minExpires:
            return false
        default:
            return true
        }
    }

    /// Whether several values may be joined with commas in one field (§7.3.1).
    public var isCommaList: Bool {
        switch self {
        case .via, .contact, .route, .recordRoute, .supported, .require, .proxyRequire,
             .unsupported, .allow, .accept, .acceptEncoding, .acceptLanguage, .allowEvents,
             .path, .serviceRoute, .contentEncoding, .contentLanguage, .inReplyTo,
             .alertInfo, .callInfo, .errorInfo, .warning, .pAssertedIdentity,
             .pPreferredIdentity, .privacy, .reason:
            return true
        default:
            return false
        }
    }

    /// Looks a header name up, ignoring case; unknown names give `.other`.
    public init<C: Collection<UInt8>>(name: C) {
        self = name.withContiguousStorageIfAvailable(SIPHeaderKind.lookup)
            ?? Array(name).withUnsafeBufferPointer(SIPHeaderKind.lookup)
    }

    /// Looks a header name up from a String (convenience for scripts and tests).
    public init(name: String) {
        self.init(name: Array(name.utf8))
    }

    private struct Entry {
        let canonical: String
        let compact: UInt8?
    }

    // Indexed by rawValue; order must match the case list above.
    private static let names: [Entry] = {
        let list: [(String, Character?)] = [
            ("Via", "v"), ("From", "f"), ("To", "t"), ("Call-ID", "i"), ("CSeq", nil),
            ("Max-Forwards", nil), ("Contact", "m"), ("Route", nil), ("Record-Route", nil),
            ("Content-Length", "l"), ("Content-Type", "c"), ("Content-Encoding", "e"),
            ("Content-Disposition", nil), ("Content-Language", nil), ("Expires", nil),
            ("Min-Expires", nil), ("User-Agent", nil), ("Server", nil), ("Subject", "s"),
            ("Supported", "k"), ("Require", nil), ("Proxy-Require", nil), ("Unsupported", nil),
            ("Allow", nil), ("Accept", nil), ("Accept-Encoding", nil), ("Accept-Language", nil),
            ("Event", "o"), ("Allow-Events", "u"), ("Refer-To", "r"), ("Referred-By", "b"),
            ("Session-Expires", "x"), ("Identity", "y"), ("Authorization", nil),
            ("Proxy-Authorization", nil), ("WWW-Authenticate", nil), ("Proxy-Authenticate", nil),
            ("Authentication-Info", nil), ("Path", nil), ("Date", nil), ("Timestamp", nil),
            ("Warning", nil), ("Retry-After", nil), ("RSeq", nil), ("RAck", nil),
            ("Reply-To", nil), ("In-Reply-To", nil), ("Priority", nil), ("Organization", nil),
            ("Alert-Info", nil), ("Call-Info", nil), ("Error-Info", nil), ("MIME-Version", nil),
            ("Subscription-State", nil), ("Privacy", nil), ("P-Asserted-Identity", nil),
            ("P-Preferred-Identity", nil), ("Service-Route", nil), ("Reason", nil), ("", nil),
        ]
        return list.map { name, compact in
            Entry(canonical: name,
                  compact: compact.flatMap { $0.asciiValue })
        }
    }()

    static func lookup(_ name: UnsafeBufferPointer<UInt8>) -> SIPHeaderKind {
        if name.count == 1 {
            // Compact forms, RFC 3261 §7.3.3 and the IANA SIP header registry.
            switch SIPASCII.lower(name[0]) {
            case UInt8(ascii: "v"): return .via
            case UInt8(ascii: "f"): return .from
            case UInt8(ascii: "t"): return .to
            case UInt8(ascii: "i"): return .callID
            case UInt8(ascii: "m"): return .contact
            case UInt8(ascii: "l"): return .contentLength
            case UInt8(ascii: "c"): return .contentType
            case UInt8(ascii: "e"): return .contentEncoding
            case UInt8(ascii: "s"): return .subject
            case UInt8(ascii: "k"): return .supported
            case UInt8(ascii: "o"): return .event
            case UInt8(ascii: "u"): return .allowEvents
            case UInt8(ascii: "r"): return .referTo
            case UInt8(ascii: "b"): return .referredBy
            case UInt8(ascii: "x"): return .sessionExpires
            case UInt8(ascii: "y"): return .identity
            default: return .other
            }
        }
        return lookupLong(name)
    }

    // Full names: (length, first, last byte) selects the candidates, which are then
    // compared byte for byte (no tables, no allocation, no retain).
    private static func lookupLong(_ name: UnsafeBufferPointer<UInt8>) -> SIPHeaderKind {
        let n = name.count
        guard n >= 2 else { return .other }
        switch (n, SIPASCII.lower(name[0]), SIPASCII.lower(name[n - 1])) {
        case (2, UInt8(ascii: "t"), UInt8(ascii: "o")): return matches(name, "to") ? .to : .other
        case (3, UInt8(ascii: "v"), UInt8(ascii: "a")): return matches(name, "via") ? .via : .other
        case (4, UInt8(ascii: "c"), UInt8(ascii: "q")): return matches(name, "cseq") ? .cseq : .other
        case (4, UInt8(ascii: "d"), UInt8(ascii: "e")): return matches(name, "date") ? .date : .other
        case (4, UInt8(ascii: "f"), UInt8(ascii: "m")): return matches(name, "from") ? .from : .other
        case (4, UInt8(ascii: "p"), UInt8(ascii: "h")): return matches(name, "path") ? .path : .other
        case (4, UInt8(ascii: "r"), UInt8(ascii: "k")): return matches(name, "rack") ? .rack : .other
        case (4, UInt8(ascii: "r"), UInt8(ascii: "q")): return matches(name, "rseq") ? .rseq : .other
        case (5, UInt8(ascii: "a"), UInt8(ascii: "w")): return matches(name, "allow") ? .allow : .other
        case (5, UInt8(ascii: "e"), UInt8(ascii: "t")): return matches(name, "event") ? .event : .other
        case (5, UInt8(ascii: "r"), UInt8(ascii: "e")): return matches(name, "route") ? .route : .other
        case (6, UInt8(ascii: "a"), UInt8(ascii: "t")): return matches(name, "accept") ? .accept : .other
        case (6, UInt8(ascii: "r"), UInt8(ascii: "n")): return matches(name, "reason") ? .reason : .other
        case (6, UInt8(ascii: "s"), UInt8(ascii: "r")): return matches(name, "server") ? .server : .other
        case (7, UInt8(ascii: "c"), UInt8(ascii: "d")): return matches(name, "call-id") ? .callID : .other
        case (7, UInt8(ascii: "c"), UInt8(ascii: "t")): return matches(name, "contact") ? .contact : .other
        case (7, UInt8(ascii: "e"), UInt8(ascii: "s")): return matches(name, "expires") ? .expires : .other
        case (7, UInt8(ascii: "p"), UInt8(ascii: "y")): return matches(name, "privacy") ? .privacy : .other
        case (7, UInt8(ascii: "r"), UInt8(ascii: "e")): return matches(name, "require") ? .require : .other
        case (7, UInt8(ascii: "s"), UInt8(ascii: "t")): return matches(name, "subject") ? .subject : .other
        case (7, UInt8(ascii: "w"), UInt8(ascii: "g")): return matches(name, "warning") ? .warning : .other
        case (8, UInt8(ascii: "i"), UInt8(ascii: "y")): return matches(name, "identity") ? .identity : .other
        case (8, UInt8(ascii: "p"), UInt8(ascii: "y")): return matches(name, "priority") ? .priority : .other
        case (8, UInt8(ascii: "r"), UInt8(ascii: "o")):
            if matches(name, "refer-to") { return .referTo }
            return matches(name, "reply-to") ? .replyTo : .other
        case (9, UInt8(ascii: "c"), UInt8(ascii: "o")): return matches(name, "call-info") ? .callInfo : .other
        case (9, UInt8(ascii: "s"), UInt8(ascii: "d")): return matches(name, "supported") ? .supported : .other
        case (9, UInt8(ascii: "t"), UInt8(ascii: "p")): return matches(name, "timestamp") ? .timestamp : .other
        case (10, UInt8(ascii: "a"), UInt8(ascii: "o")): return matches(name, "alert-info") ? .alertInfo : .other
        case (10, UInt8(ascii: "e"), UInt8(ascii: "o")): return matches(name, "error-info") ? .errorInfo : .other
        case (10, UInt8(ascii: "u"), UInt8(ascii: "t")): return matches(name, "user-agent") ? .userAgent : .other
        case (11, UInt8(ascii: "i"), UInt8(ascii: "o")): return matches(name, "in-reply-to") ? .inReplyTo : .other
        case (11, UInt8(ascii: "m"), UInt8(ascii: "s")): return matches(name, "min-expires") ? .minExpires : .other
        case (11, UInt8(ascii: "r"), UInt8(ascii: "r")): return matches(name, "retry-after") ? .retryAfter : .other
        case (11, UInt8(ascii: "r"), UInt8(ascii: "y")): return matches(name, "referred-by") ? .referredBy : .other
        case (11, UInt8(ascii: "u"), UInt8(ascii: "d")): return matches(name, "unsupported") ? .unsupported : .other
        case (12, UInt8(ascii: "a"), UInt8(ascii: "s")): return matches(name, "allow-events") ? .allowEvents : .other
        case (12, UInt8(ascii: "c"), UInt8(ascii: "e")): return matches(name, "content-type") ? .contentType : .other
        case (12, UInt8(ascii: "m"), UInt8(ascii: "n")): return matches(name, "mime-version") ? .mimeVersion : .other
        case (12, UInt8(ascii: "m"), UInt8(ascii: "s")): return matches(name, "max-forwards") ? .maxForwards : .other
        case (12, UInt8(ascii: "o"), UInt8(ascii: "n")): return matches(name, "organization") ? .organization : .other
        case (12, UInt8(ascii: "r"), UInt8(ascii: "e")): return matches(name, "record-route") ? .recordRoute : .other
        case (13, UInt8(ascii: "a"), UInt8(ascii: "n")): return matches(name, "authorization") ? .authorization : .other
        case (13, UInt8(ascii: "p"), UInt8(ascii: "e")): return matches(name, "proxy-require") ? .proxyRequire : .other
        case (13, UInt8(ascii: "s"), UInt8(ascii: "e")): return matches(name, "service-route") ? .serviceRoute : .other
        case (14, UInt8(ascii: "c"), UInt8(ascii: "h")): return matches(name, "content-length") ? .contentLength : .other
        case (15, UInt8(ascii: "a"), UInt8(ascii: "e")): return matches(name, "accept-language") ? .acceptLanguage : .other
        case (15, UInt8(ascii: "a"), UInt8(ascii: "g")): return matches(name, "accept-encoding") ? .acceptEncoding : .other
        case (15, UInt8(ascii: "s"), UInt8(ascii: "s")): return matches(name, "session-expires") ? .sessionExpires : .other
        case (16, UInt8(ascii: "c"), UInt8(ascii: "e")): return matches(name, "content-language") ? .contentLanguage : .other
        case (16, UInt8(ascii: "c"), UInt8(ascii: "g")): return matches(name, "content-encoding") ? .contentEncoding : .other
        case (16, UInt8(ascii: "w"), UInt8(ascii: "e")): return matches(name, "www-authenticate") ? .wwwAuthenticate : .other
        case (18, UInt8(ascii: "p"), UInt8(ascii: "e")): return matches(name, "proxy-authenticate") ? .proxyAuthenticate : .other
        case (18, UInt8(ascii: "s"), UInt8(ascii: "e")): return matches(name, "subscription-state") ? .subscriptionState : .other
        case (19, UInt8(ascii: "a"), UInt8(ascii: "o")): return matches(name, "authentication-info") ? .authenticationInfo : .other
        case (19, UInt8(ascii: "c"), UInt8(ascii: "n")): return matches(name, "content-disposition") ? .contentDisposition : .other
        case (19, UInt8(ascii: "p"), UInt8(ascii: "n")): return matches(name, "proxy-authorization") ? .proxyAuthorization : .other
        case (19, UInt8(ascii: "p"), UInt8(ascii: "y")): return matches(name, "p-asserted-identity") ? .pAssertedIdentity : .other
        case (20, UInt8(ascii: "p"), UInt8(ascii: "y")): return matches(name, "p-preferred-identity") ? .pPreferredIdentity : .other
        default: return .other
        }
    }

    @inline(__always)
    private static func matches(_ name: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
        let lit = literal.utf8Start
        for i in 0..<name.count where lit[i] != SIPASCII.lower(name[i]) { return false }
        return true
    }
}

/// One header field line of a message, as positions into `SIPMessage.bytes`.
///
/// `value` excludes the leading/trailing LWS but keeps inner folding (CRLF + WSP) as
/// written: the raw bytes stay the truth and unfolding happens only when read.
public struct SIPHeaderField: Sendable, Hashable {
    /// The kind looked up from the name (`.other` when unknown).
    public let kind: SIPHeaderKind
    /// Position of this field among all header fields (0-based).
    public let index: Int
    /// The header name as written (may be a compact form, any case).
    public let name: Range<Int>
    /// The value, trimmed of surrounding LWS, continuation lines included.
    public internal(set) var value: Range<Int>
    /// The whole field from the first name byte through its final line terminator
    /// (CRLF or LF); removing this range removes the field cleanly.
    public internal(set) var line: Range<Int>
}
