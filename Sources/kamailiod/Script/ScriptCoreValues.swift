import Foundation
import SIPTransport

/// A value on the right of a top-level `name = value` line, after light parsing.
public enum ScriptCoreValue: Sendable, Hashable, CustomStringConvertible {
    /// `5`, `-1`, `0x10`.
    case int(Int)
    /// `yes`/`no`/`on`/`off`/`true`/`false`/`enable`/`disable`.
    case bool(Bool)
    /// A quoted string, escapes resolved.
    case string(String)
    /// Anything else as written: `LOG_LOCAL0`, `udp:127.0.0.1:5060`, `sip.test`.
    case token(String)

    /// The value as text (what a string parameter receives).
    public var text: String {
        switch self {
        case .int(let v): return String(v)
        case .bool(let b): return b ? "yes" : "no"
        case .string(let s), .token(let s): return s
        }
    }

    /// Integer reading used by int and bool parameters (`yes` is 1).
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        case .string, .token: return nil
        }
    }

    /// Strings quoted, other values as text (for messages).
    public var description: String {
        if case .string(let s) = self { return "\"\(s)\"" }
        return text
    }

    /// Parses raw value text; a trailing `desc "..."` (custom cfg vars) is returned apart.
    static func parse(_ raw: String) -> (ScriptCoreValue, description: String?) {
        var text = Substring(raw)
        var description: String?
        if let range = raw.range(of: " desc ") ?? raw.range(of: "\tdesc ") {
            let tail = raw[range.upperBound...].trimmingCharacters(in: [" ", "\t"])
            description = unquote(Substring(tail)) ?? String(tail)
            text = raw[..<range.lowerBound]
        }
        let trimmed = text.trimmingCharacters(in: [" ", "\t"])
        if let s = unquote(Substring(trimmed)) { return (.string(s), description) }
        switch trimmed.lowercased() {
        case "yes", "on", "true", "enable", "enabled": return (.bool(true), description)
        case "no", "off", "false", "disable", "disabled": return (.bool(false), description)
        default: break
        }
        let bytes = Array(trimmed.utf8)
        let negative = bytes.first == UInt8(ascii: "-")
        let digits = negative ? Array(bytes.dropFirst()) : bytes
        if let first = digits.first, first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") {
            let (v, end) = ScriptLexer.integer(digits, from: 0)
            if end == digits.count { return (.int(Int(negative ? 0 &- v : v)), description) }
        }
        return (.token(trimmed), description)
    }

    /// Strips matching quotes and resolves the common escapes; nil if not quoted.
    static func unquote(_ s: Substring) -> String? {
        guard s.count >= 2, let q = s.first, q == "\"" || q == "'", s.last == q else { return nil }
        let bytes = Array(s.utf8)
        do {
            return try ScriptLexer.string(bytes, from: 0) { ScriptSourceLocation(file: "", line: 0, column: $0) }.0
        } catch {
            return nil
        }
    }
}

/// An `alias=` entry: a name this server answers to (`myself`).
public struct ScriptAlias: Sendable, Hashable {
    /// Transport restriction (`alias=udp:host:port`), nil for any.
    public var proto: TransportProto?
    /// Host name or address as written.
    public var host: String
    /// Port, nil when not written (any port matches).
    public var port: UInt16?
    /// True when written in quotes with a port or protocol: Kamailio 5.6 takes the whole
    /// text as a host name, so it never matches in `is_myself` (see script-semantics.md);
    /// a quoted plain host name matches like an unquoted one and is not marked.
    public var quoted: Bool
}

/// A custom runtime config variable, `group.var = value desc "text"`.
public struct ScriptCustomVar: Sendable {
    /// `group` part.
    public var group: String
    /// `var` part.
    public var name: String
    /// The value (int or string).
    public var value: ScriptCoreValue
    /// Text after `desc`.
    public var description: String?
}

/// Parsing of `listen=` and `alias=` values.
enum ScriptAddressSyntax {
    /// `[proto:]host[:port]` → parts; host keeps no brackets.
    static func hostPort(_ text: String) throws(ScriptCoreParamError) -> (TransportProto?, String, UInt16?) {
        var rest = Substring(text)
        var proto: TransportProto?
        if let colon = rest.firstIndex(of: ":"), let p = TransportProto(name: rest[..<colon]) {
            proto = p
            rest = rest[rest.index(after: colon)...]
        }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw ScriptCoreParamError("expected ']' after an IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw ScriptCoreParamError("unexpected '\(after)' after the address")
            }
        } else if rest.filter({ $0 == ":" }).count > 1 {
            host = rest // bare IPv6 without port
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw ScriptCoreParamError("expected a host or address") }
        var port: UInt16?
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw ScriptCoreParamError("invalid port '\(portText)'") }
            port = p
        }
        return (proto, String(host), port)
    }

    /// `[proto:]host[:port] [advertise host[:port]]`.
    static func listen(_ text: String, defaultPort: UInt16,
                       disableTCP: Bool) throws(ScriptCoreParamError) -> [ListenSpec] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let first = words.first else { throw ScriptCoreParamError("expected an address after 'listen='") }
        let (proto, host, port) = try hostPort(String(first))
        var advHost: String?
        var advPort: UInt16?
        if words.count >= 3, words[1].lowercased() == "advertise" {
            let (_, h, p) = try hostPort(String(words[2]))
            advHost = h
            advPort = p
        } else if words.count > 1, words[1].lowercased() != "name" {
            throw ScriptCoreParamError("unexpected '\(words[1])' in listen value")
        }
        // no transport written: Kamailio listens on UDP and, unless disabled, TCP
        let protos: [TransportProto] = proto.map { [$0] } ?? (disableTCP ? [.udp] : [.udp, .tcp])
        return protos.map {
            ListenSpec(proto: $0, host: host, port: port ?? (proto == nil ? defaultPort : $0.defaultPort),
                       advertiseHost: advHost, advertisePort: advPort)
        }
    }
}

/// A problem with one core value; the loader adds the location.
struct ScriptCoreParamError: Error {
    /// What was wrong.
    var message: String
    /// Creates an error.
    init(_ message: String) { self.message = message }
}
