// ASCII helpers for the byte-level parser. SIP is defined over octets (RFC 3261 §7:
// "SIP messages are text-based ... UTF-8"), but every syntactic element we inspect is
// ASCII, so all comparisons here are byte comparisons, never String comparisons.

/// Byte constants and character classes from the RFC 3261 §25.1 ABNF.
public enum SIPASCII {
    /// Carriage return.
    public static let cr: UInt8 = 13
    /// Line feed.
    public static let lf: UInt8 = 10
    /// Space.
    public static let sp: UInt8 = 32
    /// Horizontal tab.
    public static let htab: UInt8 = 9
    /// `:`
    public static let colon: UInt8 = 58
    /// `;`
    public static let semicolon: UInt8 = 59
    /// `,`
    public static let comma: UInt8 = 44
    /// `=`
    public static let equals: UInt8 = 61
    /// `"`
    public static let dquote: UInt8 = 34
    /// `\`
    public static let backslash: UInt8 = 92
    /// `<`
    public static let laquot: UInt8 = 60
    /// `>`
    public static let raquot: UInt8 = 62
    /// `/`
    public static let slash: UInt8 = 47
    /// `@`
    public static let at: UInt8 = 64
    /// `[`
    public static let lbracket: UInt8 = 91
    /// `]`
    public static let rbracket: UInt8 = 93
    /// `?`
    public static let question: UInt8 = 63
    /// `&`
    public static let ampersand: UInt8 = 38
    /// `%`
    public static let percent: UInt8 = 37
    /// `*`
    public static let star: UInt8 = 42
    /// `.`
    public static let dot: UInt8 = 46

    /// SP or HTAB (WSP, RFC 5234).
    @inline(__always)
    public static func isWSP(_ b: UInt8) -> Bool { b == sp || b == htab }

    /// WSP, CR or LF: what may appear inside folded linear white space (LWS, §25.1).
    @inline(__always)
    public static func isLWS(_ b: UInt8) -> Bool { b == sp || b == htab || b == cr || b == lf }

    /// `0`...`9`.
    @inline(__always)
    public static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }

    /// Hex digit value, or nil.
    @inline(__always)
    public static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }

    /// ASCII lower-casing of one byte; other bytes are returned unchanged.
    @inline(__always)
    public static func lower(_ b: UInt8) -> UInt8 { b &- 65 < 26 ? b | 0x20 : b }

    /// RFC 3261 §25.1 `token` characters: alphanum / "-" / "." / "!" / "%" / "*" /
    /// "_" / "+" / "`" / "'" / "~".
    @inline(__always)
    public static func isToken(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122: return true
        case 45, 46, 33, 37, 42, 95, 43, 96, 39, 126: return true
        default: return false
        }
    }

    /// Characters allowed in a host name or IPv4 literal: alphanum, `-`, `.` (RFC 3261
    /// §25.1), and `_`, which the RFC excludes but real deployments use (Kamailio
    /// accepts it too).
    @inline(__always)
    public static func isHostChar(_ b: UInt8) -> Bool {
        switch b {
        case 48...57, 65...90, 97...122, 45, 46, 95: return true
        default: return false
        }
    }
}

/// Byte-slice helpers used by every parser in the target.
public enum SIPBytes {
    /// ASCII case-insensitive equality; SIP header names, URI schemes, parameter
    /// names and transport tokens compare this way (RFC 3261 §7.3.1, §19.1.4).
    @inline(__always)
    public static func equalsIgnoringCase<A: Collection<UInt8>, B: Collection<UInt8>>(_ a: A, _ b: B) -> Bool {
        guard a.count == b.count else { return false }
        var i = a.startIndex
        var j = b.startIndex
        while i != a.endIndex {
            if SIPASCII.lower(a[i]) != SIPASCII.lower(b[j]) { return false }
            a.formIndex(after: &i)
            b.formIndex(after: &j)
        }
        return true
    }

    /// Case-insensitive comparison with a lower-case ASCII string literal.
    @inline(__always)
    public static func equalsLower(_ a: ArraySlice<UInt8>, _ lowerLiteral: StaticString) -> Bool {
        guard a.count == lowerLiteral.utf8CodeUnitCount else { return false }
        return lowerLiteral.withUTF8Buffer { lit in
            var j = 0
            for b in a {
                if SIPASCII.lower(b) != lit[j] { return false }
                j += 1
            }
            return true
        }
    }

