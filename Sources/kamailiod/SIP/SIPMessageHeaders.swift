/// CSeq value (RFC 3261 §20.16): sequence number and method.
public struct SIPCSeq: Sendable, Hashable {
    /// Sequence number; the parser accepts 0...2^32-1, validation limits it to
    /// 2^31-1 (§8.1.1.5).
    public var number: UInt32
    /// Method token as written.
    public var method: ArraySlice<UInt8>
    /// Method classified (case-sensitive).
    public var methodKind: SIPMethod { SIPMethod(bytes: method) }
}

// Parsed accessors. Each parses on first use; the costly ones are cached.
extension SIPMessage {
    /// All Via values of all Via fields, top first (§20.42). Cached.
    public func vias() throws(SIPParseError) -> [SIPVia] {
        if let viaCache { return viaCache }
        var out: [SIPVia] = []
        for f in headers where f.kind == .via {
            out.append(contentsOf: try SIPVia.parseField(bytes[f.value], fieldIndex: f.index))
        }
        viaCache = out
        return out
    }

    /// The top (first) Via value, nil when there is no Via.
    public func topVia() throws(SIPParseError) -> SIPVia? {
        if topViaCache != nil { return topViaCache }  // no binding: one copy, not two
        guard let f = firstHeader(.via) else { return nil }
        if let viaCache { return viaCache.first }
        let v = try SIPVia.parseFirst(bytes[f.value], fieldIndex: f.index)
        topViaCache = v
        return v
    }

    /// The top two Via values (the second nil when there is only one), for relaying a
    /// reply. Reuses the parsed top Via and parses only the field that holds the second,
    /// where `vias()` would parse every Via again.
    public func topTwoVias() throws(SIPParseError) -> (SIPVia, SIPVia?)? {
        if let viaCache {
            guard let first = viaCache.first else { return nil }
            return (first, viaCache.count > 1 ? viaCache[1] : nil)
        }
        guard let top = try topVia() else { return nil }
        guard top.fieldIndex < headers.count else { return (top, nil) }
        // The second value is the next one in the top's own field, or the first of the
        // next Via field.
        let inTopField = top.elementsInField > 1
        let field = inTopField ? headers[top.fieldIndex] : headers[(top.fieldIndex + 1)...].first { $0.kind == .via }
        guard let field else { return (top, nil) }
        let values = try SIPVia.parseField(bytes[field.value], fieldIndex: field.index)
        let i = inTopField ? 1 : 0
        return (top, i < values.count ? values[i] : nil)
    }

    /// The From value (§20.20), nil when absent. Cached.
    public func from() throws(SIPParseError) -> SIPNameAddr? {
        if fromCache != nil { return fromCache }
        guard let f = firstHeader(.from) else { return nil }
        let v = try SIPNameAddr.parseWhole(bytes[f.value])
        fromCache = v
        return v
    }

    /// The To value (§20.39), nil when absent. Cached.
    public func to() throws(SIPParseError) -> SIPNameAddr? {
        if toCache != nil { return toCache }
        guard let f = firstHeader(.to) else { return nil }
        let v = try SIPNameAddr.parseWhole(bytes[f.value])
        toCache = v
        return v
    }

    /// The From tag, nil when there is no parsable From or it has no tag. Read from the
    /// cache in place: transaction and dialog matching want only the tag, and a copy
    /// of the whole name-addr costs a retain and release per slice in it.
    public var fromTag: ArraySlice<UInt8>? {
        if let t = fromTagCache { return t }
        let t = readTag(.from, parsed: fromCache, parse: from)
        fromTagCache = .some(t)
        return t
    }

    /// The To tag, nil when there is no parsable To or it has no tag (see `fromTag`).
    public var toTag: ArraySlice<UInt8>? {
        if let t = toTagCache { return t }
        let t = readTag(.to, parsed: toCache, parse: to)
        toTagCache = .some(t)
        return t
    }

    /// The tag of the first `kind` header: from the parsed value when there is one, else
    /// read by `SIPTagScanner`, else (a value the scanner leaves alone) from a full parse.
    private func readTag(_ kind: SIPHeaderKind, parsed: SIPNameAddr?,
                         parse: () throws(SIPParseError) -> SIPNameAddr?) -> ArraySlice<UInt8>? {
        if let parsed { return parsed.tag }
        guard let f = firstHeader(kind) else { return nil }
        if let scanned = SIPTagScanner.tag(in: bytes[f.value]) { return scanned }
        return (try? parse())?.tag
    }

    /// The Call-ID value (§20.8), nil when absent.
    public var callID: ArraySlice<UInt8>? { firstHeader(.callID).map { bytes[$0.value] } }
    /// The Call-ID as a String.
    public var callIDString: String? { callID.map(SIPBytes.string) }

