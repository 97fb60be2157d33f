/// A URI as used in SIP (RFC 3261 §19.1 SIP/SIPS, RFC 3966 tel; other schemes are
/// kept raw). Parts are slices of the bytes it was parsed from, so positions in a
/// message stay available; `render()` writes it back. An immutable class: a URI is
/// handed around (R-URI, Route, Contact, name-addrs) far more often than parsed, and a
/// struct of four slices and arrays cost four retains per copy.
public final class SIPURI: Sendable, Hashable, CustomStringConvertible {
    /// URI scheme.
    public enum Scheme: Sendable, Hashable {
        /// `sip:`
        case sip
        /// `sips:`
        case sips
        /// `tel:`
        case tel
        /// Any other scheme (`mailto:`, `urn:`, ...), kept opaque.
        case other
    }

    /// The whole URI as parsed.
    public let raw: ArraySlice<UInt8>
    /// Scheme kind.
    public let scheme: Scheme
    // Parts are kept as positions into `raw`: a copy of the URI then retains one
    // buffer instead of one per part.
    private let schemeEnd: Int
    private let userRange: Range<Int>?
    private let passwordRange: Range<Int>?
    /// Scheme as written.
    public var schemeBytes: ArraySlice<UInt8> { raw[raw.startIndex..<schemeEnd] }
    /// User part (SIP/SIPS), or the telephone-subscriber number (tel), escapes kept.
    public var user: ArraySlice<UInt8>? { userRange.map { raw[$0] } }
    /// Password after `user:` (deprecated by §19.1.1, still parsed).
    public var password: ArraySlice<UInt8>? { passwordRange.map { raw[$0] } }
    /// Host (nil for tel and other schemes).
    public let host: SIPHost?
    /// Port when written.
    public let port: UInt16?
    /// URI parameters in order (`;transport=tcp;lr`).
    public let params: [SIPParam]
    /// URI headers after `?` (`?subject=x&priority=y`).
    public let headers: [SIPParam]
    /// For other schemes, everything after `scheme:`.
    public var opaque: ArraySlice<UInt8> { raw[(schemeEnd + 1)...] }

    /// Parses a URI. Throws for an unknown layout of a SIP/SIPS/tel URI: empty host,
    /// bare IPv6 without brackets (RFC 5118 §4.2: `sip:2001:db8::10` reads as host
    /// `2001` with a bad port), bad `%` escape, bad port, empty parameter name.
    public init(bytes: ArraySlice<UInt8>) throws(SIPParseError) {
        raw = bytes
        let lo = bytes.startIndex
        let hi = bytes.endIndex
        var p = lo
        while p < hi, SIPURI.isSchemeChar(bytes[p]) { p += 1 }
        guard p > lo, p < hi, bytes[p] == SIPASCII.colon, SIPASCII.lower(bytes[lo]) &- 97 < 26 else {
            throw SIPParseError("Malformed URI", offset: lo)
        }
        schemeEnd = p
        let schemeBytes = bytes[lo..<p]
        if SIPBytes.equalsLower(schemeBytes, "sip") {
            scheme = .sip
        } else if SIPBytes.equalsLower(schemeBytes, "sips") {
            scheme = .sips
        } else if SIPBytes.equalsLower(schemeBytes, "tel") {
            scheme = .tel
        } else {
            scheme = .other
        }
        p += 1
        switch scheme {
        case .other:
            userRange = nil; passwordRange = nil; host = nil; port = nil; params = []; headers = []
            return
        case .tel:
            // telephone-subscriber *( ";" par ): the number is the "user".
            var q = p
            while q < hi, bytes[q] != SIPASCII.semicolon { q += 1 }
            guard q > p else { throw SIPParseError("Empty tel number", offset: p) }
            userRange = p..<q
            passwordRange = nil; host = nil; port = nil; headers = []
            params = try SIPURI.parseParams(bytes, from: q, end: hi, headersStart: nil)
            return
        case .sip, .sips:
            break
        }
        // userinfo: find '@' before any host/param; the user part may contain ';' '?'
        // (user-unreserved) but never an unescaped '@'.
        var at: Int?
        var q = p
        while q < hi {
            if bytes[q] == SIPASCII.at { at = q; break }
            q += 1
        }
        var hostStart = p
        if let at {
            var colon = at
            for i in p..<at where bytes[i] == SIPASCII.colon { colon = i; break }
            let u = bytes[p..<colon]
            guard !u.isEmpty, SIPURI.validEscapes(u), u.allSatisfy(SIPURI.isUserChar) else {
                throw SIPParseError("Malformed URI user", offset: p)
            }
            userRange = p..<colon
            passwordRange = colon < at ? (colon + 1)..<at : nil
            if let passwordRange, !SIPURI.validEscapes(bytes[passwordRange]) {
                throw SIPParseError("Malformed URI password", offset: colon)
            }
            hostStart = at + 1
        } else {
            userRange = nil
            passwordRange = nil
        }
        var h = hostStart
        if h < hi, bytes[h] == SIPASCII.lbracket {
            while h < hi, bytes[h] != SIPASCII.rbracket { h += 1 }
            guard h < hi else { throw SIPParseError("Unclosed [ in URI host", offset: hostStart) }
            h += 1
        } else {
            while h < hi, SIPASCII.isHostChar(bytes[h]) { h += 1 }
        }
        guard h > hostStart else { throw SIPParseError("Empty URI host", offset: hostStart) }
        host = try SIPHost(bytes[hostStart..<h])
        if h < hi, bytes[h] == SIPASCII.colon {
            var e = h + 1
            while e < hi, SIPASCII.isDigit(bytes[e]) { e += 1 }
            guard e > h + 1, e - h <= 6, let v = SIPBytes.parseUInt(bytes[(h + 1)..<e], max: 65535) else {
                throw SIPParseError("Malformed URI port", offset: h)
            }
            port = UInt16(v)
            h = e
        } else {
            port = nil
        }
        guard h == hi || bytes[h] == SIPASCII.semicolon || bytes[h] == SIPASCII.question else {
            throw SIPParseError("Malformed URI", offset: h)
        }
        var qm = h
        while qm < hi, bytes[qm] != SIPASCII.question { qm += 1 }
        params = try SIPURI.parseParams(bytes, from: h, end: qm, headersStart: nil)
        headers = qm < hi ? try SIPURI.parseParams(bytes, from: qm, end: hi, headersStart: qm) : []
    }

