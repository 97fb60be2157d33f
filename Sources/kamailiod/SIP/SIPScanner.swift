/// A `name[=value]` parameter (RFC 3261 §25.1 generic-param, uri-parameter).
/// Names compare case-insensitively; the value is nil when absent (`;lr`).
public struct SIPParam: Sendable, Hashable {
    /// Parameter name as written.
    public var name: ArraySlice<UInt8>
    /// Value as written (quotes kept for quoted strings), nil for a bare name.
    public var value: ArraySlice<UInt8>? {
        get { hasValue ? valueBytes : nil }
        set {
            hasValue = newValue != nil
            valueBytes = newValue ?? name[name.endIndex...]
        }
    }
    // The value is stored without an Optional: a parser then builds a parameter with
    // or without a value on one path, where with an Optional slice the optimiser
    // joined the two through an outlined copy and destroy (two retains, two releases).
    private var valueBytes: ArraySlice<UInt8>
    private var hasValue: Bool

    /// Creates a parameter.
    public init(name: ArraySlice<UInt8>, value: ArraySlice<UInt8>?) {
        self.name = name
        self.valueBytes = value ?? name[name.endIndex...]
        self.hasValue = value != nil
    }

    /// Creates a parameter from `bytes`: the name at `name`, the value at `value`.
    init(_ bytes: ArraySlice<UInt8>, name: Range<Int>, value: Range<Int>?) {
        self.name = bytes[name]
        self.valueBytes = bytes[value ?? name.upperBound..<name.upperBound]
        self.hasValue = value != nil
    }

    /// Equal names and values, as written (an absent value differs from an empty one).
    public static func == (a: SIPParam, b: SIPParam) -> Bool { a.name == b.name && a.value == b.value }

    public func hash(into h: inout Hasher) {
        h.combine(name)
        h.combine(value)
    }

    /// The name as a String.
    public var nameString: String { SIPBytes.string(name) }
    /// The value as a String, nil when absent.
    public var valueString: String? { value.map(SIPBytes.string) }
    /// Byte range of the whole parameter (name through value) in the message.
    public var range: Range<Int> { name.startIndex..<(hasValue ? valueBytes.endIndex : name.endIndex) }
}

extension Array where Element == SIPParam {
    /// Index of the first parameter named `lowerName` (ASCII, lower-case literal). By
    /// index, so a lookup copies no parameter (a closure would copy every element).
    public func index(named lowerName: StaticString) -> Int? {
        for i in indices where SIPBytes.equalsLower(self[i].name, lowerName) { return i }
        return nil
    }

    /// First parameter whose name equals `lowerName` (ASCII, lower-case literal).
    public func first(named lowerName: StaticString) -> SIPParam? { index(named: lowerName).map { self[$0] } }

    /// Value of the first parameter named `lowerName`; nil when absent or valueless.
    public func value(named lowerName: StaticString) -> ArraySlice<UInt8>? {
        index(named: lowerName).flatMap { self[$0].value }
    }

    /// True when a parameter named `lowerName` is present (with or without a value).
    public func contains(named lowerName: StaticString) -> Bool { index(named: lowerName) != nil }

    /// First parameter with this name, compared case-insensitively. A separate label, so
    /// a literal name picks the `StaticString` overload (no String per lookup).
    public func first(nameIgnoringCase name: String) -> SIPParam? {
        first { SIPBytes.equalsIgnoringCase($0.name, name.utf8) }
    }

    /// How many parameters carry this name (duplicate `tag` detection).
    public func count(named lowerName: StaticString) -> Int {
        reduce(0) { $0 + (SIPBytes.equalsLower($1.name, lowerName) ? 1 : 0) }
    }
}

/// A cursor over a header value that skips folded LWS where the grammar allows it.
/// Positions are message offsets (the slice keeps the message's indices).
struct SIPScanner {
    let s: ArraySlice<UInt8>
    var pos: Int
    var end: Int { s.endIndex }

