/// Recorded modifications of a message ("lumps" in Kamailio): byte ranges of the
/// original message and what replaces them. Applied in one pass by `serialize()`,
/// which copies every untouched byte verbatim and never re-renders a header.
public struct SIPEditList: Sendable {
    struct Edit: Sendable {
        var range: Range<Int>
        var bytes: [UInt8]
        /// Recording position (0 = first edit since the list was empty): the index
        /// `rewrite` takes, and the tie-break at one offset.
        var seq: Int
    }

    /// The edits in application order (see `applyBefore`), kept so as they are
    /// recorded: `serialize()` then walks them without sorting or copying the list.
    private(set) var items: [Edit] = []
    /// True once the body has been replaced (Content-Length was fixed then).
    public internal(set) var bodyReplaced = false

    /// Creates an empty list.
    public init() {}

    /// True when nothing has been recorded.
    public var isEmpty: Bool { items.isEmpty }
    /// Number of recorded edits.
    public var count: Int { items.count }

    /// Replaces `range` of the original bytes with `bytes`.
    /// (`consuming`: the caller's fresh array moves in instead of being retained.)
    public mutating func replace(_ range: Range<Int>, with bytes: consuming [UInt8]) {
        let seq = items.count
        // The new edit has the highest seq, so it goes after every edit that applies
        // before it; a proxy records in message order, so this is nearly always the end.
        var i = seq
        while i > 0, !Self.applyBefore(items[i - 1].range, items[i - 1].seq, range, seq) { i -= 1 }
        if items.isEmpty { items.reserveCapacity(8) }  // one allocation for a proxy's edits
        let edit = Edit(range: range, bytes: bytes, seq: seq)
        if i == seq { items.append(edit) } else { items.insert(edit, at: i) }
    }

    /// Inserts `bytes` before original offset `offset`. Several insertions at one
    /// offset come out in the order they were recorded.
    public mutating func insert(_ bytes: consuming [UInt8], at offset: Int) {
        replace(offset..<offset, with: bytes)
    }

    /// Deletes `range` of the original bytes.
    public mutating func delete(_ range: Range<Int>) {
        replace(range, with: [])
    }

    /// Replaces the bytes of the `index`-th recorded edit (a per-branch variant of an
    /// insertion, such as a Record-Route that depends on the outgoing socket). `index`
    /// is `count` as it was just before that edit was recorded.
    public mutating func rewrite(_ index: Int, with bytes: [UInt8]) {
        for i in items.indices where items[i].seq == index {
            items[i].bytes = bytes
            return
        }
    }

    /// Discards all edits.
    public mutating func removeAll() {
        items.removeAll()
        bodyReplaced = false
    }

    /// Bytes the edits insert (an upper bound of how much the message grows).
    var insertedByteCount: Int {
        var n = 0
        for i in items.indices { n += items[i].bytes.count }
        return n
    }

    /// Appends `source[start..<end]` with the edits applied to `out`. An edit that
    /// starts inside a range already replaced is dropped. Walks `items` by index and
    /// copies through buffer pointers, so no edit, slice or list is retained per step.
    func apply(to source: [UInt8], from start: Int, to end: Int, into out: inout [UInt8]) {
        source.withUnsafeBufferPointer { src in
            var cur = start
            for i in items.indices {
                let range = items[i].range
                guard range.lowerBound >= cur else { continue }
                let lo = min(range.lowerBound, end)
                if lo > cur { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[cur..<lo])) }
                items[i].bytes.withUnsafeBufferPointer { out.append(contentsOf: $0) }
                cur = max(lo, range.upperBound)
            }
            if cur < end { out.append(contentsOf: UnsafeBufferPointer(rebasing: src[cur..<end])) }
        }
    }

    /// Application order: by offset; at one offset, insertions before a replacement
    /// starting there; otherwise recording order.
    /// (Takes the ranges and seqs, not edits: reading an edit out of `items` would
    /// retain its bytes.)
    private static func applyBefore(_ a: Range<Int>, _ aSeq: Int, _ b: Range<Int>, _ bSeq: Int) -> Bool {
        if a.lowerBound != b.lowerBound { return a.lowerBound < b.lowerBound }
        if a.isEmpty != b.isEmpty { return a.isEmpty }
        return aSeq < bSeq
    }
}

private let crlf: [UInt8] = [SIPASCII.cr, SIPASCII.lf]

// High-level edit operations and serialization.
extension SIPMessage {
    /// Adds a header line (`"X-Foo: bar"`, no line terminator) at the end of the
    /// header section. (A message without the empty line after its headers, which
    /// `validateForProcessing` rejects, gets the line appended at its very end.)
    public func addHeader(_ line: [UInt8]) {
        edits.insert(line + crlf, at: hasHeaderTerminator ? headersEnd : headerSectionEnd)
    }

    /// Adds a header line before `field`.
    public func addHeader(_ line: [UInt8], before field: SIPHeaderField) {
        edits.insert(line + crlf, at: field.line.lowerBound)
    }

    /// Adds a header line after `field`.
    public func addHeader(_ line: [UInt8], after field: SIPHeaderField) {
        edits.insert(line + crlf, at: field.line.upperBound)
    }

