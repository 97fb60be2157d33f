import Foundation

/// Renders replies the way `kamcmd` prints them (spec §3.9), for kamcon's command prompt.
///
/// One line per record; structs open with `{` and close with `}`; members are
/// `name: value` indented by one TAB per level; a member holding a container prints
/// `name: {` and its `}` at the member's indentation; bare nested structs print `{`.
/// Strings are printed verbatim — embedded CR/LF included, as kamcmd does.
public enum RPCTextRender {
    /// The text for a successful reply's values; an empty reply prints nothing.
    ///
    /// Values from JSON-RPC are first shaped like binrpc (`RPCValue.binrpcShaped`), so the
    /// same data prints the same whichever transport delivered it.
    public static func render(_ values: [RPCValue]) -> String {
        var out = ""
        for v in values { renderTopLevel(v.binrpcShaped, into: &out) }
        return out
    }

    /// kamcmd's fault line: `error: <code> - <message>` (printed on stdout).
    public static func render(_ fault: RPCFault) -> String {
        "error: \(fault.code) - \(fault.message)\n"
    }

    /// kamcmd's `-f FORMAT`: each `%v` takes the next scalar (struct members in order,
    /// depth first) and the format restarts when it is exhausted; `\n`, `\t` and `\\` in
    /// the format are escapes. Output stops at the first `%v` left without a value.
    public static func render(_ values: [RPCValue], format: String) -> String {
        var scalars: [String] = []
        func collect(_ v: RPCValue) {
            switch v {
            case .struct(let members): members.forEach { collect($0.value) }
            default: scalars.append(scalarText(v))
            }
        }
        values.forEach { collect($0.binrpcShaped) }
        let pieces = unescape(format).components(separatedBy: "%v")
        guard pieces.count > 1 else { return scalars.isEmpty ? "" : unescape(format) }
        var out = ""
        var next = 0
        while next < scalars.count {
            out += pieces[0]
            for piece in pieces.dropFirst() {
                guard next < scalars.count else { return out }
                out += scalars[next] + piece
                next += 1
            }
        }
        return out
    }

    /// The text of one scalar: INT as `%d`, DOUBLE as an integer when it has no fraction
    /// and `%f` otherwise (`Q: 0.500000`), strings verbatim.
    public static func scalarText(_ value: RPCValue) -> String {
        switch value {
        case .int(let i): return String(i)
        case .double(let d):
            if d.isFinite, d.rounded(.towardZero) == d, let i = Int(exactly: d) { return String(i) }
            return String(format: "%f", d)
        case .string(let s): return s
        case .bool(let b): return b ? "1" : "0"
        case .null: return "<null string>"
        case .bytes(let b): return String(decoding: b, as: UTF8.self)
        case .struct, .array: return ""
        }
    }

    // Both walkers see values after `binrpcShaped`, so arrays have become structs.
    private static func renderTopLevel(_ value: RPCValue, into out: inout String) {
        switch value {
        case .struct(let members):
            out += "{\n"
            renderMembers(members, level: 1, into: &out)
            out += "}\n"
        default:
            out += scalarText(value) + "\n"
        }
    }

    private static func renderMembers(_ members: [RPCMember], level: Int, into out: inout String) {
        let indent = String(repeating: "\t", count: level)
        for m in members {
            let prefix = indent + (m.name.map { "\($0): " } ?? "")
            switch m.value {
            case .struct(let inner):
                out += prefix + "{\n"
                renderMembers(inner, level: level + 1, into: &out)
                out += indent + "}\n"
            default:
                out += prefix + scalarText(m.value) + "\n"
            }
        }
    }

    private static func unescape(_ format: String) -> String {
        var out = ""
        var escaping = false
        for c in format {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        if escaping { out.append("\\") }
        return out
    }
}