    init(_ s: ArraySlice<UInt8>) {
        self.s = s
        self.pos = s.startIndex
    }

    var atEnd: Bool { pos >= s.endIndex }
    var peek: UInt8? { pos < s.endIndex ? s[pos] : nil }

    /// Skips SP, HTAB and folded line breaks (LWS/SWS, §25.1).
    mutating func skipLWS() {
        while pos < s.endIndex, SIPASCII.isLWS(s[pos]) { pos += 1 }
    }

    /// Consumes `b` (after optional LWS) and returns true, or leaves the cursor.
    mutating func consume(_ b: UInt8) -> Bool {
        let save = pos
        skipLWS()
        if pos < s.endIndex, s[pos] == b { pos += 1; return true }
        pos = save
        return false
    }

    /// A run of token characters (may be empty).
    mutating func token() -> ArraySlice<UInt8> { s[tokenRange()] }

    /// `token()` as a range (no slice, so no retain, when only positions matter).
    mutating func tokenRange() -> Range<Int> {
        let start = pos
        while pos < s.endIndex, SIPASCII.isToken(s[pos]) { pos += 1 }
        return start..<pos
    }

    /// A quoted string starting at the cursor (which must be on `"`), returned with
    /// its quotes. `\` escapes the next byte (quoted-pair, §25.1). Throws when the
    /// closing quote is missing.
    mutating func quotedString() throws(SIPParseError) -> ArraySlice<UInt8> {
        s[try quotedStringRange()]
    }

    /// `quotedString()` as a range (no slice, so no retain, when only positions matter).
    mutating func quotedStringRange() throws(SIPParseError) -> Range<Int> {
        let start = pos
        pos += 1
        while pos < s.endIndex {
            let b = s[pos]
            if b == SIPASCII.backslash {
                pos += 2
                continue
            }
            pos += 1
            if b == SIPASCII.dquote { return start..<pos }
        }
        pos = s.endIndex
        throw SIPParseError("Unterminated quoted string", offset: start)
    }

    /// Parses `*( SEMI generic-param )` with LWS allowed around `;` and `=`
    /// (RFC 4475 wsinv). A value is a token, a quoted string, a `[IPv6]` reference or
    /// a bare IPv6 address (RFC 5118 §4.5 `received=2001:db8::9:255`).
    /// An empty parameter (`;;`, RFC 4475 badinv01) is an error.
    mutating func params(what: String) throws(SIPParseError) -> [SIPParam] {
        var out: [SIPParam] = []
        while consume(SIPASCII.semicolon) {
            skipLWS()
            // Positions, not slices, until the parameter is built in place in `out`: a
            // slice held in a local is copied into the array and then released.
            let name = tokenRange()
            guard !name.isEmpty else { throw SIPParseError("Empty parameter in " + what, offset: pos) }
            var value: Range<Int>?
            if consume(SIPASCII.equals) {
                skipLWS()
                value = try paramValueRange(what: what)
            }
            if out.isEmpty { out.reserveCapacity(4) }  // one allocation for typical lists
            out.append(SIPParam(s, name: name, value: value))
        }
        return out
    }

    mutating func paramValueRange(what: String) throws(SIPParseError) -> Range<Int> {
        let start = pos
        if peek == SIPASCII.dquote { return try quotedStringRange() }
        if peek == SIPASCII.lbracket {
            while pos < s.endIndex, s[pos] != SIPASCII.rbracket { pos += 1 }
            guard pos < s.endIndex else { throw SIPParseError("Unclosed [ in " + what, offset: start) }
            pos += 1
            return start..<pos
        }
        while pos < s.endIndex, SIPASCII.isToken(s[pos]) || s[pos] == SIPASCII.colon { pos += 1 }
        guard pos > start else { throw SIPParseError("Empty parameter value in " + what, offset: start) }
        return start..<pos
    }

