/// Cuts a byte stream (TCP, later TLS) into SIP messages, RFC 3261 §18.3: the header block
/// ends at the first empty line and `Content-Length` says how many body bytes follow.
///
/// The framer is a value owned by one connection's reader; bytes go in with `append`,
/// and `next()` yields one event at a time until it needs more data. It never interprets
/// SIP beyond the length: the daemon parses the message and answers 400 where it must.
///
/// Choices, compared with Kamailio:
/// - Empty lines between messages are skipped (RFC 3261 §7.5 lets receivers ignore them).
/// - A CRLFCRLF where a message would start is a keep-alive ping (RFC 5626 §3.5.1); the
///   caller answers it with a single CRLF pong.
/// - A header block without Content-Length gets an empty body. RFC 3261 §18.3 makes the
///   header mandatory on streams; Kamailio refuses such messages unless
///   `tcp_accept_no_cl=yes`. We accept them so the daemon can still answer (and log) them.
/// - A malformed, negative or oversized Content-Length cannot be framed at all: the stream
///   has lost sync, so the only safe answer is to close the connection.
/// - Lines may end in CRLF or a bare LF (Kamailio tolerates both too).
public struct TransportStreamFramer: Sendable {
    /// What `next()` found.
    public enum Output: Sendable, Equatable {
        /// One complete message (header block and body), exactly its bytes.
        case message([UInt8])
        /// A CRLFCRLF keep-alive ping; answer with a single CRLF.
        case keepAlivePing
        /// Nothing complete is buffered.
        case needMoreData
    }

    /// Why the stream cannot be framed any more; the connection must be closed.
    public enum FramingError: Error, Sendable, Equatable {
        /// No empty line within `maxHeaderBytes` bytes.
        case headerTooLarge
        /// Content-Length is not a decimal number, or two of them disagree.
        case invalidContentLength
        /// Header block plus Content-Length exceed `maxMessageSize`.
        case messageTooLarge
    }

    /// Largest message (header block plus body).
    public let maxMessageSize: Int
    /// Largest header block, blank line included.
    public let maxHeaderBytes: Int

    private var buffer: [UInt8] = []
    /// Index of the first unconsumed byte in `buffer`.
    private var start = 0
    /// Where the search for the end of the header block resumes, so bytes are scanned once.
    private var scanFrom = 0
    /// End index of the current message once its header block has been parsed.
    private var messageEnd: Int?

    /// A framer with the given limits.
    public init(maxMessageSize: Int = 65535, maxHeaderBytes: Int = 65535) {
        self.maxMessageSize = max(1, maxMessageSize)
        self.maxHeaderBytes = max(1, min(maxHeaderBytes, maxMessageSize))
    }

    /// Bytes buffered and not yet returned.
    public var bufferedByteCount: Int { buffer.count - start }

