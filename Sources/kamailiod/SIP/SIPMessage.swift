/// A SIP request or response, parsed lazily over its raw bytes (RFC 3261 §7).
///
/// `init` reads only the start line and builds an index of header fields; values
/// are parsed on first access and cached. All positions are offsets into `bytes`,
/// which are never modified: edits are recorded in `edits` and applied by
/// `serialize()`. The class is not `Sendable`: one worker thread owns a message.
///
/// Typical use on receipt:
///
///     let msg = try SIPMessage(bytes: datagram)      // garbage throws: drop it
///     do { try msg.validateForProcessing() }         // 400 with e.replyReasonPhrase
///     catch { reply(SIPReplyBuilder(statusCode: error.statusCode,
///                                   reason: error.replyReasonPhrase).build(for: msg)) }
///     let branch = try msg.topVia()?.branch
///     msg.insertTopVia(ourVia); msg.setRequestURI(target)
///     send(msg.serialize())
public final class SIPMessage {
    /// Largest message accepted: the UDP payload limit rounded to 16 bits. A larger
    /// message is refused with 513 (RFC 3261 §18.1.1, §21.5.14). The per-line limit
    /// (65535) follows from it.
    public static let maxMessageSize = 65535
    /// Most header fields accepted. Beyond it the message is refused with 513
    /// Message Too Large: it is well-formed, just more than we agree to index.
    public static let maxHeaderFields = 512

    /// The message exactly as received.
    public let bytes: [UInt8]
    /// True for requests, false for responses.
    public let isRequest: Bool
    /// Request method; for a response, `.other` (use `cseq()?.methodKind`).
    public let method: SIPMethod
    /// Method token of a request (empty for responses).
    public let methodBytes: ArraySlice<UInt8>
    /// Request-URI position (empty range for responses).
    public let requestURIRange: Range<Int>
    /// Status code of a response (0 for requests).
    public let statusCode: Int
    /// Reason phrase position of a response (empty for requests).
    public let reasonPhraseRange: Range<Int>
    /// The start line without its line terminator.
    public let startLineRange: Range<Int>
    /// All header fields in order of appearance.
    public let headers: [SIPHeaderField]
    /// Offset of the first header line (after the start line).
    public let headersStart: Int
    /// Offset of the empty line ending the header section (or `bytes.count`).
    public let headersEnd: Int
    /// Offset of the first body byte (after the empty line).
    public let bodyStart: Int
    /// False when the header section was never closed by an empty line.
    public let hasHeaderTerminator: Bool
    /// Leading CRLFs skipped before the start line (§7.5).
    public let leadingBytesSkipped: Int
    /// True when a request line names a SIP version other than 2.0 (`SIP/7.0`);
    /// `validateForProcessing` then throws 505 Version Not Supported (§21.5.7).
    public let hasUnsupportedVersion: Bool

    /// Recorded modifications applied by `serialize()`.
    public var edits = SIPEditList()

    // Lazily parsed values (see SIPMessageHeaders.swift).
    var viaCache: [SIPVia]?
    /// The top Via alone: tm, forwarding and replies each ask for it on every message.
    var topViaCache: SIPVia?
    var fromCache: SIPNameAddr?
    var toCache: SIPNameAddr?
    /// The From and To tags alone (outer nil: not parsed yet): reading a tag out of the
    /// cached name-addr would copy the whole struct, a retain per slice in it.
    var fromTagCache: ArraySlice<UInt8>??
    var toTagCache: ArraySlice<UInt8>??
    var contactCache: SIPContactList?
    var uriCache: SIPURI?