    /// Adds CRLF-terminated header lines as one edit before `field`, or at the end of
    /// the header section when nil.
    public func addHeaderLines(_ lines: [UInt8], before field: SIPHeaderField?) {
        edits.insert(lines, at: field?.line.lowerBound ?? (hasHeaderTerminator ? headersEnd : headerSectionEnd))
    }

    /// String convenience for `addHeader(_:)`.
    public func addHeader(_ line: String) { addHeader(Array(line.utf8)) }

    /// Removes a whole header field, continuation lines included.
    public func removeHeader(_ field: SIPHeaderField) {
        edits.delete(field.line)
    }

    /// Replaces the value of `field` (name and line structure kept).
    public func replaceValue(of field: SIPHeaderField, with value: [UInt8]) {
        edits.replace(field.value, with: value)
    }

    /// Appends bytes to the end of a field's value (`;tag=abc`, `;received=...`).
    public func appendToValue(of field: SIPHeaderField, _ extra: [UInt8]) {
        edits.insert(extra, at: field.value.upperBound)
    }

    /// Removes one element of a comma-list field (the element containing offset
    /// `element.lowerBound`) together with its comma; the whole line when it is
    /// the only element (§7.3.1: a list and separate fields are equivalent).
    public func removeValue(_ element: Range<Int>, of field: SIPHeaderField) throws(SIPParseError) {
        // Positions of the element, the one before it and the one after, from one scan
        // without building the list (a Via is removed from every relayed reply).
        var count = 0
        var previous: Range<Int>?
        var found: (index: Int, range: Range<Int>, previous: Range<Int>?)?
        var following: Range<Int>?
        try SIPScanner.forEachCommaElement(bytes[field.value]) { r in
            count += 1
            if found == nil {
                if r.lowerBound <= element.lowerBound && element.lowerBound < max(r.upperBound, r.lowerBound + 1) {
                    found = (count - 1, r, previous)
                }
                previous = r
            } else if following == nil {
                following = r
            }
        }
        guard let found else { throw SIPParseError("Element not in header", offset: element.lowerBound) }
        if count == 1 {
            removeHeader(field)
        } else if found.index == 0, let following {
            edits.delete(found.range.lowerBound..<following.lowerBound)
        } else if let before = found.previous {
            edits.delete(before.upperBound..<found.range.upperBound)
        }
    }

    /// Removes one Via value (e.g. the top Via when forwarding a response, §18.2.2).
    public func removeVia(_ via: SIPVia) throws(SIPParseError) {
        // The parse already counted the field's values: a Via alone on its line (the
        // usual case, and every reply a proxy relays) goes with its line, no rescan.
        if via.elementsInField == 1 {
            removeHeader(headers[via.fieldIndex])
            return
        }
        try removeValue(via.range, of: headers[via.fieldIndex])
    }

    /// Replaces the Request-URI (§16.5 / §16.6 step 6 target rewriting).
    public func setRequestURI(_ uri: [UInt8]) {
        edits.replace(requestURIRange, with: uri)
    }

    /// Inserts a new top Via line (`value` is `SIP/2.0/UDP host;branch=...`) right
    /// before the first Via (§16.6 step 8), where Kamailio puts it: headers above that Via
    /// (and Record-Routes added at the top) stay above ours.
    public func insertTopVia(_ value: [UInt8]) {
        var line: [UInt8] = []
        line.reserveCapacity(Self.viaLinePrefix.count + value.count + 2)
        line += Self.viaLinePrefix
        line += value
        line += crlf
        insertTopViaLine(line)
    }

    /// `insertTopVia` for a caller that built the whole line: `Via: `, the value, CRLF.
    public func insertTopViaLine(_ line: [UInt8]) {
        edits.insert(line, at: firstHeader(.via)?.line.lowerBound ?? headersStart)
    }

    /// What starts a Via line we write.
    public static let viaLinePrefix: [UInt8] = Array("Via: ".utf8)

    /// Replaces the body and fixes Content-Length (adds it when missing, §20.14).
    public func replaceBody(_ body: [UInt8]) {
        var lengthDigits: [UInt8] = []
        SIPBytes.appendDecimal(body.count, to: &lengthDigits)
        let cls = headers(.contentLength)
        if let first = cls.first {
            replaceValue(of: first, with: lengthDigits)
            for extra in cls.dropFirst() { removeHeader(extra) }
        } else {
            addHeader(Array("Content-Length: ".utf8) + lengthDigits)
        }
        var replacement: [UInt8] = []
        if !hasHeaderTerminator {
            if bytes.last != SIPASCII.lf { replacement += crlf }
            replacement += crlf
        }
        replacement += body
        edits.replace(bodyStart..<bytes.count, with: replacement)
        edits.bodyReplaced = true
    }

    // Where a header added to a message without an empty line goes.
    private var headerSectionEnd: Int { bytes.count }

    /// The message with all edits applied, in one pass over the original bytes.
    /// Leading CRLFs (§7.5) and datagram bytes beyond Content-Length (§18.3) are not
    /// copied. An edit that starts inside a range already replaced is dropped.
    public func serialize() -> [UInt8] {
        let start = startLineRange.lowerBound
        let end = edits.bodyReplaced ? bytes.count : messageEnd
        if edits.isEmpty { return Array(bytes[start..<end]) }
        var out: [UInt8] = []
        out.reserveCapacity(end - start + edits.insertedByteCount)
        edits.apply(to: bytes, from: start, to: end, into: &out)
        return out
    }
}
