// The checks a server makes before it processes or answers a message. They follow
// what Kamailio's parser and sanity module reject, with RFC 3261 as the reference.
extension SIPMessage {
    /// Checks that a message is well-formed enough to process (RFC 3261 §8.2, §16.3,
    /// §18.3). Throws a `SIPParseError` whose status (400 mostly) and reason feed the
    /// reply; the caller drops instead when the error leaves no way to answer.
    ///
    /// Requests: Via present and parseable (sent-by host, closed IPv6 brackets);
    /// From, To, Call-ID and CSeq present, single and well-formed; To not empty; no
    /// duplicate tags; quoted strings and `<` closed in structured headers; CSeq
    /// number ≤ 2^31-1 (§8.1.1.5) and its method equal to the request method;
    /// Content-Length numeric and not beyond the bytes received; Max-Forwards and
    /// Expires numeric; `Contact: *` alone (§10.3); a parseable Request-URI.
    /// Responses: Via, From, To, Call-ID, CSeq present and well-formed.
    public func validateForProcessing() throws(SIPParseError) {
        guard hasHeaderTerminator else { throw SIPParseError("Missing empty line after headers", offset: headersEnd) }
        // Via first: without it there is nowhere to reply (§18.2.2).
        guard firstHeader(.via) != nil else { throw .missing("Via") }
        _ = try vias()
        for (kind, name) in [(SIPHeaderKind.from, "From"), (.to, "To"), (.callID, "Call-ID"), (.cseq, "CSeq")] {
            let fields = headers(kind)
            guard let f = fields.first else { throw .missing(name) }
            guard fields.count == 1 else { throw SIPParseError("Duplicate " + name, offset: fields[1].line.lowerBound) }
            guard !f.value.isEmpty else { throw SIPParseError("Empty " + name, offset: f.value.lowerBound) }
        }
        for (kind, name) in [(SIPHeaderKind.contentLength, "Content-Length"), (.maxForwards, "Max-Forwards")] {
            let fields = headers(kind)
            if fields.count > 1 { throw SIPParseError("Duplicate " + name, offset: fields[1].line.lowerBound) }
        }
        for (addr, name) in [(try from(), "From"), (try to(), "To")] {
            guard let addr else { continue }
            if addr.params.count(named: "tag") > 1 { throw SIPParseError("Duplicate tag in " + name) }
        }
        guard let cseq = try cseq() else { throw .missing("CSeq") }
        try checkQuotesAndBrackets()
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
        _ = try requestURI
        if let contacts = try contacts(), contacts == .star, method == .register {
            // §10.2.2: `*` only with Expires: 0; §10.3 step 6 answers 400 otherwise.
            if let e = try expires(), e != 0 { throw SIPParseError("Contact * requires Expires: 0") }
        }
    }

    /// Rejects an unterminated quoted string or an unclosed `<` in any header whose
    /// grammar uses them (Authorization values included: the 2023 SER-family digest
    /// parser advisories read past such values).
    func checkQuotesAndBrackets() throws(SIPParseError) {
        for f in headers where f.kind.hasQuotedStrings {
            let v = bytes[f.value]
            guard v.contains(where: { $0 == SIPASCII.dquote || $0 == SIPASCII.laquot }) else { continue }
            _ = try SIPScanner.splitCommaList(v)
        }
    }
}