    /// Parses the start line and indexes the header fields.
    ///
    /// Throws 513 when the message or its header count is over the limits, 400 for a
    /// malformed start line or header line, a control byte (NUL...) in the header
    /// section, or a continuation line before the first header.
    public init(bytes: [UInt8]) throws(SIPParseError) {
        guard bytes.count <= SIPMessage.maxMessageSize else { throw .messageTooLarge }
        self.bytes = bytes
        let n = bytes.count
        var pos = 0
        // RFC 3261 §7.5: CRLFs before the start line are ignored (also LF only).
        while pos < n, bytes[pos] == SIPASCII.cr || bytes[pos] == SIPASCII.lf { pos += 1 }
        guard pos < n else { throw .emptyMessage }
        leadingBytesSkipped = pos

        let (lineEnd, next) = try bytes.withUnsafeBufferPointer { buf throws(SIPParseError) in
            try SIPMessage.scanLine(buf, from: pos)
        }
        startLineRange = pos..<lineEnd
        let start = try SIPStartLine(bytes[pos..<lineEnd])
        isRequest = start.isRequest
        methodBytes = bytes[start.method]
        method = start.isRequest ? SIPMethod(bytes: methodBytes) : .other
        requestURIRange = start.uri
        statusCode = start.status
        reasonPhraseRange = start.reason
        hasUnsupportedVersion = start.unsupportedVersion
        headersStart = next

        let index = try bytes.withUnsafeBufferPointer { buf throws(SIPParseError) in
            try SIPMessage.indexHeaders(buf, from: next)
        }
        headers = index.fields
        headersEnd = index.end
        bodyStart = index.bodyStart
        hasHeaderTerminator = index.terminated
    }

    /// Convenience for tests and tools: parses the UTF-8 bytes of `text`.
    public convenience init(_ text: String) throws(SIPParseError) {
        try self.init(bytes: Array(text.utf8))
    }

    /// Finds the end of the line starting at `from`: returns the offset of the
    /// terminator (CR of CRLF, or the LF) and the offset of the next line. A CR not
    /// followed by LF is an error. Other control bytes are left to
    /// `validateForProcessing`: inside a quoted-pair they are legal (RFC 4475 intmeth
    /// escapes NUL, BEL and DEL in a display name).
    static func scanLine(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) throws(SIPParseError) -> (end: Int, next: Int) {
        let n = bytes.count
        var e = from
        while e < n {
            // Skip 8 bytes at a time while none is below 0x20 (SWAR: a byte b < 0x20
            // sets its high bit in (x - 0x20..20) & ~x). Most header bytes are printable.
            if let base = bytes.baseAddress {
                let raw = UnsafeRawPointer(base)
                while e + 8 <= n {
                    let x = raw.loadUnaligned(fromByteOffset: e, as: UInt64.self)
                    if (x &- 0x2020_2020_2020_2020) & ~x & 0x8080_8080_8080_8080 != 0 { break }
                    e += 8
                }
            }
            // At most one word byte by byte, then back to the fast path (HTAB is common).
            let stop = min(n, e + 8)
            while e < stop {
                let c = bytes[e]
                if c == SIPASCII.lf { return (e, e + 1) }
                if c == SIPASCII.cr {
                    if e + 1 < n, bytes[e + 1] == SIPASCII.lf { return (e, e + 2) }
                    throw SIPParseError("Bare CR in header section", offset: e)
                }
                e += 1
            }
        }
        return (n, n)
    }

    struct HeaderIndex {
        var fields: [SIPHeaderField] = []
        var end = 0
        var bodyStart = 0
        var terminated = false
    }

    /// Builds the header index in one linear pass. Continuation lines (§7.3.1: a line
    /// starting with SP/HTAB) extend the previous field; values are trimmed at the end.
    static func indexHeaders(_ bytes: UnsafeBufferPointer<UInt8>, from: Int) throws(SIPParseError) -> HeaderIndex {
        var ix = HeaderIndex()
        ix.fields.reserveCapacity(24)  // one allocation for nearly every message
        let n = bytes.count
        var p = from
        ix.end = n
        ix.bodyStart = n
        while p < n {
            let (lineEnd, next) = try scanLine(bytes, from: p)
            if lineEnd == p {
                // The empty line: end of headers (§7).
                ix.end = p
                ix.bodyStart = next
                ix.terminated = true
                break
            }
            let first = bytes[p]
            if SIPASCII.isWSP(first) {
                guard let last = ix.fields.indices.last else {
                    throw SIPParseError("Folded line before first header", offset: p)
                }
                ix.fields[last].value = ix.fields[last].value.lowerBound..<lineEnd
                ix.fields[last].line = ix.fields[last].line.lowerBound..<next
            } else {
                var q = p
                while q < lineEnd, SIPASCII.isToken(bytes[q]) { q += 1 }
                let nameEnd = q
                // HCOLON = *( SP / HTAB ) ":" SWS (§25.1): white space before the colon.
                while q < lineEnd, SIPASCII.isWSP(bytes[q]) { q += 1 }
                guard nameEnd > p, q < lineEnd, bytes[q] == SIPASCII.colon else {
                    throw SIPParseError("Malformed header line", offset: p)
                }
                guard ix.fields.count < maxHeaderFields else { throw .tooManyHeaders }
                ix.fields.append(SIPHeaderField(
                    kind: SIPHeaderKind.lookup(UnsafeBufferPointer(rebasing: bytes[p..<nameEnd])), index: ix.fields.count,
                    name: p..<nameEnd, value: (q + 1)..<lineEnd, line: p..<next))
            }
            p = next
        }
        for i in ix.fields.indices {
            // Trim LWS (folds included) around the value, §7.3.1.
            var lo = ix.fields[i].value.lowerBound
            var hi = ix.fields[i].value.upperBound
            while lo < hi, SIPASCII.isLWS(bytes[lo]) { lo += 1 }
            while hi > lo, SIPASCII.isLWS(bytes[hi - 1]) { hi -= 1 }
            ix.fields[i].value = lo..<hi
        }
        return ix
    }

