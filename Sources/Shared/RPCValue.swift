/// One value in an RPC reply or request, shared by the binrpc and JSON-RPC codecs.
///
/// The model is the union of what both wire formats can carry, so that kamcon can
/// normalise either transport into one tree (spec §7):
/// - binrpc structs may repeat member names and may hold *bare* values next to named
///   ones (`htable.dump`'s `slot`, `dlg.list`'s `profiles`), hence `RPCMember.name` is
///   optional and `.struct` keeps an ordered list instead of a dictionary;
/// - JSON objects may carry duplicate keys too (`tm.list` with two transactions in one
///   hash bucket), which the same ordered list preserves.
public enum RPCValue: Equatable, Hashable, Sendable {
    /// An integer. binrpc carries signed 32 bits; JSON may carry more (unsigned 32-bit
    /// values such as `Methods: 4294967295`), so the model keeps 64 bits.
    case int(Int)
    /// A floating number. binrpc stores it as a ×1000 fixed-point 32-bit integer.
    case double(Double)
    /// A text value.
    case string(String)
    /// A JSON boolean (binrpc has no booleans; Kamailio sends them as INT).
    case bool(Bool)
    /// An ordered container of (optionally named) members; names may repeat.
    case `struct`([RPCMember])
    /// An ordered list of values (JSON array, binrpc ARRAY record).
    case array([RPCValue])
    /// JSON `null` (Kamailio's NULL string over JSON-RPC).
    case null
    /// Raw bytes (binrpc BYTES record); JSON has no such type.
    case bytes([UInt8])

    /// Builds a struct from `(name, value)` pairs, keeping order and duplicates.
    public static func object(_ pairs: KeyValuePairs<String, RPCValue>) -> RPCValue {
        .struct(pairs.map { RPCMember($0.key, $0.value) })
    }

    /// The string payload, if this is a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The integer payload, if this is an int.
    public var intValue: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The members of a struct, or nil.
    public var members: [RPCMember]? {
        if case .struct(let m) = self { return m }
        return nil
    }

    /// The first member value called `name` in a struct (names may repeat; use
    /// `members` to see all of them).
    public subscript(name: String) -> RPCValue? {
        guard case .struct(let members) = self else { return nil }
        return members.first(where: { $0.name == name })?.value
    }

    /// True for structs and arrays.
    public var isContainer: Bool {
        switch self {
        case .struct, .array: return true
        default: return false
        }
    }

    /// Types a command-line argument the way kamcmd does (spec §3.4): a whole integer is
    /// an INT, else a whole decimal number a DOUBLE, else a string; `s:` forces a string
    /// (`s:12` → `"12"`). Integers beyond 32 bits do not fit INT and so become DOUBLE, as
    /// with kamcmd (binrpc then truncates them; use `s:` to send such numbers as text).
    public init(kamcmdArgument text: String) {
        if text.hasPrefix("s:") {
            self = .string(String(text.dropFirst(2)))
        } else if let i = Int32(text) {
            self = .int(Int(i))
        } else if text.contains(where: \.isNumber),
                  text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eE".contains($0)) }),
                  let d = Double(text) {
            self = .double(d)
        } else {
            self = .string(text)
        }
    }

    /// Types a command-line argument the way `kamctl rpc` does (spec §4.1): numeric-looking
    /// text becomes a JSON number, anything else a string; `s:` forces a string and `i:`
    /// a number.
    public init(kamctlArgument text: String) {
        if text.hasPrefix("s:") {
            self = .string(String(text.dropFirst(2)))
        } else if text.hasPrefix("i:") {
            self = .int(Int(text.dropFirst(2)) ?? 0)
        } else if let i = Int(text) {
            self = .int(i)
        } else {
            self = .string(text)
        }
    }

    /// The value as Kamailio's ctl module would put it on the binrpc wire (spec §3.6):
    /// every array becomes a struct of bare elements, a one-member object inside an array
    /// becomes a named member (the inverse of JSON's wrapping, spec §6.3), booleans become
    /// INT and NULL strings the text `<null string>`.
    public var binrpcShaped: RPCValue {
        switch self {
        case .bool(let b): return .int(b ? 1 : 0)
        case .null: return .string("<null string>")
        case .struct(let members):
            return .struct(members.map { RPCMember($0.name, $0.value.binrpcShaped) })
        case .array(let elements):
            return .struct(elements.map { element in
                if case .struct(let inner) = element, inner.count == 1, let name = inner[0].name {
                    return RPCMember(name, inner[0].value.binrpcShaped)
                }
                return RPCMember(nil, element.binrpcShaped)
            })
        case .int, .double, .string, .bytes: return self
        }
    }
}

/// A member of an `RPCValue.struct`: a value with an optional name.
///
/// A nil name is a bare element, as binrpc's `array_add` writes inside a struct.
public struct RPCMember: Equatable, Hashable, Sendable {
    /// The member name, or nil for a bare (anonymous) element.
    public var name: String?
    /// The member value.
    public var value: RPCValue

    /// Creates a member; pass nil as `name` for an anonymous element.
    public init(_ name: String?, _ value: RPCValue) {
        self.name = name
        self.value = value
    }
}

extension RPCValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral,
    ExpressibleByFloatLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral,
    ExpressibleByNilLiteral
{
    /// `42` → `.int(42)`.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// `"x"` → `.string("x")`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `1.5` → `.double(1.5)`.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// `true` → `.bool(true)`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `[1, "a"]` → `.array([...])`.
    public init(arrayLiteral elements: RPCValue...) { self = .array(elements) }
    /// `nil` → `.null`.
    public init(nilLiteral: ()) { self = .null }
}