    /// Removes leading and trailing LWS (SP, HTAB, CR, LF), so folded values trim
    /// cleanly (§7.3.1: LWS around a value is not part of it).
    public static func trimLWS(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        s[trimmedLWS(s, s.indices)]
    }

    /// `trimLWS` of `s[r]` as a position (no slice made).
    static func trimmedLWS(_ s: ArraySlice<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi, SIPASCII.isLWS(s[lo]) { lo += 1 }
        while hi > lo, SIPASCII.isLWS(s[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// Parses an unsigned decimal integer (leading zeros allowed, as in RFC 4475
    /// wsinv's `0068`) and rejects anything above `max` instead of wrapping, so
    /// `Content-Length: 4294967296` is an error, not 0.
    public static func parseUInt(_ s: ArraySlice<UInt8>, max: UInt64) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var v: UInt64 = 0
        for b in s {
            guard SIPASCII.isDigit(b) else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(b - 48))
            if o1 || o2 || a > max { return nil }
            v = a
        }
        return v
    }

    /// Parses an unsigned decimal integer and saturates at `limit` instead of failing
    /// on larger values; only an empty or non-digit string is nil. For fields whose
    /// RFC says a large value means "the maximum" (Expires, §20.19) or where Kamailio
    /// clamps (Max-Forwards above 255).
    public static func parseUIntSaturating(_ s: ArraySlice<UInt8>, limit: UInt64) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var v: UInt64 = 0
        for b in s {
            guard SIPASCII.isDigit(b) else { return nil }
            if v <= limit { v = v * 10 + UInt64(b - 48) }  // v ≤ limit < 2^60 cannot overflow
        }
        return min(v, limit)
    }

    /// Replaces each folded line break (`CRLF 1*WSP` or `LF 1*WSP`) by one SP, as
    /// RFC 3261 §7.3.1 allows a recipient to do; the work is linear in the input.
    public static func unfold(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if b == SIPASCII.cr || b == SIPASCII.lf {
                // Drop the line break and the white space that begins the continuation.
                var j = i + 1
                if b == SIPASCII.cr, j < s.endIndex, s[j] == SIPASCII.lf { j += 1 }
                while j < s.endIndex, SIPASCII.isWSP(s[j]) { j += 1 }
                if out.last.map({ !SIPASCII.isWSP($0) }) ?? false { out.append(SIPASCII.sp) }
                i = j
                continue
            }
            out.append(b)
            i += 1
        }
        return out
    }

    /// Decodes `%HH` escapes (RFC 3261 §19.1.4 compares URI parts after decoding).
    /// Returns nil for a malformed escape (`%ZZ`, a truncated `%4`).
    public static func percentDecode(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if b == SIPASCII.percent {
                guard i + 2 < s.endIndex else { return nil }
                guard let h = SIPASCII.hexValue(s[i + 1]), let l = SIPASCII.hexValue(s[i + 2]) else { return nil }
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// Lossy UTF-8 decoding for display and logging; invalid sequences become U+FFFD
    /// rather than trapping (adversarial bad-UTF-8 display names).
    @inline(__always)
    public static func string(_ s: ArraySlice<UInt8>) -> String {
        String(decoding: s, as: UTF8.self)
    }

    /// The UTF-8 bytes of `text` with each bare `\n` turned into CRLF: SIP messages
    /// written as Swift literals (tests, tools, benchmarks) become wire format.
    public static func wireFormat(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 32)
        var previous: UInt8 = 0
        for b in text.utf8 {
            if b == SIPASCII.lf, previous != SIPASCII.cr { out.append(SIPASCII.cr) }
            out.append(b)
            previous = b
        }
        return out
    }

    /// Lower-case hex digit of `v` (0...15).
    @inline(__always)
    public static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 48 + v : 87 + v }

    /// Appends the decimal digits of `v` without going through String.
    public static func appendDecimal(_ v: Int, to out: inout [UInt8]) {
        if v < 0 { out.append(45) }
        var x = v.magnitude  // no overflow for Int.min
        // Highest digit first: reversing the appended digits in place copied them out
        // through a slice.
        var div: UInt = 1
        while div <= x / 10 { div *= 10 }
        while div > 0 {
            out.append(UInt8(x / div) + 48)
            x %= div
            div /= 10
        }
    }
}