    // MARK: - Header access

    /// The value of a field, trimmed, with any folding kept as written.
    public func value(of field: SIPHeaderField) -> ArraySlice<UInt8> { bytes[field.value] }

    /// The value with folded line breaks replaced by a single space (§7.3.1).
    public func unfoldedValue(of field: SIPHeaderField) -> [UInt8] {
        let v = bytes[field.value]
        if !v.contains(where: { $0 == SIPASCII.cr || $0 == SIPASCII.lf }) { return Array(v) }
        return SIPBytes.unfold(v)
    }

    /// The unfolded value as a String (invalid UTF-8 replaced, never trapping).
    public func stringValue(of field: SIPHeaderField) -> String {
        String(decoding: unfoldedValue(of: field), as: UTF8.self)
    }

    /// The header name as written.
    public func name(of field: SIPHeaderField) -> ArraySlice<UInt8> { bytes[field.name] }

    /// The first field of a kind, or nil.
    public func firstHeader(_ kind: SIPHeaderKind) -> SIPHeaderField? {
        headers.first { $0.kind == kind }
    }

    /// All fields of a kind, in order.
    public func headers(_ kind: SIPHeaderKind) -> [SIPHeaderField] {
        headers.filter { $0.kind == kind }
    }

    /// All fields with this name, case-insensitively; a known name also matches its
    /// compact form (`Via` finds `v:` lines).
    public func headers<C: Collection<UInt8>>(named name: C) -> [SIPHeaderField] {
        let kind = SIPHeaderKind(name: name)
        if kind != .other { return headers(kind) }
        return headers.filter { $0.kind == .other && SIPBytes.equalsIgnoringCase(bytes[$0.name], name) }
    }

    /// String convenience for `headers(named:)`.
    public func headers(named name: String) -> [SIPHeaderField] {
        headers(named: Array(name.utf8))
    }

    /// Splits a comma-list value into its elements (§7.3.1), respecting quoted
    /// strings and `<...>`; elements are trimmed. Throws on an unterminated quote or
    /// an unclosed `<`.
    public func commaSeparatedValues(of field: SIPHeaderField) throws(SIPParseError) -> [ArraySlice<UInt8>] {
        try SIPScanner.splitCommaList(bytes[field.value])
    }

    /// The Request-URI bytes (empty for responses).
    public var requestURIBytes: ArraySlice<UInt8> { bytes[requestURIRange] }

    /// The reason phrase bytes of a response.
    public var reasonPhrase: ArraySlice<UInt8> { bytes[reasonPhraseRange] }

    /// The Request-URI, parsed on first use and cached (§19.1). Throws for
    /// responses and for a malformed URI.
    public var requestURI: SIPURI {
        get throws(SIPParseError) {
            if let uriCache { return uriCache }
            guard isRequest else { throw SIPParseError("Response has no Request-URI") }
            let uri = try SIPURI(bytes: bytes[requestURIRange])
            uriCache = uri
            return uri
        }
    }
}
