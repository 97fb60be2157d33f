#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A host as written in a URI or Via sent-by (RFC 3261 §25.1 `host`): a domain
/// name, an IPv4 literal, or an IPv6 reference in brackets (RFC 5118).
public struct SIPHost: Sendable, Hashable, CustomStringConvertible {
    /// What kind of host this is.
    public enum Kind: Sendable, Hashable {
        /// A domain name (`example.com`).
        case name
        /// A dotted-quad IPv4 address.
        case ipv4
        /// An IPv6 reference (`[2001:db8::1]`).
        case ipv6
    }

    /// The kind.
    public let kind: Kind
    /// The host exactly as written (brackets kept for IPv6).
    public let text: ArraySlice<UInt8>

    /// The address without IPv6 brackets (what a socket API wants).
    public var address: ArraySlice<UInt8> {
        kind == .ipv6 ? text.dropFirst().dropLast() : text
    }

    /// The host as written.
    public var description: String { SIPBytes.string(text) }

    /// Validates and classifies `text`. An empty host, an unclosed `[`, a bad IPv6
    /// (more than one `::`, bad groups) or a bad IPv4 literal is an error.
    public init(_ text: ArraySlice<UInt8>) throws(SIPParseError) {
        kind = try SIPHost.kind(of: text)
        self.text = text
    }

    /// A host already classified by `kind(of:)`.
    init(kind: Kind, text: ArraySlice<UInt8>) {
        self.kind = kind
        self.text = text
    }

    /// The validation and classification of `init(_:)`, without making a host: a parser
    /// that builds the host inside another object then copies no `SIPHost` into it.
    static func kind(of text: ArraySlice<UInt8>) throws(SIPParseError) -> Kind {
        guard let first = text.first else { throw SIPParseError("Empty host") }
        if first == SIPASCII.lbracket {
            guard text.count > 2, text.last == SIPASCII.rbracket,
                  SIPHost.isIPv6(text.dropFirst().dropLast()) else {
                throw SIPParseError("Malformed IPv6 reference", offset: text.startIndex)
            }
            return .ipv6
        } else {
            // One pass: all digits and dots is an IPv4 literal; otherwise a hostname
            // (*( domainlabel "." ) toplabel [ "." ]: alphanum and "-").
            var numeric = true
            for b in text {
                guard SIPASCII.isHostChar(b) else { throw SIPParseError("Malformed host name", offset: text.startIndex) }
                if numeric, !SIPASCII.isDigit(b), b != SIPASCII.dot { numeric = false }
            }
            if numeric {
                guard SIPHost.isIPv4(text) else { throw SIPParseError("Malformed IPv4 address", offset: text.startIndex) }
                return .ipv4
            } else {
                guard first != SIPASCII.dot, first != 45 else {
                    throw SIPParseError("Malformed host name", offset: text.startIndex)
                }
                return .name
            }
        }
    }

    /// Compares with an address or host text: IP literals by value (so `[2001:db8:0::1]`
    /// matches `2001:db8::1`), names case-insensitively (§19.1.4); brackets ignored.
    public func matches<C: Collection<UInt8>>(address other: C) -> Bool {
        var o = ArraySlice(other)
        if o.first == SIPASCII.lbracket, o.last == SIPASCII.rbracket { o = o.dropFirst().dropLast() }
        if SIPBytes.equalsIgnoringCase(address, o) { return true }
        guard kind != .name, let a = SIPHost.binaryAddress(address), let b = SIPHost.binaryAddress(o) else { return false }
        return a == b
    }

    /// The 4 or 16 bytes of an IPv4 or IPv6 literal (no brackets), via `inet_pton`.
    public static func binaryAddress(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count < 64 else { return nil }
        let isV6 = text.contains(SIPASCII.colon)
        var cString = Array(text)
        cString.append(0)
        var out = [UInt8](repeating: 0, count: isV6 ? 16 : 4)
        let ok = cString.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                src.baseAddress.map { p in
                    p.withMemoryRebound(to: CChar.self, capacity: src.count) {
                        inet_pton(isV6 ? AF_INET6 : AF_INET, $0, dst.baseAddress)
                    }
                } ?? 0
            }
        }
        return ok == 1 ? out : nil
    }

    /// Dotted-quad with each part 0...255.
    public static func isIPv4(_ s: ArraySlice<UInt8>) -> Bool {
        var parts = 0
        var digits = 0
        var value = 0
        for b in s {
            if b == SIPASCII.dot {
                guard digits > 0 else { return false }
                parts += 1
                digits = 0
                value = 0
            } else if SIPASCII.isDigit(b) {
                digits += 1
                value = value * 10 + Int(b - 48)
                guard digits <= 3, value <= 255 else { return false }
            } else {
                return false
            }
        }
        return parts == 3 && digits > 0
    }

    /// RFC 4291 §2.2 text form: at most eight 1-4 hex digit groups, at most one
    /// `::`, optionally ending in an IPv4 dotted quad.
    public static func isIPv6(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count >= 2 else { return false }
        var groups = 0
        var doubleColon = false
        var i = s.startIndex
        let e = s.endIndex
        if s[i] == SIPASCII.colon {
            guard s[i + 1] == SIPASCII.colon else { return false }
            doubleColon = true
            i += 2
            if i == e { return true }
        }
        while i < e {
            var j = i
            while j < e, SIPASCII.hexValue(s[j]) != nil { j += 1 }
            if j < e, s[j] == SIPASCII.dot {
                // Embedded IPv4 takes the last two groups.
                guard isIPv4(s[i..<e]) else { return false }
                groups += 2
                i = e
                break
            }
            let len = j - i
            guard len >= 1, len <= 4 else { return false }
            groups += 1
            i = j
            if i == e { break }
            guard s[i] == SIPASCII.colon else { return false }
            i += 1
            if i < e, s[i] == SIPASCII.colon {
                guard !doubleColon else { return false }
                doubleColon = true
                i += 1
                if i == e { break }
            } else if i == e {
                return false  // trailing single colon
            }
        }
        return doubleColon ? groups <= 7 : groups == 8
    }
}
