import Foundation

// JSON-RPC 2.0 as Kamailio's jsonrpcs module speaks it (spec §4–§6), on top of a small
// JSON parser/serializer of our own. We do not use JSONSerialization because it loses what
// matters here: member order, duplicate keys, the int/double distinction and Kamailio's
// exact pretty layout (kamctl's awk filters depend on it).

// MARK: - JSON values

/// Why a JSON text could not be parsed.
public struct RPCJSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Equatable, Sendable {
        /// The text ended inside a value.
        case unexpectedEnd
        /// A byte that cannot start or continue a value here.
        case unexpectedByte(UInt8)
        /// A malformed number.
        case badNumber
        /// A malformed escape sequence in a string.
        case badEscape
        /// Containers nested deeper than the limit.
        case nestingTooDeep(limit: Int)
        /// Non-blank bytes after the value.
        case trailingGarbage
    }

    /// What was wrong.
    public var kind: Kind
    /// Byte offset in the input.
    public var offset: Int

    /// Creates an error.
    public init(_ kind: Kind, at offset: Int) {
        self.kind = kind
        self.offset = offset
    }

    /// `"unexpected byte 0x7d at offset 12"` style text.
    public var description: String {
        switch kind {
        case .unexpectedEnd: return "unexpected end of JSON text at offset \(offset)"
        case .unexpectedByte(let b): return "unexpected byte 0x\(String(b, radix: 16)) at offset \(offset)"
        case .badNumber: return "malformed number at offset \(offset)"
        case .badEscape: return "malformed escape at offset \(offset)"
        case .nestingTooDeep(let limit): return "JSON nested deeper than \(limit) at offset \(offset)"
        case .trailingGarbage: return "unexpected data after the JSON value at offset \(offset)"
        }
    }
}

/// Parses JSON bytes into `RPCValue`s: objects become `.struct` (order and duplicate keys
/// kept), arrays `.array`, integers that fit `Int` become `.int`, other numbers `.double`.
public struct RPCJSONParser {
    /// Deepest nesting accepted; bounds recursion on hostile input.
    public static let defaultMaxDepth = 64

    private let bytes: [UInt8]
    private var pos: Int
    private let maxDepth: Int

    private init(_ bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.pos = 0
        self.maxDepth = maxDepth
    }

    /// Parses one JSON document; only blanks may follow it.
    public static func parse(_ input: some Sequence<UInt8>, maxDepth: Int = defaultMaxDepth)
        throws(RPCJSONParseError) -> RPCValue
    {
        let (value, end, bytes) = try parseLeading(Array(input), maxDepth: maxDepth)
        var p = end
        while p < bytes.count, isBlank(bytes[p]) { p += 1 }
        guard p == bytes.count else { throw RPCJSONParseError(.trailingGarbage, at: p) }
        return value
    }

    /// Parses one JSON document from a string.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(RPCJSONParseError) -> RPCValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// Parses the first JSON document and ignores what follows it, as jsonrpcs does with
    /// a datagram holding two documents (spec §5). Returns the value and the end offset.
    public static func parseFirst(_ input: some Sequence<UInt8>, maxDepth: Int = defaultMaxDepth)
        throws(RPCJSONParseError) -> (value: RPCValue, end: Int)
    {
        let (value, end, _) = try parseLeading(Array(input), maxDepth: maxDepth)
        return (value, end)
    }

    private static func parseLeading(_ bytes: [UInt8], maxDepth: Int)
        throws(RPCJSONParseError) -> (RPCValue, Int, [UInt8])
    {
        var parser = RPCJSONParser(bytes, maxDepth: maxDepth)
        parser.skipBlanks()
        let value = try parser.parseValue(depth: 0)
        return (value, parser.pos, bytes)
    }

    /// JSON's four blank bytes (space, TAB, LF, CR).
    static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    private mutating func skipBlanks() {
        while pos < bytes.count, RPCJSONParser.isBlank(bytes[pos]) { pos += 1 }
    }

    private func peek() throws(RPCJSONParseError) -> UInt8 {
        guard pos < bytes.count else { throw RPCJSONParseError(.unexpectedEnd, at: pos) }
        return bytes[pos]
    }

    private mutating func expect(_ b: UInt8) throws(RPCJSONParseError) {
        let c = try peek()
        guard c == b else { throw RPCJSONParseError(.unexpectedByte(c), at: pos) }
        pos += 1
    }

