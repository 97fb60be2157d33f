// The checks a server makes before it processes or answers a message. They follow
// what Kamailio's parser and sanity module reject, with RFC 3261 as the reference.
extension SIPMessage {
    /// Checks that a message is well-formed enough to process (RFC 3261 §8.2, §16.3,
    /// §18.3). Throws a `SIPParseError` whose status and reason feed the reply; the
    /// caller drops instead when the error leaves no way to answer.
    ///
    /// First a request line with another SIP version (505). Then, for all messages:
    /// the empty line after the headers; Via present and parseable (sent-by host,
    /// closed IPv6 brackets); From, To, Call-ID and CSeq present once and not empty;
    /// Content-Length and Max-Forwards at most once; From/To parseable without
    /// duplicate tags; CSeq well-formed; quoted strings and `<` closed in structured
    /// headers; no raw control bytes in the header section; Content-Length numeric
    /// and not beyond the bytes received; Max-Forwards and Expires numeric.
    /// Requests also: CSeq number ≤ 2^31-1 (§8.1.1.5) and its method equal to the
    /// request method; a parseable Request-URI without URI headers; for REGISTER,
    /// `Contact: *` alone and only with Expires: 0 (§10.2.2, §10.3).
    public func validateForProcessing() throws(SIPParseError) {
        guard !hasUnsupportedVersion else { throw SIPParseError("Version Not Supported", status: 505) }
        guard hasHeaderTerminator else { throw SIPParseError("Missing empty line after headers", offset: headersEnd) }
        // Via first: without it there is nowhere to reply (§18.2.2).
        guard firstHeader(.via) != nil else { throw .missing("Via") }
        _ = try vias()
        try checkSingletons()
        if let from = try from(), from.params.count(named: "tag") > 1 { throw SIPParseError("Duplicate tag in From") }
        if let to = try to(), to.params.count(named: "tag") > 1 { throw SIPParseError("Duplicate tag in To") }
        guard let cseq = try cseq() else { throw .missing("CSeq") }
        try checkQuotesAndBrackets()
        try checkControlBytes()
        if let cl = try contentLength() {
            // §18.3: bytes beyond Content-Length are discarded; fewer is an error.
            guard bodyStart + cl <= bytes.count else {
                throw SIPParseError("Content-Length larger than body", offset: bodyStart)
            }
        }
        _ = try maxForwards()
        _ = try expires()
        guard isRequest else { return }

        guard cseq.number <= UInt32(Int32.max) else { throw .bad("CSeq") }
        guard cseq.method.elementsEqual(methodBytes) else { throw SIPParseError("CSeq method does not match request method") }
        // §19.1.1 table 1: URI headers are not allowed in a Request-URI (RFC 4475
        // escruri expects 400).
        guard try requestURI.headers.isEmpty else { throw SIPParseError("Headers in Request-URI") }
        // Contact is parsed here only for REGISTER, as Kamailio's sanity checks do
        // (uri_checks cover the Request-URI, From and To); others parse it on use.
        if method == .register, try contacts() == .star {
            // §10.2.2: `*` only with Expires: 0; §10.3 step 6 answers 400 otherwise.
            if let e = try expires(), e != 0 { throw SIPParseError("Contact * requires Expires: 0") }
        }
    }

    /// From, To, Call-ID and CSeq must appear exactly once with a non-empty value;
    /// Content-Length and Max-Forwards at most once. One pass, no allocation.
    func checkSingletons() throws(SIPParseError) {
        var seen: (from: Int, to: Int, callID: Int, cseq: Int) = (-1, -1, -1, -1)
        var contentLength = false
        var maxForwards = false
        for f in headers {
            let empty = f.value.isEmpty
            switch f.kind {
            case .from: try SIPMessage.once(&seen.from, f, empty, "From")
            case .to: try SIPMessage.once(&seen.to, f, empty, "To")
            case .callID: try SIPMessage.once(&seen.callID, f, empty, "Call-ID")
            case .cseq: try SIPMessage.once(&seen.cseq, f, empty, "CSeq")
            case .contentLength:
                if contentLength { throw SIPParseError("Duplicate Content-Length", offset: f.line.lowerBound) }
                contentLength = true
            case .maxForwards:
                if maxForwards { throw SIPParseError("Duplicate Max-Forwards", offset: f.line.lowerBound) }
                maxForwards = true
            default:
                break
            }
        }
        if seen.from < 0 { throw .missing("From") }
        if seen.to < 0 { throw .missing("To") }
        if seen.callID < 0 { throw .missing("Call-ID") }
        if seen.cseq < 0 { throw .missing("CSeq") }
    }

    private static func once(_ slot: inout Int, _ f: SIPHeaderField, _ empty: Bool, _ name: String) throws(SIPParseError) {
        guard slot < 0 else { throw SIPParseError("Duplicate " + name, offset: f.line.lowerBound) }
        guard !empty else { throw SIPParseError("Empty " + name, offset: f.value.lowerBound) }
        slot = f.index
    }

    /// Rejects control bytes (CTL: 0x00-0x1F but HTAB, and DEL) in the header section
    /// unless escaped by a backslash: TEXT-UTF8 excludes them, quoted-pair allows
    /// them (§25.1; RFC 4475 intmeth is valid, a raw NUL in Subject is not).
    func checkControlBytes() throws(SIPParseError) {
        try bytes.withUnsafeBufferPointer { buf throws(SIPParseError) in
            guard let base = buf.baseAddress else { return }
            let raw = UnsafeRawPointer(base)
            var i = headersStart
            let e = headersEnd
            while i < e {
                while i + 8 <= e {
                    let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    let del = x ^ 0x7f7f_7f7f_7f7f_7f7f
                    let hit = ((x &- 0x2020_2020_2020_2020) & ~x) | ((del &- 0x0101_0101_0101_0101) & ~del)
                    if hit & 0x8080_8080_8080_8080 != 0 { break }
                    i += 8
                }
                let stop = min(e, i + 8)
                while i < stop {
                    let c = buf[i]
                    if c < 0x20 || c == 0x7f, c != SIPASCII.htab, c != SIPASCII.cr, c != SIPASCII.lf,
                       i == 0 || buf[i - 1] != SIPASCII.backslash {
                        throw SIPParseError("Control character in header", offset: i)
                    }
                    i += 1
                }
            }
        }
    }

    /// Rejects an unterminated quoted string or an unclosed `<` in any header whose
    /// grammar uses them (Authorization values included: the 2023 SER-family digest
    /// parser advisories read past such values).
    func checkQuotesAndBrackets() throws(SIPParseError) {
        try bytes.withUnsafeBufferPointer { buf throws(SIPParseError) in
            for f in headers where f.kind.hasQuotedStrings {
                try SIPScanner.checkBalanced(buf, f.value)
            }
        }
    }
}