    /// Splits a comma list (§7.3.1) outside quoted strings and `<...>`; elements are
    /// trimmed of LWS. Throws on an unterminated quote or unclosed `<`.
    static func splitCommaList(_ v: ArraySlice<UInt8>) throws(SIPParseError) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        try forEachCommaElement(v) { out.append(v[$0]) }
        return out
    }

    /// The elements of `splitCommaList` as trimmed positions, handed to `body` in order
    /// (no array, no slices: for callers that only need where the elements are). An
    /// unterminated quote or unclosed `<` throws before `body` sees the rest.
    static func forEachCommaElement(_ v: ArraySlice<UInt8>, _ body: (Range<Int>) -> Void) throws(SIPParseError) {
        var sc = SIPScanner(v)
        var elementStart = v.startIndex
        while let b = sc.peek {
            switch b {
            case SIPASCII.dquote:
                _ = try sc.quotedStringRange()
            case SIPASCII.laquot:
                let open = sc.pos
                while sc.pos < v.endIndex, v[sc.pos] != SIPASCII.raquot { sc.pos += 1 }
                guard sc.pos < v.endIndex else { throw SIPParseError("Unclosed <", offset: open) }
                sc.pos += 1
            case SIPASCII.comma:
                body(SIPBytes.trimmedLWS(v, elementStart..<sc.pos))
                sc.pos += 1
                elementStart = sc.pos
            default:
                sc.pos += 1
            }
        }
        body(SIPBytes.trimmedLWS(v, elementStart..<v.endIndex))
    }

    /// Throws on an unterminated quoted string or a `<` without `>` (outside quotes);
    /// the same rules as `splitCommaList`, without building the list.
    static func checkBalanced(_ v: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws(SIPParseError) {
        var i = range.lowerBound
        let e = range.upperBound
        while true {
            i = nextByte(v, from: i, end: e, SIPASCII.dquote, SIPASCII.laquot)
            guard i < e else { return }
            let open = i
            if v[i] == SIPASCII.dquote {
                i += 1
                while true {
                    i = nextByte(v, from: i, end: e, SIPASCII.dquote, SIPASCII.backslash)
                    guard i < e else { throw SIPParseError("Unterminated quoted string", offset: open) }
                    if v[i] == SIPASCII.dquote { break }
                    i += 2  // quoted-pair
                }
            } else {
                i = nextByte(v, from: i + 1, end: e, SIPASCII.raquot, SIPASCII.raquot)
                guard i < e else { throw SIPParseError("Unclosed <", offset: open) }
            }
            i += 1
        }
    }

    /// Index of the first byte equal to `a` or `b` in `from..<end`, or `end`. Tests
    /// eight bytes at a time (SWAR zero-byte test on x ^ pattern).
    static func nextByte(_ v: UnsafeBufferPointer<UInt8>, from: Int, end: Int, _ a: UInt8, _ b: UInt8) -> Int {
        var i = from
        if let base = v.baseAddress {
            let raw = UnsafeRawPointer(base)
            let pa = UInt64(a) &* 0x0101_0101_0101_0101
            let pb = UInt64(b) &* 0x0101_0101_0101_0101
            while i + 8 <= end {
                let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let xa = x ^ pa
                let xb = x ^ pb
                let hit = ((xa &- 0x0101_0101_0101_0101) & ~xa) | ((xb &- 0x0101_0101_0101_0101) & ~xb)
                if hit & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
        }
        while i < end, v[i] != a, v[i] != b { i += 1 }
        return min(i, end)
    }

    /// Removes the quotes and quoted-pair escapes of a quoted string and unfolds it.
    static func unquote(_ q: ArraySlice<UInt8>) -> [UInt8] {
        guard q.count >= 2, q.first == SIPASCII.dquote, q.last == SIPASCII.dquote else {
            return SIPBytes.unfold(q)
        }
        var out: [UInt8] = []
        var i = q.startIndex + 1
        let e = q.endIndex - 1
        while i < e {
            if q[i] == SIPASCII.backslash, i + 1 < e { out.append(q[i + 1]); i += 2; continue }
            out.append(q[i])
            i += 1
        }
        return SIPBytes.unfold(out[...])
    }
}
