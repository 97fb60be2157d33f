/// Recorded modifications of a message ("lumps" in Kamailio): byte ranges of the
/// original message and what replaces them. Applied in one pass by `serialize()`,
/// which copies every untouched byte verbatim and never re-renders a header.
public struct SIPEditList: Sendable {
    struct Edit: Sendable {
        var range: Range<Int>
        var bytes: [UInt8]
        var seq: Int
    }

    private(set) var items: [Edit] = []
    private var nextSeq = 0
    /// True once the body has been replaced (Content-Length was fixed then).
    public internal(set) var bodyReplaced = false

    /// Creates an empty list.
    public init() {}

    /// True when nothing has been recorded.
    public var isEmpty: Bool { items.isEmpty }
    /// Number of recorded edits.
    public var count: Int { items.count }

    /// Replaces `range` of the original bytes with `bytes`.
    public mutating func replace(_ range: Range<Int>, with bytes: [UInt8]) {
        items.append(Edit(range: range, bytes: bytes, seq: nextSeq))
        nextSeq += 1
    }

    /// Inserts `bytes` before original offset `offset`. Several insertions at one
    /// offset come out in the order they were recorded.
    public mutating func insert(_ bytes: [UInt8], at offset: Int) {
        replace(offset..<offset, with: bytes)
    }

    /// Deletes `range` of the original bytes.
    public mutating func delete(_ range: Range<Int>) {
        replace(range, with: [])
    }

    /// Replaces the bytes of the `index`-th recorded edit (a per-branch variant of an
    /// insertion, such as a Record-Route that depends on the outgoing socket).
    public mutating func rewrite(_ index: Int, with bytes: [UInt8]) {
        guard items.indices.contains(index) else { return }
        items[index].bytes = bytes
    }

    /// Discards all edits.
    public mutating func removeAll() {
        items.removeAll()
        bodyReplaced = false
    }

    /// Edits in application order: by offset; at one offset, insertions before a
    /// replacement starting there; otherwise recording order.
    var sorted: [Edit] {
        items.sorted(by: Self.applyBefore)
    }

    /// `sorted`, without sorting (or allocating) when the edits were recorded in
    /// application order, as a proxy's Via and Record-Route insertions usually are.
    var inOrder: [Edit] {
        var i = 1
        while i < items.count {
            if !Self.applyBefore(items[i - 1], items[i]) { return sorted }
            i += 1
        }
        return items
    }

    /// Bytes the edits insert (an upper bound of how much the message grows).
    var insertedByteCount: Int {
        var n = 0
        for e in items { n += e.bytes.count }
        return n
    }

    private static func applyBefore(_ a: Edit, _ b: Edit) -> Bool {
        if a.range.lowerBound != b.range.lowerBound { return a.range.lowerBound < b.range.lowerBound }
        if a.range.isEmpty != b.range.isEmpty { return a.range.isEmpty }
        return a.seq < b.seq
    }
}

private let crlf: [UInt8] = [SIPASCII.cr, SIPASCII.lf]
private let viaPrefix: [UInt8] = Array("Via: ".utf8)

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
        let parts = try SIPScanner.splitCommaList(bytes[field.value])
        guard let i = parts.firstIndex(where: { $0.startIndex <= element.lowerBound && element.lowerBound < max($0.endIndex, $0.startIndex + 1) }) else {
            throw SIPParseError("Element not in header", offset: element.lowerBound)
        }
        if parts.count == 1 {
            removeHeader(field)
        } else if i == 0 {
            edits.delete(parts[0].startIndex..<parts[1].startIndex)
        } else {
            edits.delete(parts[i - 1].endIndex..<parts[i].endIndex)
        }
    }

    /// Removes one Via value (e.g. the top Via when forwarding a response, §18.2.2).
    public func removeVia(_ via: SIPVia) throws(SIPParseError) {
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
        line.reserveCapacity(viaPrefix.count + value.count + 2)
        line += viaPrefix
        line += value
        line += crlf
        edits.insert(line, at: firstHeader(.via)?.line.lowerBound ?? headersStart)
    }

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
        var cur = start
        for e in edits.inOrder {
            guard e.range.lowerBound >= cur else { continue }
            let lo = min(e.range.lowerBound, end)
            if lo > cur { out.append(contentsOf: bytes[cur..<lo]) }
            out.append(contentsOf: e.bytes)
            cur = max(lo, e.range.upperBound)
        }
        if cur < end { out.append(contentsOf: bytes[cur..<end]) }
        return out
    }
}
