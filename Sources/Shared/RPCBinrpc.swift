/// binrpc, the binary RPC protocol of Kamailio's `ctl` module and `kamcmd` (spec §3).
///
/// Layout reminders (all numbers big-endian, every width minimal):
/// - header: `A1`, then `type<<4 | (lengthBytes-1)<<2 | (cookieBytes-1)`, the body
///   length, the cookie;
/// - body: a flat stream of records, each a tag byte `X SSS TTTT` and its value.

/// The packet types binrpc defines.
public enum BinrpcPacketType: UInt8, Sendable, Equatable {
    /// A method call: method name as STR, then the parameters.
    case request = 0
    /// A successful reply: the values the method added, in order, with no wrapper.
    case reply = 1
    /// A fault: INT code, STR message.
    case fault = 3
}

/// Record type numbers (the low nibble of a record tag).
enum BinrpcRecordType: UInt8 {
    /// INT, STR, DOUBLE, STRUCT, ARRAY, AVP (member name), BYTES — spec §3.3.
    case int = 0, string = 1, double = 2, structure = 3, array = 4, memberName = 5, bytes = 6
}

/// Why a binrpc byte sequence could not be read.
public struct BinrpcError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kinds of damage a decoder can meet.
    public enum Kind: Equatable, Sendable {
        /// Byte 0's high nibble is not the magic `0xA`.
        case badMagic(UInt8)
        /// Byte 0's low nibble is not version 1.
        case badVersion(UInt8)
        /// The packet type is not 0, 1 or 3.
        case unknownPacketType(UInt8)
        /// The announced body is larger than the decoder accepts.
        case bodyTooLarge(announced: Int, limit: Int)
        /// The bytes end inside a header, packet or record.
        case truncated
        /// Bytes follow a complete packet where exactly one was expected.
        case trailingBytes(Int)
        /// A record tag names a type binrpc does not define.
        case unknownRecordType(UInt8)
        /// A record's size field is unusable (too wide, or an impossible marker).
        case badRecordSize
        /// An INT or DOUBLE record wider than 4 bytes.
        case integerTooWide(Int)
        /// Containers nested deeper than the decoder's limit.
        case nestingTooDeep(limit: Int)
        /// A container end marker without a matching start.
        case unexpectedContainerEnd
        /// The body ends inside a struct or array.
        case unterminatedContainer
        /// A member name (AVP) record outside a struct.
        case memberNameOutsideStruct
        /// A member name not followed by a value.
        case memberWithoutValue
        /// A request whose first record is not a STR.
        case missingMethodName
        /// A fault whose body is not INT code + STR message.
        case badFaultBody
    }

    /// What went wrong.
    public var kind: Kind
    /// Offset of the offending byte, counted from the start of the packet, when known.
    public var offset: Int?

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int? = nil) {
        self.kind = kind
        self.offset = offset
    }

    /// Short text in the spirit of Kamailio's parse error strings.
    public var description: String {
        let text: String
        switch kind {
        case .badMagic(let b): text = "bad magic 0x\(String(b, radix: 16))"
        case .badVersion(let v): text = "unsupported version \(v)"
        case .unknownPacketType(let t): text = "unknown packet type \(t)"
        case .bodyTooLarge(let n, let limit): text = "body of \(n) bytes exceeds the limit of \(limit)"
        case .truncated: text = "truncated packet"
        case .trailingBytes(let n): text = "\(n) bytes after the packet"
        case .unknownRecordType(let t): text = "unknown record type \(t)"
        case .badRecordSize: text = "bad record size"
        case .integerTooWide(let n): text = "integer record of \(n) bytes"
        case .nestingTooDeep(let limit): text = "containers nested deeper than \(limit)"
        case .unexpectedContainerEnd: text = "container end without start"
        case .unterminatedContainer: text = "unterminated container"
        case .memberNameOutsideStruct: text = "member name outside a struct"
        case .memberWithoutValue: text = "member name without value"
        case .missingMethodName: text = "method name is not a string"
        case .badFaultBody: text = "fault body is not code + message"
        }
        if let offset { return "\(text) at offset \(offset)" }
        return text
    }

    /// True when the packet framing itself is broken: the stream cannot be resynchronised,
    /// so a server answers `400 bad request: corrupted packet` with cookie 0 and closes.
    public var isFraming: Bool {
        switch kind {
        case .badMagic, .badVersion, .unknownPacketType, .bodyTooLarge: return true
        default: return false
        }
    }
}