    /// Parses a URI from text.
    public convenience init(_ text: String) throws(SIPParseError) {
        try self.init(bytes: ArraySlice(Array(text.utf8)))
    }

    // `;name[=value]` until `end` (or `?name=value&...` when parsing headers).
    private static func parseParams(_ b: ArraySlice<UInt8>, from: Int, end: Int,
                                    headersStart: Int?) throws(SIPParseError) -> [SIPParam] {
        var out: [SIPParam] = []
        let sep = headersStart == nil ? SIPASCII.semicolon : SIPASCII.ampersand
        if from < end {
            // Exact capacity: one allocation, no growth.
            var n = 1
            for i in (from + 1)..<end where b[i] == sep { n += 1 }
            out.reserveCapacity(n)
        }
        var p = from
        while p < end {
            // p is on the separator (';', '?' or '&').
            let nameStart = p + 1
            var q = nameStart
            var eq: Int?
            while q < end, b[q] != sep {
                if b[q] == SIPASCII.equals, eq == nil { eq = q }
                q += 1
            }
            let nameEnd = eq ?? q
            guard nameEnd > nameStart else { throw SIPParseError("Empty URI parameter", offset: p) }
            // Checked by position and built in place: slices held in locals would be
            // copied into `out` and released again.
            guard validParamText(b, nameStart..<nameEnd), eq.map({ validParamText(b, ($0 + 1)..<q) }) ?? true else {
                throw SIPParseError("Malformed URI parameter", offset: nameStart)
            }
            out.append(SIPParam(b, name: nameStart..<nameEnd, value: eq.map { ($0 + 1)..<q }))
            p = q
        }
        return out
    }