    /// The CSeq (§20.16), nil when absent. A number over 2^32-1, a non-digit
    /// (`-1`) or a missing method is an error.
    public func cseq() throws(SIPParseError) -> SIPCSeq? {
        guard let f = firstHeader(.cseq) else { return nil }
        var sc = SIPScanner(bytes[f.value])
        let digits = sc.token()
        guard let n = SIPBytes.parseUInt(digits, max: UInt64(UInt32.max)) else { throw .bad("CSeq", offset: f.value.lowerBound) }
        sc.skipLWS()
        let m = sc.token()
        sc.skipLWS()
        guard !m.isEmpty, sc.atEnd else { throw .bad("CSeq", offset: f.value.lowerBound) }
        return SIPCSeq(number: UInt32(n), method: m)
    }

    /// Max-Forwards (§20.22), nil when absent; text is an error. A value above 255
    /// reads as 255, as Kamailio's maxfwd module does (the ABNF is `1*DIGIT`).
    public func maxForwards() throws(SIPParseError) -> Int? {
        guard let f = firstHeader(.maxForwards) else { return nil }
        guard let v = SIPBytes.parseUIntSaturating(bytes[f.value], limit: 255) else {
            throw .bad("Max-Forwards", offset: f.value.lowerBound)
        }
        return Int(v)
    }

    /// Content-Length (§20.14), nil when absent; a negative or over-large value
    /// (2^32 must not wrap to 0) is an error.
    public func contentLength() throws(SIPParseError) -> Int? {
        try numericHeader(.contentLength, max: UInt64(SIPMessage.maxMessageSize) * 16, name: "Content-Length")
    }

    /// Expires (§20.19) delta-seconds, nil when absent; negative or text is an error.
    /// Values above 2^32-1 read as 2^32-1 (delta-seconds saturate, §20.19/§25.1).
    public func expires() throws(SIPParseError) -> Int? {
        guard let f = firstHeader(.expires) else { return nil }
        guard let v = SIPBytes.parseUIntSaturating(bytes[f.value], limit: UInt64(UInt32.max)) else {
            throw .bad("Expires", offset: f.value.lowerBound)
        }
        return Int(v)
    }

    private func numericHeader(_ kind: SIPHeaderKind, max: UInt64, name: String) throws(SIPParseError) -> Int? {
        guard let f = firstHeader(kind) else { return nil }
        guard let v = SIPBytes.parseUInt(bytes[f.value], max: max) else { throw .bad(name, offset: f.value.lowerBound) }
        return Int(v)
    }

    /// All Contact values over all Contact fields, or `.star`; nil when absent.
    /// `*` mixed with other contacts is an error (§10.3 step 6). Cached.
    public func contacts() throws(SIPParseError) -> SIPContactList? {
        if let contactCache { return contactCache }
        guard let first = firstHeader(.contact) else { return nil }
        var list: [SIPNameAddr] = []
        var stars = 0
        for f in headers where f.kind == .contact {  // not headers(.contact): no array
            list.append(contentsOf: try SIPNameAddr.parseList(bytes[f.value], stars: &stars))
        }
        if stars > 0 {
            guard stars == 1, list.isEmpty else {
                throw SIPParseError("Contact * mixed with other contacts", offset: first.value.lowerBound)
            }
            contactCache = .star
            return .star
        }
        contactCache = .list(list)
        return .list(list)
    }

    /// All Route values in order (§20.34).
    public func routes() throws(SIPParseError) -> [SIPNameAddr] { try addressList(.route) }
    /// All Record-Route values in order (§20.30).
    public func recordRoutes() throws(SIPParseError) -> [SIPNameAddr] { try addressList(.recordRoute) }

    private func addressList(_ kind: SIPHeaderKind) throws(SIPParseError) -> [SIPNameAddr] {
        var out: [SIPNameAddr] = []
        for f in headers where f.kind == kind {
            out.append(contentsOf: try SIPNameAddr.parseList(bytes[f.value]))
        }
        return out
    }

    /// The Content-Type value as written, nil when absent.
    public var contentType: ArraySlice<UInt8>? { firstHeader(.contentType).map { bytes[$0.value] } }
    /// The User-Agent value, nil when absent.
    public var userAgent: ArraySlice<UInt8>? { firstHeader(.userAgent).map { bytes[$0.value] } }

    /// The body. With a valid Content-Length shorter than what arrived, the extra
    /// bytes are dropped (RFC 3261 §18.3 for datagrams); otherwise everything after
    /// the empty line.
    public var body: ArraySlice<UInt8> { bytes[bodyStart..<messageEnd] }

    /// Offset just past the message: the body truncated to Content-Length.
    public var messageEnd: Int {
        guard let cl = try? contentLength(), bodyStart + cl < bytes.count else { return bytes.count }
        return bodyStart + cl
    }
}
