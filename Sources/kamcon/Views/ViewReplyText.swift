import Shared

/// Pretty text for replies on the command screen: members aligned as `name: value`,
/// nesting by two spaces, arrays as `- item`, so structs read like a form rather than
/// kamcmd's brace dump. The same data from binrpc or JSON-RPC prints the same.
enum ViewReplyText {
    /// A styled output line.
    struct Line: Equatable, Sendable {
        /// Indentation in columns.
        var indent: Int
        /// Member name (nil for bare values, `-` for array items).
        var name: String?
        /// Column where values of this line's sibling members start (names are padded to it).
        var nameWidth: Int = 0
        /// The value text (empty for container openers).
        var value: String
        /// Role of the line (errors, headers).
        var role: CanvasRole
    }

    /// Lines for a reply's values.
    static func lines(_ values: [RPCValue]) -> [Line] {
        var out: [Line] = []
        if values.isEmpty { return [Line(indent: 0, name: nil, value: "(empty reply)", role: .dim)] }
        for v in values { walk(normalise(v), indent: 0, name: nil, into: &out) }
        return out
    }

    /// JSON arrays of one-member objects become named members, as binrpc shows them.
    private static func normalise(_ v: RPCValue) -> RPCValue {
        switch v {
        case .array(let elements):
            return .array(elements.map(normalise))
        case .struct(let m):
            return .struct(m.map { RPCMember($0.name, normalise($0.value)) })
        default:
            return v
        }
    }

    private static func walk(_ v: RPCValue, indent: Int, name: String?, into out: inout [Line]) {
        switch v {
        case .struct(let members):
            if name != nil || indent > 0 { out.append(Line(indent: indent, name: name, value: members.isEmpty ? "{}" : "", role: .normal)) }
            let inner = (name != nil || indent > 0) ? indent + 2 : indent
            let width = members.compactMap { $0.name.map(CanvasWidth.of) }.max() ?? 0
            for m in members {
                if m.value.isContainer {
                    walk(m.value, indent: inner, name: m.name ?? "-", into: &out)
                } else {
                    out.append(Line(indent: inner, name: m.name ?? "-", nameWidth: width, value: scalar(m.value), role: .normal))
                }
            }
        case .array(let elements):
            if name != nil { out.append(Line(indent: indent, name: name, value: elements.isEmpty ? "[]" : "", role: .normal)) }
            let inner = name != nil ? indent + 2 : indent
            for e in elements {
                if e.isContainer {
                    walk(e, indent: inner, name: "-", into: &out)
                } else {
                    out.append(Line(indent: inner, name: "-", value: scalar(e), role: .normal))
                }
            }
        default:
            out.append(Line(indent: indent, name: name, value: scalar(v), role: .normal))
        }
    }

    /// Scalars as kamcmd prints them, with CR/LF made visible instead of breaking lines.
    static func scalar(_ v: RPCValue) -> String {
        RPCTextRender.scalarText(v).replacingOccurrences(of: "\r\n", with: "↵").replacingOccurrences(of: "\n", with: "↵")
    }

    /// The label part of a line: `name:` padded to align sibling values, `-` for array
    /// items, empty for bare values.
    static func label(_ line: Line) -> String {
        guard let name = line.name else { return "" }
        if name == "-" { return line.value.isEmpty ? "-" : "- " }
        let pad = String(repeating: " ", count: max(0, line.nameWidth - CanvasWidth.of(name)))
        return name + ":" + (line.value.isEmpty ? "" : " " + pad)
    }

    /// The flat text of a line (for tests and copy-paste).
    static func text(_ line: Line) -> String {
        String(repeating: " ", count: line.indent) + label(line) + line.value
    }
}

import Foundation