/// One binrpc packet: its cookie and its decoded body.
public struct BinrpcPacket: Equatable, Sendable {
    /// The decoded body, by packet type.
    public enum Body: Equatable, Sendable {
        /// A method call.
        case request(method: String, params: [RPCValue])
        /// A successful reply: every top-level value the method added, in order.
        case reply([RPCValue])
        /// A fault.
        case fault(RPCFault)
    }

    /// Opaque request id; a reply echoes it (kamcmd checks it).
    public var cookie: UInt32
    /// What the packet says.
    public var body: Body

    /// Creates a packet.
    public init(cookie: UInt32, body: Body) {
        self.cookie = cookie
        self.body = body
    }

    /// Shorthand for a request packet.
    public static func request(_ method: String, _ params: [RPCValue] = [], cookie: UInt32) -> BinrpcPacket {
        BinrpcPacket(cookie: cookie, body: .request(method: method, params: params))
    }

    /// The packet type of the body.
    public var type: BinrpcPacketType {
        switch body {
        case .request: return .request
        case .reply: return .reply
        case .fault: return .fault
        }
    }

    /// The wire bytes, with minimal-width length and cookie as Kamailio writes them.
    public func encoded() -> [UInt8] {
        var writer = BinrpcRecordWriter()
        switch body {
        case .request(let method, let params):
            writer.appendString(method)
            for p in params { writer.append(p) }
        case .reply(let values):
            for v in values { writer.append(v) }
        case .fault(let fault):
            writer.append(.int(fault.code))
            writer.appendString(fault.message)
        }
        return BinrpcPacket.header(type: type, bodyLength: writer.bytes.count, cookie: cookie) + writer.bytes
    }

    /// Encodes just a packet header; useful for servers that build bodies themselves.
    public static func header(type: BinrpcPacketType, bodyLength: Int, cookie: UInt32) -> [UInt8] {
        let length = bigEndianMinimal(UInt32(truncatingIfNeeded: bodyLength))
        let cookieBytes = bigEndianMinimal(cookie)
        let flags = type.rawValue << 4 | UInt8(length.count - 1) << 2 | UInt8(cookieBytes.count - 1)
        return [0xA1, flags] + length + cookieBytes
    }

    /// Decodes exactly one complete packet; anything missing or left over is an error.
    public static func decode(_ bytes: some Collection<UInt8>, maxBodySize: Int = BinrpcStreamDecoder.defaultMaxBodySize)
        throws(BinrpcError) -> BinrpcPacket
    {
        var decoder = BinrpcStreamDecoder(maxBodySize: maxBodySize)
        decoder.append(bytes)
        switch decoder.next() {
        case .packet(let packet):
            if decoder.bufferedByteCount > 0 {
                throw BinrpcError(.trailingBytes(decoder.bufferedByteCount), at: bytes.count - decoder.bufferedByteCount)
            }
            return packet
        case .needMoreData:
            throw BinrpcError(.truncated, at: bytes.count)
        case .malformed(_, _, let error), .corrupt(let error):
            throw error
        }
    }

    /// The shortest big-endian form of `value`, at least one byte.
    static func bigEndianMinimal(_ value: UInt32) -> [UInt8] {
        var width = 1
        while width < 4 && value >> (UInt32(width) * 8) != 0 { width += 1 }
        return (0..<width).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt32($0) * 8)) }
    }
}

/// Appends binrpc records to a byte buffer.
///
/// Every value keeps its shape: `.array` is written as an ARRAY record even though
/// Kamailio's server never emits one (use `RPCValue.binrpcShaped` first to mimic it).
public struct BinrpcRecordWriter: Sendable {
    /// The records written so far.
    public private(set) var bytes: [UInt8] = []

    /// Creates an empty writer.
    public init() {}