    private mutating func parseValue(depth: Int) throws(RPCJSONParseError) -> RPCValue {
        let c = try peek()
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw RPCJSONParseError(.unexpectedByte(c), at: pos)
        }
    }

    private mutating func literal(_ word: StaticString) throws(RPCJSONParseError) {
        let text = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for b in text { try expect(b) }
    }

    private mutating func parseObject(depth: Int) throws(RPCJSONParseError) -> RPCValue {
        guard depth <= maxDepth else { throw RPCJSONParseError(.nestingTooDeep(limit: maxDepth), at: pos) }
        pos += 1
        var members: [RPCMember] = []
        skipBlanks()
        if try peek() == UInt8(ascii: "}") {
            pos += 1
            return .struct(members)
        }
        while true {
            skipBlanks()
            guard try peek() == UInt8(ascii: "\"") else { throw RPCJSONParseError(.unexpectedByte(bytes[pos]), at: pos) }
            let name = try parseString()
            skipBlanks()
            try expect(UInt8(ascii: ":"))
            skipBlanks()
            let value = try parseValue(depth: depth)
            members.append(RPCMember(name, value))
            skipBlanks()
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "}") { return .struct(members) }
            guard c == UInt8(ascii: ",") else { throw RPCJSONParseError(.unexpectedByte(c), at: pos - 1) }
        }
    }

    private mutating func parseArray(depth: Int) throws(RPCJSONParseError) -> RPCValue {
        guard depth <= maxDepth else { throw RPCJSONParseError(.nestingTooDeep(limit: maxDepth), at: pos) }
        pos += 1
        var elements: [RPCValue] = []
        skipBlanks()
        if try peek() == UInt8(ascii: "]") {
            pos += 1
            return .array(elements)
        }
        while true {
            skipBlanks()
            elements.append(try parseValue(depth: depth))
            skipBlanks()
            let c = try peek()
            pos += 1
            if c == UInt8(ascii: "]") { return .array(elements) }
            guard c == UInt8(ascii: ",") else { throw RPCJSONParseError(.unexpectedByte(c), at: pos - 1) }
        }
    }

    private mutating func parseNumber() throws(RPCJSONParseError) -> RPCValue {
        let begin = pos
        var isInteger = true
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        func digits(_ p: inout Int, _ bytes: [UInt8]) -> Int {
            let s = p
            while p < bytes.count, bytes[p] >= UInt8(ascii: "0"), bytes[p] <= UInt8(ascii: "9") { p += 1 }
            return p - s
        }
        guard digits(&pos, bytes) > 0 else { throw RPCJSONParseError(.badNumber, at: begin) }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            isInteger = false
            pos += 1
            guard digits(&pos, bytes) > 0 else { throw RPCJSONParseError(.badNumber, at: begin) }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            isInteger = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits(&pos, bytes) > 0 else { throw RPCJSONParseError(.badNumber, at: begin) }
        }
        let text = String(decoding: bytes[begin..<pos], as: UTF8.self)
        if isInteger, let i = Int(text) { return .int(i) }
        guard let d = Double(text) else { throw RPCJSONParseError(.badNumber, at: begin) }
        return .double(d)
    }

    private mutating func hex4() throws(RPCJSONParseError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw RPCJSONParseError(.badEscape, at: pos) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw RPCJSONParseError(.badEscape, at: pos)
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    /// Strings: escapes decoded, `\u` surrogate pairs joined; a lone surrogate becomes
    /// U+FFFD rather than an error, and raw control bytes are accepted, as Kamailio's
    /// parser is lenient there too.
    private mutating func parseString() throws(RPCJSONParseError) -> String {
        pos += 1
        var out: [UInt8] = []
        while true {
            let c = try peek()
            pos += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                let e = try peek()
                pos += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        // Look for the low half; without it the high half stands alone.
                        if bytes.count - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") {
                            let save = pos
                            pos += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                pos = save
                                scalar = 0xFFFD
                            }
                        } else {
                            scalar = 0xFFFD
                        }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        scalar = 0xFFFD
                    }
                    let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    throw RPCJSONParseError(.badEscape, at: pos - 2)
                }
            default:
                out.append(c)
            }
        }
    }
}