    private static func isSchemeChar(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122, 43, 45, 46: return true
        default: return false
        }
    }

    // unreserved / escaped / user-unreserved ("&" "=" "+" "$" "," ";" "?" "/"), §25.1.
    private static func isUserChar(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        case 45, 95, 46, 33, 126, 42, 39, 40, 41, 37: return true  // mark and %
        case 38, 61, 43, 36, 44, 59, 63, 47: return true  // user-unreserved
        default: return false
        }
    }

    // paramchar / hnv chars: unreserved / escaped / "[" "]" "/" ":" "&" "+" "$" "?".
    private static func isParamChar(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        case 45, 95, 46, 33, 126, 42, 39, 40, 41, 37: return true
        case 91, 93, 47, 58, 38, 43, 36, 63: return true
        default: return false
        }
    }

    // paramchars with valid `%HH` escapes (`validEscapes` and `isParamChar` in one
    // pass over `b[r]`, without making a slice).
    private static func validParamText(_ b: ArraySlice<UInt8>, _ r: Range<Int>) -> Bool {
        var i = r.lowerBound
        while i < r.upperBound {
            let c = b[i]
            if c == SIPASCII.percent {
                guard i + 2 < r.upperBound, SIPASCII.hexValue(b[i + 1]) != nil,
                      SIPASCII.hexValue(b[i + 2]) != nil else { return false }
                i += 3
            } else {
                guard isParamChar(c) else { return false }
                i += 1
            }
        }
        return true
    }

    private static func validEscapes(_ s: ArraySlice<UInt8>) -> Bool {
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == SIPASCII.percent {
                guard i + 2 < s.endIndex, SIPASCII.hexValue(s[i + 1]) != nil,
                      SIPASCII.hexValue(s[i + 2]) != nil else { return false }
                i += 3
            } else {
                i += 1
            }
        }
        return true
    }

    // MARK: - Accessors

    /// First URI parameter with this lower-case name.
    public func param(_ lowerName: StaticString) -> SIPParam? { params.first(named: lowerName) }

    /// The `transport` parameter value, if any.
    public var transport: ArraySlice<UInt8>? { params.value(named: "transport") }
    /// True when `;lr` is present (loose routing, §19.1.1).
    public var isLooseRouter: Bool { params.contains(named: "lr") }
    /// True for `;user=phone` (§19.1.6).
    public var isPhoneUser: Bool { param("user")?.value.map { SIPBytes.equalsLower($0, "phone") } ?? false }

    /// The user part with `%HH` escapes decoded (compare these, §19.1.4).
    public var decodedUser: [UInt8]? { user.flatMap(SIPBytes.percentDecode) }
    /// The user part as a String (escapes decoded).
    public var userString: String? { decodedUser.map { String(decoding: $0, as: UTF8.self) } }
    /// The host as a String (as written).
    public var hostString: String? { host?.description }

    /// The URI as written.
    public var description: String { SIPBytes.string(raw) }

    /// Equal when written identically (use `isEquivalent(to:)` for §19.1.4 rules).
    public static func == (a: SIPURI, b: SIPURI) -> Bool { a.raw == b.raw }

    /// Hashes the written form.
    public func hash(into hasher: inout Hasher) { hasher.combine(raw) }

    /// Writes the URI back from its parts (identical bytes for an unmodified URI).
    public func render() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        out.append(contentsOf: schemeBytes)
        out.append(SIPASCII.colon)
        switch scheme {
        case .other:
            out.append(contentsOf: opaque)
            return out
        case .tel:
            out.append(contentsOf: user ?? [])
        case .sip, .sips:
            if let user {
                out.append(contentsOf: user)
                if let password { out.append(SIPASCII.colon); out.append(contentsOf: password) }
                out.append(SIPASCII.at)
            }
            out.append(contentsOf: host?.text ?? [])
            if let port { out.append(SIPASCII.colon); SIPBytes.appendDecimal(Int(port), to: &out) }
        }
        for p in params {
            out.append(SIPASCII.semicolon)
            out.append(contentsOf: p.name)
            if let v = p.value { out.append(SIPASCII.equals); out.append(contentsOf: v) }
        }
        for (i, h) in headers.enumerated() {
            out.append(i == 0 ? SIPASCII.question : SIPASCII.ampersand)
            out.append(contentsOf: h.name)
            if let v = h.value { out.append(SIPASCII.equals); out.append(contentsOf: v) }
        }
        return out
    }

    /// URI comparison per RFC 3261 §19.1.4 (simplified): same scheme, user decoded and
    /// case-sensitive, host case-insensitive, same port, and the `transport`, `user`,
    /// `ttl`, `method`, `maddr` parameters equal when either side has them.
    public func isEquivalent(to o: SIPURI) -> Bool {
        guard scheme == o.scheme else { return false }
        if scheme == .other { return SIPBytes.equalsIgnoringCase(raw, o.raw) }
        guard decodedUser == o.decodedUser, port == o.port,
              password.flatMap(SIPBytes.percentDecode) == o.password.flatMap(SIPBytes.percentDecode) else { return false }
        if let h = host, let oh = o.host {
            guard SIPBytes.equalsIgnoringCase(h.text, oh.text) else { return false }
        } else if (host == nil) != (o.host == nil) {
            return false
        }
        for name in ["transport", "user", "ttl", "method", "maddr"] {
            let a = params.first(nameIgnoringCase: name)?.value.flatMap(SIPBytes.percentDecode)
            let b = o.params.first(nameIgnoringCase: name)?.value.flatMap(SIPBytes.percentDecode)
            if a != nil || b != nil {
                guard let a, let b, SIPBytes.equalsIgnoringCase(a, b) else { return false }
            }
        }
        return true
    }
}