    /// Appends one value, recursively for containers.
    public mutating func append(_ value: RPCValue) {
        switch value {
        case .int(let i): appendInteger(Int32(truncatingIfNeeded: i), type: .int)
        case .bool(let b): appendInteger(b ? 1 : 0, type: .int)
        case .double(let d): appendDouble(d)
        case .string(let s): appendString(s)
        case .null: appendString("<null string>")
        case .bytes(let b): appendSized(type: .bytes, payload: b)
        case .struct(let members):
            bytes.append(BinrpcRecordType.structure.rawValue)
            for m in members {
                if let name = m.name { appendSized(type: .memberName, payload: Array(name.utf8) + [0]) }
                append(m.value)
            }
            bytes.append(0x80 | BinrpcRecordType.structure.rawValue)
        case .array(let elements):
            bytes.append(BinrpcRecordType.array.rawValue)
            for e in elements { append(e) }
            bytes.append(0x80 | BinrpcRecordType.array.rawValue)
        }
    }

    /// Appends a STR record (the text plus its terminating NUL).
    public mutating func appendString(_ s: String) {
        appendSized(type: .string, payload: Array(s.utf8) + [0])
    }

    /// DOUBLE as Kamailio 5.6 writes it: a ×1000 value that fits a positive 32-bit INT in
    /// the minimum bytes (0.5 → `22 01 f4`); anything else (an unset q, -1) as the 64-bit
    /// record, an extended tag with SSS=0 and 8 bytes, which kamcmd prints as `-1`. The
    /// 4-byte form of a negative value would read as unsigned there (`4294966.296000`).
    private mutating func appendDouble(_ d: Double) {
        let scaled = (d * 1000).rounded()
        guard scaled.isFinite, abs(scaled) < 9.2e18 else { return appendInteger(0, type: .double) }
        let v = Int64(scaled)
        if let small = Int32(exactly: v), small >= 0 { return appendInteger(small, type: .double) }
        bytes.append(0x80 | BinrpcRecordType.double.rawValue)
        bytes.append(contentsOf: withUnsafeBytes(of: v.bigEndian, Array.init))
    }

    /// INT/DOUBLE: 0 has size 0, negatives take 4 bytes, positives the minimum.
    private mutating func appendInteger(_ v: Int32, type: BinrpcRecordType) {
        if v == 0 {
            bytes.append(type.rawValue)
            return
        }
        let payload = v < 0
            ? withUnsafeBytes(of: v.bigEndian, Array.init)
            : BinrpcPacket.bigEndianMinimal(UInt32(v))
        bytes.append(UInt8(payload.count) << 4 | type.rawValue)
        bytes.append(contentsOf: payload)
    }

    /// STR/AVP/BYTES: sizes below 8 go in the tag, larger ones in extra length bytes.
    private mutating func appendSized(type: BinrpcRecordType, payload: [UInt8]) {
        if payload.count < 8 {
            bytes.append(UInt8(payload.count) << 4 | type.rawValue)
        } else {
            let size = BinrpcPacket.bigEndianMinimal(UInt32(truncatingIfNeeded: payload.count))
            bytes.append(0x80 | UInt8(size.count) << 4 | type.rawValue)
            bytes.append(contentsOf: size)
        }
        bytes.append(contentsOf: payload)
    }
}

/// Reads the records of one packet body, without recursion (a fuzzed body of 64 KiB of
/// struct starts must not blow the stack) and without allocating more than the body holds.
public struct BinrpcRecordReader {
    /// The deepest container nesting accepted.
    public static let defaultMaxDepth = 64

    private struct Frame {
        var isArray: Bool
        var members: [RPCMember] = []
        var pendingName: String?
    }

