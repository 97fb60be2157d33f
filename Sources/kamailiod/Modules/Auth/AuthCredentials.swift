import SIPCore

/// Parsed digest credentials (RFC 2617 §3.2.2, RFC 7616 §3.4): the value of an
/// Authorization or Proxy-Authorization header.
public struct AuthCredentials: Sendable, Equatable {
    /// `username` as sent (may be `user@domain`).
    public var username: String
    /// `realm`.
    public var realm: String
    /// `nonce`.
    public var nonce: String
    /// `uri` (digest-uri).
    public var uri: String
    /// `response` (hex).
    public var response: String
    /// `algorithm`, nil when absent (MD5).
    public var algorithm: String?
    /// `cnonce`.
    public var cnonce: String?
    /// `opaque`.
    public var opaque: String?
    /// `qop` (`auth` or `auth-int`), nil when absent.
    public var qop: String?
    /// `nc` as written (8 hex digits).
    public var nc: String?

    /// The user part of `username` (before `@`), for `$au`.
    public var user: String {
        username.firstIndex(of: "@").map { String(username[..<$0]) } ?? username
    }

    /// The domain part of `username`, or the realm (`$ad`).
    public var domain: String {
        username.firstIndex(of: "@").map { String(username[username.index(after: $0)...]) } ?? realm
    }
}

/// Why credentials could not be read.
public struct AuthParseError: Error, Equatable, Sendable {
    /// What is wrong.
    public let message: String
}

extension AuthCredentials {
    /// Longest parameter value accepted; longer is malformed (no legitimate digest value
    /// comes near it, and it bounds what a hostile header can make us hash).
    static let maxValue = 1024

    /// Parses a header value. Returns nil for a scheme other than Digest (not ours to
    /// judge); throws for a Digest value that is malformed: an unterminated quoted
    /// string, a parameter without `=`, a parameter given twice, an over-long value or
    /// a missing required parameter.
    public static func parse<C: Collection<UInt8>>(_ value: C) throws(AuthParseError) -> AuthCredentials? {
        let b = Array(value)
        var i = 0
        func skipWS() { while i < b.count, SIPASCII.isLWS(b[i]) { i += 1 } }
        skipWS()
        let schemeStart = i
        while i < b.count, SIPASCII.isToken(b[i]) { i += 1 }
        guard SIPBytes.equalsIgnoringCase(b[schemeStart..<i], Array("digest".utf8)) else { return nil }
        var params: [String: String] = [:]
        while true {
            skipWS()
            if i >= b.count { break }
            let nameStart = i
            while i < b.count, SIPASCII.isToken(b[i]) { i += 1 }
            guard i > nameStart else { throw AuthParseError(message: "expected a parameter name") }
            let name = String(decoding: b[nameStart..<i], as: UTF8.self).lowercased()
            skipWS()
            guard i < b.count, b[i] == SIPASCII.equals else { throw AuthParseError(message: "'\(name)' without value") }
            i += 1
            skipWS()
            var v: [UInt8] = []
            if i < b.count, b[i] == SIPASCII.dquote {
                i += 1
                var closed = false
                while i < b.count {
                    let c = b[i]
                    if c == SIPASCII.backslash, i + 1 < b.count {
                        v.append(b[i + 1])
                        i += 2
                        continue
                    }
                    i += 1
                    if c == SIPASCII.dquote { closed = true; break }
                    v.append(c)
                }
                guard closed else { throw AuthParseError(message: "unterminated quoted value of '\(name)'") }
            } else {
                let start = i
                while i < b.count, SIPASCII.isToken(b[i]) || b[i] == SIPASCII.slash || b[i] == SIPASCII.colon { i += 1 }
                v = Array(b[start..<i])
            }
            guard v.count <= maxValue else { throw AuthParseError(message: "'\(name)' is too long") }
            guard params[name] == nil else { throw AuthParseError(message: "'\(name)' given twice") }
            params[name] = String(decoding: v, as: UTF8.self)
            skipWS()
            if i < b.count {
                guard b[i] == SIPASCII.comma else { throw AuthParseError(message: "expected ',' after '\(name)'") }
                i += 1
            }
        }
        guard let username = params["username"], let realm = params["realm"], let nonce = params["nonce"],
              let uri = params["uri"], let response = params["response"] else {
            throw AuthParseError(message: "username, realm, nonce, uri and response are required")
        }
        let c = AuthCredentials(username: username, realm: realm, nonce: nonce, uri: uri, response: response,
                                algorithm: params["algorithm"], cnonce: params["cnonce"], opaque: params["opaque"],
                                qop: params["qop"], nc: params["nc"])
        // RFC 2617 §3.2.2: with qop, cnonce and nc are required.
        if c.qop != nil, c.cnonce == nil || c.nc == nil {
            throw AuthParseError(message: "qop without cnonce or nc")
        }
        return c
    }
}
