#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Synchronization

/// Digest hash algorithms (RFC 7616 §3.2 `algorithm`; RFC 2617's MD5 is the default).
public enum AuthAlgorithm: Sendable, Equatable {
    /// MD5 (RFC 2617), also the meaning of a missing `algorithm` parameter.
    case md5
    /// SHA-256 (RFC 7616).
    case sha256

    /// The parameter value (`MD5`, `SHA-256`), without `-sess`.
    public var token: String { self == .md5 ? "MD5" : "SHA-256" }

    /// Parses an `algorithm` value; also tells whether it is a `-sess` variant.
    public static func parse(_ text: String?) -> (AuthAlgorithm, sess: Bool)? {
        guard let text else { return (.md5, false) }
        switch text.uppercased() {
        case "MD5": return (.md5, false)
        case "MD5-SESS": return (.md5, true)
        case "SHA-256": return (.sha256, false)
        case "SHA-256-SESS": return (.sha256, true)
        default: return nil
        }
    }

    /// Length of the lower-case hex digest.
    public var hexLength: Int { self == .md5 ? 32 : 64 }

    /// The hash of `data` (libcrypto EVP).
    public func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        let md = self == .md5 ? EVP_md5() : EVP_sha256()
        _ = data.withUnsafeBytes { d in EVP_Digest(d.baseAddress, d.count, &out, &len, md, nil) }
        return Array(out.prefix(Int(len)))
    }

    /// The lower-case hex hash of `text` (digest values are hex, RFC 2617 §3.1.3).
    public func hex(_ text: String) -> String { AuthHex.encode(hash(Array(text.utf8))) }
}

/// Lower-case hex.
enum AuthHex {
    static let digits = Array("0123456789abcdef".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = hexValue(u[i]), let l = hexValue(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 97...102: return b - 87
        case 65...70: return b - 55
        default: return nil
        }
    }
}

/// Nonces that carry their own expiry and a counter, sealed with an HMAC-SHA-256 under
/// a secret made at start (or set with the `secret` modparam), so they need no table to
/// be checked and cannot be forged (RFC 7616 §3.3 leaves the nonce format to the server).
///
/// Layout, hex-encoded: expiry (4 bytes, big-endian seconds) | id (4 bytes) | MAC (16 bytes).
public final class AuthNonces: Sendable {
    let key: [UInt8]
    let counter = Atomic<UInt32>(0)
    /// Highest nonce-count accepted per nonce id, and the nonce's expiry (for pruning).
    let seen = Mutex<[UInt32: (nc: UInt32, expires: UInt32)]>([:])

    /// A nonce whose MAC, length or encoding is wrong.
    public static let hexLength = 48

    /// Uses `secret` as the key, or 32 random bytes when it is empty.
    public init(secret: String) {
        if secret.isEmpty {
            var k = [UInt8](repeating: 0, count: 32)
            if RAND_bytes(&k, 32) != 1 {
                // No entropy source: fall back to the clock and pid, so at least the
                // secret differs from one start to the next.
                var seed = UInt64(truncatingIfNeeded: time(nil)) ^ UInt64(truncatingIfNeeded: clock()) ^ UInt64(getpid())
                for i in k.indices { seed = seed &* 6_364_136_223_846_793_005 &+ 1; k[i] = UInt8(truncatingIfNeeded: seed >> 33) }
            }
            key = k
        } else {
            key = AuthAlgorithm.sha256.hash(Array(secret.utf8))
        }
    }

    private func mac(_ payload: [UInt8]) -> [UInt8] {
        // HMAC (RFC 2104) over SHA-256 with a 64-byte block.
        var k = key
        if k.count > 64 { k = AuthAlgorithm.sha256.hash(k) }
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = AuthAlgorithm.sha256.hash(k.map { $0 ^ 0x36 } + payload)
        return Array(AuthAlgorithm.sha256.hash(k.map { $0 ^ 0x5c } + inner).prefix(16))
    }

    /// A new nonce valid until `now + lifetime`.
    public func make(now: Int, lifetime: Int) -> String {
        let exp = UInt32(truncatingIfNeeded: now + lifetime)
        let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
        var p: [UInt8] = []
        for shift in stride(from: 24, through: 0, by: -8) { p.append(UInt8(truncatingIfNeeded: exp >> UInt32(shift))) }
        for shift in stride(from: 24, through: 0, by: -8) { p.append(UInt8(truncatingIfNeeded: id >> UInt32(shift))) }
        return AuthHex.encode(p + mac(p))
    }

    /// The outcome of checking a nonce from credentials.
    public enum Check: Equatable, Sendable {
        /// Ours and still valid; carries the id for nonce-count tracking.
        case valid(id: UInt32, expires: UInt32)
        /// Ours but past its expiry (challenge again with `stale=true`).
        case stale
        /// Not made by this server (or by this start, with a random secret).
        case invalid
    }

    /// Checks a nonce's MAC and expiry.
    public func check(_ nonce: String, now: Int) -> Check {
        guard nonce.utf8.count == Self.hexLength, let raw = AuthHex.decode(nonce) else { return .invalid }
        let payload = Array(raw[0..<8])
        let tag = Array(raw[8...])
        // Constant-time comparison: the MAC must not leak through timing.
        var diff: UInt8 = 0
        for (a, b) in zip(mac(payload), tag) { diff |= a ^ b }
        guard diff == 0 else { return .invalid }
        let exp = payload[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let id = payload[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return Int(exp) < now ? .stale : .valid(id: id, expires: exp)
    }

    /// Records nonce-count `nc` for nonce `id`; false when it is not above the last one
    /// accepted (a replayed request, RFC 7616 §3.4 / RFC 2617 §3.2.2 nonce-count).
    /// With `oneTime`, any second use of the nonce is refused.
    public func accept(id: UInt32, expires: UInt32, nc: UInt32, oneTime: Bool, now: Int) -> Bool {
        seen.withLock { seen in
            if let last = seen[id] {
                if oneTime || nc <= last.nc { return false }
            }
            seen[id] = (nc, expires)
            if seen.count > 200_000 {
                let n = UInt32(truncatingIfNeeded: now)
                seen = seen.filter { $0.value.expires >= n }
            }
            return true
        }
    }
}
