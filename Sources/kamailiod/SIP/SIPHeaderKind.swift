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

    // Full names: FNV-1a of the lower-cased name selects one candidate, which is
    // then compared byte for byte (no tables, no allocation, no retain).
    private static func lookupLong(_ name: UnsafeBufferPointer<UInt8>) -> SIPHeaderKind {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name { h = (h ^ UInt64(SIPASCII.lower(b))) &* 0x0000_0100_0000_01b3 }
        let kind: SIPHeaderKind
        let literal: StaticString
        switch h {
        case 0x68e8f7194eba5d73: kind = .via; literal = "via"
        case 0x7f845078d7a5c0b5: kind = .from; literal = "from"
        case 0x08c83907b56ac0a4: kind = .to; literal = "to"
        case 0x82acdf99cfbd03c1: kind = .callID; literal = "call-id"
        case 0x1a1d7b9090b95b09: kind = .cseq; literal = "cseq"
        case 0x353435f1cce83396: kind = .maxForwards; literal = "max-forwards"
        case 0x623617b538360a63: kind = .contact; literal = "contact"
        case 0x3127fb469f19ebde: kind = .route; literal = "route"
        case 0xb3bbd0c913f7c260: kind = .recordRoute; literal = "record-route"
        case 0x2d69a1e6ee916e7d: kind = .contentLength; literal = "content-length"
        case 0x0f4dd5cf6a7a0235: kind = .contentType; literal = "content-type"
        case 0x8baea7ccb2afa2c8: kind = .contentEncoding; literal = "content-encoding"
        case 0x64f9c4dddb6099dc: kind = .contentDisposition; literal = "content-disposition"
        case 0xdd57512a8f8460b3: kind = .contentLanguage; literal = "content-language"
        case 0xb1b241f06bb1cf03: kind = .expires; literal = "expires"
        case 0x6909e5690d7fbad6: kind = .minExpires; literal = "min-expires"
        case 0x32b391bbfc9f96ae: kind = .userAgent; literal = "user-agent"
        case 0x7294d77db181ded2: kind = .server; literal = "server"
        case 0x9640735281e90c0f: kind = .subject; literal = "subject"
        case 0x1fdf54ad12bcc3a9: kind = .supported; literal = "supported"
        case 0x9336e4b8d1137564: kind = .require; literal = "require"
        case 0x7521e0d2fc0efc3d: kind = .proxyRequire; literal = "proxy-require"
        case 0x64eda1185891f750: kind = .unsupported; literal = "unsupported"
        case 0x69cf87bb73bb55b2: kind = .allow; literal = "allow"
        case 0x7e5f7abe09509b09: kind = .accept; literal = "accept"
        case 0x1d28531d6419b959: kind = .acceptEncoding; literal = "accept-encoding"
        case 0xa6217d121bf7cd76: kind = .acceptLanguage; literal = "accept-language"
        case 0x112b8c0079b0649f: kind = .event; literal = "event"
        case 0x2c8db91bfb06a5fc: kind = .allowEvents; literal = "allow-events"
        case 0x580714bc8b661061: kind = .referTo; literal = "refer-to"
        case 0x766f69692b9dec6e: kind = .referredBy; literal = "referred-by"
        case 0x2def17823d06f636: kind = .sessionExpires; literal = "session-expires"
        case 0xe90f184c6aa3ffbb: kind = .identity; literal = "identity"
        case 0xff974ce1fd18159e: kind = .authorization; literal = "authorization"
        case 0x5bae9ac1094f949b: kind = .proxyAuthorization; literal = "proxy-authorization"
        case 0x6588c89f383dede2: kind = .wwwAuthenticate; literal = "www-authenticate"
        case 0x8343384c51b1f4ef: kind = .proxyAuthenticate; literal = "proxy-authenticate"
        case 0x9b6ad94a6b855cf8: kind = .authenticationInfo; literal = "authentication-info"
        case 0x03c52d0debd70676: kind = .path; literal = "path"
        case 0x855b516730a34339: kind = .date; literal = "date"
        case 0x5ddc92338ef53403: kind = .timestamp; literal = "timestamp"
        case 0x129fac0ae1df7c8f: kind = .warning; literal = "warning"
        case 0x434ef288821301b6: kind = .retryAfter; literal = "retry-after"
        case 0xf654c81f8ed8df8c: kind = .rseq; literal = "rseq"
        case 0x6de0001fd211efd2: kind = .rack; literal = "rack"
        case 0x1b30920c3985d243: kind = .replyTo; literal = "reply-to"
        case 0xf082e2890ae7df8f: kind = .inReplyTo; literal = "in-reply-to"
        case 0xf5b6ea8c35ac1e89: kind = .priority; literal = "priority"
        case 0x5f7099c57e3be0ca: kind = .organization; literal = "organization"
        case 0x4cbf701eb709db00: kind = .alertInfo; literal = "alert-info"
        case 0xfae5c750b5b4db90: kind = .callInfo; literal = "call-info"
        case 0x29c1cee9e991fe48: kind = .errorInfo; literal = "error-info"
        case 0x0db0d5b3e9f01ddc: kind = .mimeVersion; literal = "mime-version"
        case 0x385c9697a9d2df7c: kind = .subscriptionState; literal = "subscription-state"
        case 0xc56e382dd98062e7: kind = .privacy; literal = "privacy"
        case 0x91919c7e3bfd2122: kind = .pAssertedIdentity; literal = "p-asserted-identity"
        case 0x6c5772338e923504: kind = .pPreferredIdentity; literal = "p-preferred-identity"
        case 0x7fda8423bc3d13f8: kind = .serviceRoute; literal = "service-route"
        case 0x65e8d7f3474f2639: kind = .reason; literal = "reason"
        default: return .other
        }
        guard literal.utf8CodeUnitCount == name.count else { return .other }
        let lit = literal.utf8Start
        for i in 0..<name.count where lit[i] != SIPASCII.lower(name[i]) { return .other }
        return kind
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
