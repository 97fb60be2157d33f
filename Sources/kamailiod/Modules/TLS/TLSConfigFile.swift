import SIPTransport

/// Kamailio's `tls.cfg` profile file: `[server:default]`, `[server:IP:PORT]`,
/// `[client:default]`, `[client:IP:PORT]` sections of `key = value` lines (`#` comments).
/// Keys are the module parameter names that apply per profile; `method` is accepted as
/// Kamailio's spelling of `tls_method`. A profile starts from the module parameters.
enum TLSConfigFile {
    /// A malformed line, as `file:line: what was expected`.
    struct ParseError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `text` (read from `path`) into profiles on top of `base` for each side.
    static func parse(_ text: String, path: String, server base: TLSSettings,
                      client clientBase: TLSSettings) throws(ParseError) -> [TLSProfileKey: TLSSettings] {
        var out: [TLSProfileKey: TLSSettings] = [:]
        var current: TLSProfileKey?
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func fail(_ what: String) -> ParseError { ParseError(description: "\(path):\(n + 1): \(what)") }
            var line = Substring(raw)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let text = line.trimmed
            if text.isEmpty { continue }
            if text.hasPrefix("[") {
                guard text.hasSuffix("]") else { throw fail("expected ']' closing the profile name") }
                guard let key = profileKey(text.dropFirst().dropLast()) else {
                    throw fail("expected [server:default], [client:default], [server:IP:PORT] or [client:IP:PORT]")
                }
                current = key
                if out[key] == nil { out[key] = key.server ? base : clientBase }
                continue
            }
            guard let key = current else { throw fail("expected a [server:...] or [client:...] profile first") }
            guard let eq = text.firstIndex(of: "=") else { throw fail("expected 'name = value'") }
            let name = text[..<eq].trimmed.lowercased()
            let value = String(text[text.index(after: eq)...].trimmed)
            do {
                try apply(name, value, to: &out[key, default: base])
            } catch {
                throw fail(error.description)
            }
        }
        return out
    }

    /// Parses `server:default`, `client:1.2.3.4:5061`, `server:[::1]:5061`.
    static func profileKey(_ s: Substring) -> TLSProfileKey? {
        guard let colon = s.firstIndex(of: ":") else { return nil }
        let side = s[..<colon].lowercased()
        guard side == "server" || side == "client" else { return nil }
        let rest = s[s.index(after: colon)...]
        if rest.lowercased() == "default" { return TLSProfileKey(server: side == "server", address: nil) }
        guard let last = rest.lastIndex(of: ":"), let port = UInt16(rest[rest.index(after: last)...]),
              let addr = SocketAddress(ip: String(rest[..<last]), port: port) else { return nil }
        return TLSProfileKey(server: side == "server", address: addr)
    }

    /// Sets one profile field; throws the expectation for a bad value.
    static func apply(_ name: String, _ value: String, to s: inout TLSSettings) throws(ParseError) {
        func flag() throws(ParseError) -> Bool {
            switch value.lowercased() {
            case "1", "yes", "true", "on": return true
            case "0", "no", "false", "off": return false
            default: throw ParseError(description: "\(name) expects yes/no or 1/0, found '\(value)'")
            }
        }
        let text: String? = value.isEmpty ? nil : value
        switch name {
        case "certificate": s.certificate = text
        case "private_key": s.privateKey = text
        case "ca_list": s.caList = text
        case "crl": s.crl = text
        case "cipher_list": s.cipherList = text
        case "server_name": s.serverName = text
        case "verify_certificate": s.verifyCertificate = try flag()
        case "require_certificate": s.requireCertificate = try flag()
        case "method", "tls_method":
            guard let m = TLSMethod(parameter: value) else {
                throw ParseError(description: "\(name) expects TLSv1.2+, TLSv1.2, TLSv1.3+ or TLSv1.3 (older versions are refused), found '\(value)'")
            }
            s.method = m
        case "verify_depth", "server_id", "ca_path", "server_name_mode":
            break // accepted for compatibility; OpenSSL's defaults apply
        default:
            throw ParseError(description: "unknown profile option '\(name)'")
        }
    }
}

private extension StringProtocol {
    var trimmed: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" || f == "\"" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" || l == "\"" { s = s.dropLast() }
        return s
    }
}
