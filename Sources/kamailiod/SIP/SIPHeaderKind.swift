/// The header fields the core knows by name. Lookup is ASCII case-insensitive
/// (RFC 3261 §7.3.1) and compact forms map to the same kind (§7.3.3, §20; plus the
/// IANA-registered compact forms of RFC 3265, 3515, 3892, 4028 and 4474).
public enum SIPHeaderKind: UInt8, Sendable, Hashable, CaseIterable {
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
    public init<C: Collection<UInt8>>(name: C) where C.Index == Int {
        self = SIPHeaderKind.lookup(name)
    }

    /// Looks a header name up from a String (convenience for scripts and tests).
    public init(name: String) {
        self = SIPHeaderKind.lookup(Array(name.utf8))
    }

    private struct Entry {
        let canonical: String
        let lower: [UInt8]
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
            Entry(canonical: name, lower: Array(name.lowercased().utf8),
                  compact: compact.flatMap { $0.asciiValue })
        }
    }()

    // Kinds grouped by name length, so a lookup compares against a handful of names.
    private static let byLength: [[SIPHeaderKind]] = {
        var table = [[SIPHeaderKind]](repeating: [], count: 24)
        for kind in SIPHeaderKind.allCases where kind != .other {
            let n = names[Int(kind.rawValue)].lower.count
            if n < table.count { table[n].append(kind) }
        }
        return table
    }()

    // Compact letter -> kind, indexed by the lower-case letter.
    private static let compactTable: [SIPHeaderKind] = {
        var table = [SIPHeaderKind](repeating: .other, count: 128)
        for kind in SIPHeaderKind.allCases {
            if let c = names[Int(kind.rawValue)].compact { table[Int(c)] = kind }
        }
        return table
    }()

    private static func lookup<C: Collection<UInt8>>(_ name: C) -> SIPHeaderKind where C.Index == Int {
        let n = name.count
        if n == 1 {
            let c = SIPASCII.lower(name[name.startIndex])
            return c < 128 ? compactTable[Int(c)] : .other
        }
        guard n < byLength.count else { return .other }
        for kind in byLength[n] {
            let lower = names[Int(kind.rawValue)].lower
            var i = name.startIndex
            var j = 0
            var same = true
            while j < n {
                if SIPASCII.lower(name[i]) != lower[j] { same = false; break }
                i += 1
                j += 1
            }
            if same { return kind }
        }
        return .other
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
