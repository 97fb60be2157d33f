import SIPTransport

/// Parses a `-l` argument or `listen=` value: `[proto:]addr[:port][/advaddr[:port]]`,
/// where addr is an IPv4 address, a host name or `[IPv6]` (a bare IPv6 without port is
/// accepted too). Without a proto both UDP and TCP are meant (Kamailio does the same
/// unless TCP is disabled).
enum ListenAddress {
    struct ParseError: Error, CustomStringConvertible { let description: String }

    static func parse(_ text: String, tcpEnabled: Bool = true) throws -> [ListenSpec] {
        var s = Substring(text.trimmingCharacters(in: " \t\""))
        var advertise: Substring?
        if let slash = s.firstIndex(of: "/") {
            advertise = s[s.index(after: slash)...]
            s = s[..<slash]
        }
        var protos: [TransportProto] = tcpEnabled ? [.udp, .tcp] : [.udp]
        if let colon = s.firstIndex(of: ":"), let p = TransportProto(name: s[..<colon]) {
            protos = [p]
            s = s[s.index(after: colon)...]
        }
        let (host, port) = try hostPort(s, whole: text)
        var advHost: String?
        var advPort: UInt16?
        if let adv = advertise {
            let (h, p) = try hostPort(adv, whole: text)
            advHost = h
            advPort = p
        }
        return protos.map { proto in
            ListenSpec(proto: proto, host: host, port: port ?? proto.defaultPort,
                       advertiseHost: advHost, advertisePort: advPort)
        }
    }

    /// Splits `host[:port]` / `[v6][:port]` / bare v6.
    static func hostPort(_ s: Substring, whole: String) throws -> (String, UInt16?) {
        guard !s.isEmpty else { throw ParseError(description: "listen address '\(whole)': missing address") }
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else {
                throw ParseError(description: "listen address '\(whole)': '[' without ']'")
            }
            let host = String(s[s.index(after: s.startIndex)..<close])
            let rest = s[s.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else {
                throw ParseError(description: "listen address '\(whole)': expected ':port' after ']'")
            }
            return (host, p)
        }
        let colons = s.filter { $0 == ":" }.count
        if colons > 1 { return (String(s), nil) }  // bare IPv6 literal without a port
        if colons == 1, let c = s.firstIndex(of: ":") {
            guard let p = UInt16(s[s.index(after: c)...]) else {
                throw ParseError(description: "listen address '\(whole)': port must be a number 0-65535")
            }
            return (String(s[..<c]), p)
        }
        return (String(s), nil)
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var sub = Substring(self)
        while let f = sub.first, set.contains(f) { sub = sub.dropFirst() }
        while let l = sub.last, set.contains(l) { sub = sub.dropLast() }
        return String(sub)
    }
}