/// How `RPCJSONWriter` lays out text.
public enum RPCJSONStyle: Sendable {
    /// Kamailio 5.6.3's `pretty_format=1` layout (spec §6.6): TAB indentation,
    /// `"name":<TAB>value`, arrays on one line with `, ` separators.
    case pretty
    /// No blanks at all: `{"a":1,"b":[1,2]}` (jsonrpcs with `pretty_format=0`).
    case compact
    /// One blank after `:` and `,`, on one line — the form kamctl sends.
    case spaced
}

/// Serialises `RPCValue`s to JSON text.
///
/// A struct whose members all have names is an object (duplicate names are written
/// twice, as Kamailio does); a struct with any bare member is written as an array whose
/// named members become one-member objects — the mapping jsonrpcs applies (spec §6.3).
/// `.bytes` (binrpc only) is written as a string of its raw bytes.
public enum RPCJSONWriter {
    /// The JSON text of `value` as bytes.
    public static func encode(_ value: RPCValue, style: RPCJSONStyle = .pretty) -> [UInt8] {
        var out: [UInt8] = []
        write(value, depth: 0, style: style, into: &out)
        return out
    }

    /// The JSON text of `value`.
    public static func string(_ value: RPCValue, style: RPCJSONStyle = .pretty) -> String {
        String(decoding: encode(value, style: style), as: UTF8.self)
    }

    /// Appends `value` at nesting `depth` (TABs of its members' indentation minus one).
    static func write(_ value: RPCValue, depth: Int, style: RPCJSONStyle, into out: inout [UInt8]) {
        switch value {
        case .int(let i): out.append(contentsOf: Array(String(i).utf8))
        case .double(let d): out.append(contentsOf: Array(formatNumber(d).utf8))
        case .string(let s): writeString(Array(s.utf8), into: &out)
        case .bytes(let b): writeString(b, into: &out)
        case .bool(let b): out.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .null: out.append(contentsOf: Array("null".utf8))
        case .array(let elements): writeArray(elements, depth: depth, style: style, into: &out)
        case .struct(let members):
            if members.allSatisfy({ $0.name != nil }) {
                writeObject(members, depth: depth, style: style, into: &out)
            } else {
                let elements = members.map { m -> RPCValue in
                    if let name = m.name { return .struct([RPCMember(name, m.value)]) }
                    return m.value
                }
                writeArray(elements, depth: depth, style: style, into: &out)
            }
        }
    }

    private static func tabs(_ n: Int, into out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(0x09, count: n))
    }

    private static func writeObject(_ members: [RPCMember], depth: Int, style: RPCJSONStyle, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        if style == .pretty { out.append(0x0A) }
        for (i, m) in members.enumerated() {
            if style == .pretty { tabs(depth + 1, into: &out) }
            writeString(Array((m.name ?? "").utf8), into: &out)
            out.append(UInt8(ascii: ":"))
            switch style {
            case .pretty: out.append(0x09)
            case .spaced: out.append(0x20)
            case .compact: break
            }
            write(m.value, depth: depth + 1, style: style, into: &out)
            if i != members.count - 1 {
                out.append(UInt8(ascii: ","))
                if style == .spaced { out.append(0x20) }
            }
            if style == .pretty { out.append(0x0A) }
        }
        // An empty object still gets its line break and closing indentation
        // (observed: `"result":<TAB>{\n<TAB>}`).
        if style == .pretty { tabs(depth, into: &out) }
        out.append(UInt8(ascii: "}"))
    }

    private static func writeArray(_ elements: [RPCValue], depth: Int, style: RPCJSONStyle, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (i, e) in elements.enumerated() {
            write(e, depth: depth + 1, style: style, into: &out)
            if i != elements.count - 1 {
                out.append(UInt8(ascii: ","))
                if style != .compact { out.append(0x20) }
            }
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Escapes like Kamailio's printer: quote, backslash and control characters; other
    /// bytes (including non-ASCII UTF-8 and `/`) are written as they are.
    static func writeString(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x08: out.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Kamailio's number printing (spec §6.3): integral values without decimals, others
    /// with six decimals, very small or very large ones in exponent form.
    static func formatNumber(_ d: Double) -> String {
        guard d.isFinite else { return "null" }
        if d == 0 { return "0" }
        if d.rounded(.down) == d && abs(d) < 1e60 {
            if abs(d) <= Double(Int32.max), let i = Int(exactly: d) { return String(i) }
            return String(format: "%.0f", d)
        }
        if abs(d) < 1e-6 || abs(d) > 1e9 { return String(format: "%e", d) }
        return String(format: "%f", d)
    }
}
