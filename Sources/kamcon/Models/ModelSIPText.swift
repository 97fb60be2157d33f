/// Small text helpers for SIP values shown in lists (`tm.list` carries whole header lines).
enum ModelSIPText {
    /// `From: sipp <sip:a@b>;tag=x\r\n` → `From` value without the header name and CRLF.
    static func headerValue(_ line: String) -> String {
        var s = Substring(line)
        while let last = s.last, last.isNewline { s = s.dropLast() }
        if let colon = s.firstIndex(of: ":") {
            let name = s[..<colon]
            // Only strip a real header name (no spaces, not a URI scheme like "sip:").
            if !name.contains(" "), !name.contains("<"), name.lowercased() != "sip", name.lowercased() != "sips" {
                s = s[s.index(after: colon)...]
            }
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// The URI inside `<...>` of a name-addr, or the addr-spec before any `;` parameter.
    static func uri(_ value: String) -> String {
        if let open = value.firstIndex(of: "<"), let close = value[open...].firstIndex(of: ">") {
            return String(value[value.index(after: open)..<close])
        }
        if let semi = value.firstIndex(of: ";") { return String(value[..<semi]) }
        return value
    }

    /// The `tag` parameter of a From/To value.
    static func tag(_ value: String) -> String {
        guard let r = value.range(of: ";tag=") else { return "" }
        let rest = value[r.upperBound...]
        return String(rest.prefix(while: { $0 != ";" && $0 != " " }))
    }

    /// Seconds as `1d02h`, `3h04m`, `5m06s` or `7s`: two units are enough to read at a glance.
    static func duration(_ seconds: Int) -> String {
        let s = max(0, seconds)
        if s >= 86_400 { return "\(s / 86_400)d\(pad2((s % 86_400) / 3600))h" }
        if s >= 3600 { return "\(s / 3600)h\(pad2((s % 3600) / 60))m" }
        if s >= 60 { return "\(s / 60)m\(pad2(s % 60))s" }
        return "\(s)s"
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Bytes as `2.8 MiB`.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024, i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }
}

import Foundation