    /// Decodes all records in `body`; `baseOffset` is added to error offsets so they
    /// count from the start of the packet.
    public static func read(_ body: ArraySlice<UInt8>, baseOffset: Int = 0, maxDepth: Int = defaultMaxDepth)
        throws(BinrpcError) -> [RPCValue]
    {
        var top: [RPCValue] = []
        var stack: [Frame] = []
        var pos = body.startIndex
        let end = body.endIndex
        func offset(_ p: Int) -> Int { baseOffset + p - body.startIndex }

        func emit(_ value: RPCValue, _ stack: inout [Frame], _ top: inout [RPCValue]) {
            if stack.isEmpty {
                top.append(value)
            } else {
                let name = stack[stack.count - 1].pendingName
                stack[stack.count - 1].pendingName = nil
                stack[stack.count - 1].members.append(RPCMember(name, value))
            }
        }

        while pos < end {
            let tagOffset = pos
            let tag = body[pos]
            pos += 1
            let extended = tag & 0x80 != 0
            let sss = Int(tag >> 4 & 0x07)
            guard let type = BinrpcRecordType(rawValue: tag & 0x0F) else {
                throw BinrpcError(.unknownRecordType(tag & 0x0F), at: offset(tagOffset))
            }

            if type == .structure || type == .array {
                guard sss == 0 else { throw BinrpcError(.badRecordSize, at: offset(tagOffset)) }
                if extended {
                    guard let frame = stack.last, frame.isArray == (type == .array) else {
                        throw BinrpcError(.unexpectedContainerEnd, at: offset(tagOffset))
                    }
                    guard frame.pendingName == nil else {
                        throw BinrpcError(.memberWithoutValue, at: offset(tagOffset))
                    }
                    stack.removeLast()
                    let value: RPCValue = frame.isArray ? .array(frame.members.map(\.value)) : .struct(frame.members)
                    emit(value, &stack, &top)
                } else {
                    guard stack.count < maxDepth else {
                        throw BinrpcError(.nestingTooDeep(limit: maxDepth), at: offset(tagOffset))
                    }
                    stack.append(Frame(isArray: type == .array))
                }
                continue
            }

            // Scalar records: find the value size, then check it fits before touching it.
            var size = sss
            if extended, sss == 0, type == .int || type == .double {
                // Kamailio 5.6 sends 64-bit numbers (an unset usrloc q: -1 as -1000/1000) as
                // an extended INT/DOUBLE tag with SSS=0 followed by 8 value bytes; kamcmd
                // reads them so, and so do we.
                guard end - pos >= 8 else { throw BinrpcError(.truncated, at: offset(pos)) }
                var raw: UInt64 = 0
                for b in body[pos..<(pos + 8)] { raw = raw << 8 | UInt64(b) }
                pos += 8
                let v = Int64(bitPattern: raw)
                emit(type == .int ? .int(Int(v)) : .double(Double(v) / 1000), &stack, &top)
                continue
            }
            if extended {
                guard sss >= 1 && sss <= 4 else { throw BinrpcError(.badRecordSize, at: offset(tagOffset)) }
                guard end - pos >= sss else { throw BinrpcError(.truncated, at: offset(pos)) }
                size = 0
                for _ in 0..<sss {
                    size = size << 8 | Int(body[pos])
                    pos += 1
                }
            }
            guard end - pos >= size else { throw BinrpcError(.truncated, at: offset(pos)) }
            let payload = body[pos..<(pos + size)]
            pos += size

            switch type {
            case .int, .double:
                guard size <= 4 else { throw BinrpcError(.integerTooWide(size), at: offset(tagOffset)) }
                var raw: UInt32 = 0
                for b in payload { raw = raw << 8 | UInt32(b) }
                let v = Int32(bitPattern: raw)
                emit(type == .int ? .int(Int(v)) : .double(Double(v) / 1000), &stack, &top)
            case .string:
                emit(.string(cString(payload)), &stack, &top)
            case .bytes:
                emit(.bytes(Array(payload)), &stack, &top)
            case .memberName:
                guard let frame = stack.last, !frame.isArray else {
                    throw BinrpcError(.memberNameOutsideStruct, at: offset(tagOffset))
                }
                guard frame.pendingName == nil else {
                    throw BinrpcError(.memberWithoutValue, at: offset(tagOffset))
                }
                stack[stack.count - 1].pendingName = cString(payload)
            case .structure, .array:
                break  // handled above
            }
        }
        if let frame = stack.last {
            throw BinrpcError(frame.pendingName == nil ? .unterminatedContainer : .memberWithoutValue, at: offset(end))
        }
        return top
    }

    /// STR payloads carry a terminating NUL that is not part of the text.
    private static func cString(_ payload: ArraySlice<UInt8>) -> String {
        var p = payload
        if p.last == 0 { p = p.dropLast() }
        return String(decoding: p, as: UTF8.self)
    }
}

/// What a `BinrpcStreamDecoder` can say after more bytes arrived.
public enum BinrpcStreamEvent: Equatable, Sendable {
    /// A complete, well-formed packet (consumed from the buffer).
    case packet(BinrpcPacket)
    /// The buffer holds no complete packet yet.
    case needMoreData
    /// The header was fine but the body was not; the packet was consumed and the stream
    /// stays usable. A server answers with a 400 fault echoing `cookie`.
    case malformed(cookie: UInt32, type: BinrpcPacketType, error: BinrpcError)
    /// The framing is broken; the decoder is stuck in this state. A server answers
    /// `400 bad request: corrupted packet` with cookie 0 and closes the connection.
    case corrupt(BinrpcError)
}