    /// True when part of a message is buffered (not just separator CRLFs). Valid after
    /// `next()` returned `.needMoreData`; the reader uses it for the incomplete-message timer.
    public var hasPartialMessage: Bool {
        messageEnd != nil || (start < buffer.count && !Self.isLineEnd(buffer[start]))
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next event in the buffered bytes. Call until it returns `.needMoreData`.
    public mutating func next() throws(FramingError) -> Output {
        if messageEnd == nil {
            if let ping = skipSeparators() { return ping }
            guard start < buffer.count else { return .needMoreData }
            guard let headerEnd = findHeaderEnd() else {
                if buffer.count - start > maxHeaderBytes { throw .headerTooLarge }
                return .needMoreData
            }
            let headerLength = headerEnd - start
            if headerLength > maxHeaderBytes { throw .headerTooLarge }
            let bodyLength = try contentLength(headerStart: start, headerEnd: headerEnd)
            if headerLength + bodyLength > maxMessageSize { throw .messageTooLarge }
            messageEnd = headerEnd + bodyLength
        }
        guard let end = messageEnd, end <= buffer.count else { return .needMoreData }
        let message = Array(buffer[start..<end])
        start = end
        scanFrom = end
        messageEnd = nil
        return .message(message)
    }

    // MARK: - Scanning

    private static let cr: UInt8 = 13
    private static let lf: UInt8 = 10
    private static let sp: UInt8 = 32
    private static let ht: UInt8 = 9

    private static let contentLengthName: [UInt8] = Array("content-length".utf8)

    @inline(__always)
    private static func isLineEnd(_ b: UInt8) -> Bool { b == cr || b == lf }

    /// Drops consumed bytes so the buffer holds at most one partial message; runs before
    /// appending, when nothing refers to old indices except `scanFrom`/`messageEnd`.
    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
        } else if start > 4096 {
            buffer.removeSubrange(0..<start)
        } else {
            return
        }
        scanFrom -= start
        if let e = messageEnd { messageEnd = e - start }
        start = 0
    }

    /// Skips CR/LF between messages; returns `.keepAlivePing` for a CRLFCRLF, or
    /// `.needMoreData` when only up to three CR/LF bytes are buffered (they may grow into
    /// a ping). Returns nil when `start` is at a message's first byte or the buffer is empty.
    private mutating func skipSeparators() -> Output? {
        while start < buffer.count, Self.isLineEnd(buffer[start]) {
            let available = buffer.count - start
            if available >= 4, buffer[start] == Self.cr, buffer[start + 1] == Self.lf,
               buffer[start + 2] == Self.cr, buffer[start + 3] == Self.lf {
                start += 4
                scanFrom = start
                return .keepAlivePing
            }
            var run = 0
            while start + run < buffer.count, Self.isLineEnd(buffer[start + run]) { run += 1 }
            if start + run == buffer.count, run < 4 { return .needMoreData }
            let isCRLF = buffer[start] == Self.cr && start + 1 < buffer.count && buffer[start + 1] == Self.lf
            start += isCRLF ? 2 : 1
            scanFrom = start
        }
        return nil
    }

    /// Index just past the empty line that ends the header block (`\r\n\r\n`, `\n\n` or
    /// `\n\r\n`), or nil. Remembers where it stopped so later calls scan only new bytes.
    private mutating func findHeaderEnd() -> Int? {
        var i = max(scanFrom, start)
        let count = buffer.count
        let found: Int? = buffer.withUnsafeBufferPointer { b in
            while i < count {
                if b[i] == Self.lf {
                    if i + 1 < count, b[i + 1] == Self.lf { return i + 2 }
                    if i + 2 < count, b[i + 1] == Self.cr, b[i + 2] == Self.lf { return i + 3 }
                }
                i += 1
            }
            return nil
        }
        // An LF in the last two bytes may still start the empty line: rescan it next time.
        scanFrom = found ?? max(start, count - 2)
        return found
    }

    /// The Content-Length of the header block in `headerStart..<headerEnd` (0 when absent).
    /// Header names are case-insensitive and `l` is the compact form (RFC 3261 §7.3.3);
    /// LWS, folded lines included, may surround the colon and the number (§25.1).
    private func contentLength(headerStart: Int, headerEnd: Int) throws(FramingError) -> Int {
        var result: Int?
        var lineStart = headerStart
        var firstLine = true
        while lineStart < headerEnd {
            var lineEnd = lineStart
            while lineEnd < headerEnd, buffer[lineEnd] != Self.lf { lineEnd += 1 }
            defer { lineStart = lineEnd + 1 }
            if firstLine { firstLine = false; continue }
            guard let valueStart = contentLengthValueStart(lineStart: lineStart, lineEnd: lineEnd) else { continue }
            let value = try parseLength(from: valueStart, headerEnd: headerEnd)
            if let previous = result, previous != value { throw .invalidContentLength }
            result = value
        }
        return result ?? 0
    }

    /// If the line is a Content-Length header, the index just past its colon.
    private func contentLengthValueStart(lineStart: Int, lineEnd: Int) -> Int? {
        let long = Self.contentLengthName
        var i = lineStart
        var nameLength = 0
        var matchesLong = true
        while i < lineEnd {
            let b = buffer[i]
            if b == UInt8(ascii: ":") || b == Self.sp || b == Self.ht { break }
            let lower = b | 0x20
            if nameLength >= long.count || long[nameLength] != lower { matchesLong = false }
            nameLength += 1
            i += 1
        }
        let isLong = matchesLong && nameLength == long.count
        let isCompact = nameLength == 1 && (buffer[lineStart] | 0x20) == UInt8(ascii: "l")
        guard isLong || isCompact else { return nil }
        while i < lineEnd, buffer[i] == Self.sp || buffer[i] == Self.ht { i += 1 }
        guard i < lineEnd, buffer[i] == UInt8(ascii: ":") else { return nil }
        return i + 1
    }

    /// Parses `LWS 1*DIGIT LWS` up to the end of the (possibly folded) header line.
    /// Values above `maxMessageSize` stop accumulating, so 4294967296 cannot overflow.
    private func parseLength(from valueStart: Int, headerEnd: Int) throws(FramingError) -> Int {
        var i = valueStart
        var value = 0
        var digits = 0
        var digitsEnded = false
        while i < headerEnd {
            let b = buffer[i]
            if b == Self.cr { i += 1; continue }
            if b == Self.lf {
                // A following line starting with whitespace continues this header (folding).
                if i + 1 < headerEnd, buffer[i + 1] == Self.sp || buffer[i + 1] == Self.ht { i += 1; continue }
                break
            }
            if b == Self.sp || b == Self.ht {
                if digits > 0 { digitsEnded = true }
                i += 1
                continue
            }
            guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9"), !digitsEnded else { throw .invalidContentLength }
            if value <= maxMessageSize { value = value * 10 + Int(b - UInt8(ascii: "0")) }
            digits += 1
            i += 1
        }
        guard digits > 0 else { throw .invalidContentLength }
        if value > maxMessageSize { throw .messageTooLarge }
        return value
    }
}
