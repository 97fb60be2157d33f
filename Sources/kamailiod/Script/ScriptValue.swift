/// A run-time value of the script language: Kamailio has only 32-bit integers,
/// byte strings and "null" (an absent header, an unset AVP, `$null`).
public enum ScriptValue: Sendable, Hashable, CustomStringConvertible {
    /// No value.
    case null
    /// A 32-bit integer; arithmetic wraps like C's int.
    case int(Int32)
    /// A byte string (not necessarily UTF-8).
    case str([UInt8])

    /// A string value from Swift text.
    public static func string(_ s: String) -> ScriptValue { .str(Array(s.utf8)) }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Integer reading: strings convert like Kamailio (`"abc"` → 0, `" 7"` → 0,
    /// `"0x10"` → 16, `"+7"` → 7, `"-3"` → -3); null is 0.
    public var intValue: Int32 {
        switch self {
        case .null: return 0
        case .int(let v): return v
        case .str(let b): return Self.parseInt(b[...]) ?? 0
        }
    }

    /// The text form: ints in decimal, null as empty.
    public var bytes: [UInt8] {
        switch self {
        case .null: return []
        case .int(let v): return Self.decimal(v)
        case .str(let b): return b
        }
    }

    /// The text form as a Swift string (lossy for invalid UTF-8).
    public var stringValue: String { String(decoding: bytes, as: UTF8.self) }

    /// `<null>` for null (what Kamailio prints for a null in a format string), else the text.
    public var description: String { isNull ? "<null>" : stringValue }

    /// Decimal digits of `v` without going through String.
    public static func decimal(_ v: Int32) -> [UInt8] {
        if v == 0 { return [UInt8(ascii: "0")] }
        var out: [UInt8] = []
        var x = Int64(v)
        let negative = x < 0
        if negative { x = -x }
        while x > 0 {
            out.append(UInt8(x % 10) + UInt8(ascii: "0"))
            x /= 10
        }
        if negative { out.append(UInt8(ascii: "-")) }
        return out.reversed()
    }

    /// Whole-string integer parse (optional sign, decimal or `0x` hex), wrapping to 32 bits;
    /// nil when anything else is in the string (leading blanks included, as in Kamailio).
    public static func parseInt(_ b: ArraySlice<UInt8>) -> Int32? {
        var i = b.startIndex
        guard i < b.endIndex else { return nil }
        var negative = false
        if b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < b.endIndex else { return nil }
        var v: Int64 = 0
        if b[i] == UInt8(ascii: "0"), i + 1 < b.endIndex, b[i + 1] | 0x20 == UInt8(ascii: "x") {
            i += 2
            guard i < b.endIndex else { return nil }
            while i < b.endIndex {
                guard let d = ScriptLexer.hexDigit(b[i]) else { return nil }
                v = (v &* 16 &+ Int64(d)) & 0xFFFF_FFFF
                i += 1
            }
        } else {
            while i < b.endIndex {
                let c = b[i]
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
                v = (v &* 10 &+ Int64(c - UInt8(ascii: "0"))) & 0xFFFF_FFFF
                i += 1
            }
        }
        let r = Int32(truncatingIfNeeded: v)
        return negative ? 0 &- r : r
    }
}

/// Why an expression could not be evaluated (division by zero, a failed conversion):
/// the statement using it is skipped, as Kamailio does, and the script goes on.
public struct ScriptEvalError: Error, Sendable {
    /// What went wrong, for the log.
    public var message: String
}

/// The operators' Kamailio semantics on run-time values (see script-semantics.md).
enum ScriptOperators {
    /// `+`: the left operand decides. A string on the left concatenates; an int adds.
    static func plus(_ a: ScriptValue, _ b: ScriptValue) -> ScriptValue {
        switch a {
        case .str(let x): return .str(x + b.bytes)
        case .int(let x): return .int(x &+ b.intValue)
        case .null:
            if case .str = b { return b }
            return .int(b.intValue)
        }
    }

    /// Integer operators other than `+`; nil for division by zero.
    static func arithmetic(_ op: ScriptBinaryOp, _ x: Int32, _ y: Int32) -> Int32? {
        switch op {
        case .minus: return x &- y
        case .times: return x &* y
        case .divide:
            guard y != 0 else { return nil }
            return x.dividedReportingOverflow(by: y).partialValue
        case .modulo:
            guard y != 0 else { return nil }
            return x.remainderReportingOverflow(dividingBy: y).partialValue
        case .bitOr: return x | y
        case .bitAnd: return x & y
        case .bitXor: return x ^ y
        case .shiftLeft: return x &<< y
        case .shiftRight: return x &>> y
        case .plus: return x &+ y
        default: return nil
        }
    }

    /// `==` following the left operand: string on the left compares text, int on the
    /// left converts the right to int, null on the left equals "" and 0 and null,
    /// and a null on the right only equals a null on the left.
    static func equal(_ a: ScriptValue, _ b: ScriptValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.null, .str(let y)): return y.isEmpty
        case (.null, .int(let y)): return y == 0
        case (_, .null): return false
        case (.str(let x), _): return x == b.bytes
        case (.int(let x), _): return x == b.intValue
        }
    }

    /// `< > <= >=` always compare integers.
    static func relational(_ op: ScriptBinaryOp, _ x: Int32, _ y: Int32) -> Bool {
        switch op {
        case .less: return x < y
        case .greater: return x > y
        case .lessEqual: return x <= y
        default: return x >= y
        }
    }
}