/// A streaming binrpc decoder for stream sockets: feed it arbitrary chunks, take packets.
///
/// Packets may arrive in pieces or several per read (pipelining, spec §3.1). Memory stays
/// bounded by the bytes fed in plus nothing: a header announcing a body beyond
/// `maxBodySize` is rejected before any body byte is buffered.
public struct BinrpcStreamDecoder: Sendable {
    /// Default body limit: generous for replies (Kamailio's own limit is 32 KiB by default).
    public static let defaultMaxBodySize = 1 << 20

    /// Largest body accepted.
    public let maxBodySize: Int
    /// Deepest container nesting accepted.
    public let maxDepth: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: BinrpcError?

    /// Creates a decoder. Servers should pass their request limit (Kamailio: 65535).
    public init(maxBodySize: Int = defaultMaxBodySize, maxDepth: Int = BinrpcRecordReader.defaultMaxDepth) {
        self.maxBodySize = maxBodySize
        self.maxDepth = maxDepth
    }

    /// Bytes received but not yet part of a returned packet.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds received bytes.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Returns the next packet, or says more bytes are needed, or reports damage.
    public mutating func next() -> BinrpcStreamEvent {
        if let failure { return .corrupt(failure) }
        let available = buffer.count - start
        guard available >= 1 else { return .needMoreData }
        let b0 = buffer[start]
        // Check the magic byte as soon as it is there, so garbage fails fast instead of
        // waiting for a length that will never come.
        guard b0 >> 4 == 0xA else { return fail(.badMagic(b0 >> 4), at: 0) }
        guard b0 & 0x0F == 1 else { return fail(.badVersion(b0 & 0x0F), at: 0) }
        guard available >= 2 else { return .needMoreData }
        let b1 = buffer[start + 1]
        guard let type = BinrpcPacketType(rawValue: b1 >> 4) else {
            return fail(.unknownPacketType(b1 >> 4), at: 1)
        }
        let lengthWidth = Int(b1 >> 2 & 0x03) + 1
        let cookieWidth = Int(b1 & 0x03) + 1
        let headerSize = 2 + lengthWidth + cookieWidth
        guard available >= headerSize else { return .needMoreData }
        var bodyLength = 0
        for i in 0..<lengthWidth { bodyLength = bodyLength << 8 | Int(buffer[start + 2 + i]) }
        guard bodyLength <= maxBodySize else {
            return fail(.bodyTooLarge(announced: bodyLength, limit: maxBodySize), at: 2)
        }
        var cookie: UInt32 = 0
        for i in 0..<cookieWidth { cookie = cookie << 8 | UInt32(buffer[start + 2 + lengthWidth + i]) }
        guard available >= headerSize + bodyLength else { return .needMoreData }

        let bodyStart = start + headerSize
        let decoded = Result { () throws(BinrpcError) in
            try BinrpcRecordReader.read(buffer[bodyStart..<(bodyStart + bodyLength)], baseOffset: headerSize, maxDepth: maxDepth)
        }
        start = bodyStart + bodyLength
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let values: [RPCValue]
        switch decoded {
        case .success(let v): values = v
        case .failure(let error): return .malformed(cookie: cookie, type: type, error: error)
        }
        switch type {
        case .reply:
            return .packet(BinrpcPacket(cookie: cookie, body: .reply(values)))
        case .request:
            guard case .string(let method)? = values.first else {
                return .malformed(cookie: cookie, type: type, error: BinrpcError(.missingMethodName, at: headerSize))
            }
            return .packet(BinrpcPacket(cookie: cookie, body: .request(method: method, params: Array(values.dropFirst()))))
        case .fault:
            guard values.count >= 2, case .int(let code) = values[0], case .string(let message) = values[1] else {
                return .malformed(cookie: cookie, type: type, error: BinrpcError(.badFaultBody, at: headerSize))
            }
            return .packet(BinrpcPacket(cookie: cookie, body: .fault(RPCFault(code: code, message: message))))
        }
    }

    private mutating func fail(_ kind: BinrpcError.Kind, at relative: Int) -> BinrpcStreamEvent {
        let error = BinrpcError(kind, at: relative)
        failure = error
        return .corrupt(error)
    }
}
