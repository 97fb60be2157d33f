#if canImport(Glibc)
import Glibc
#endif
import COpenSSL
import Synchronization

/// One TLS profile's settings, named after the Kamailio `tls` module parameters.
public struct TLSSettings: Sendable, Hashable {
    /// PEM certificate chain file (`certificate`).
    public var certificate: String?
    /// PEM private key file (`private_key`); the certificate file when unset.
    public var privateKey: String?
    /// PEM file of trusted CAs (`ca_list`).
    public var caList: String?
    /// PEM certificate revocation list (`crl`); checked for the whole chain when set.
    public var crl: String?
    /// Verify the peer's certificate (`verify_certificate`): the server asks clients for one.
    public var verifyCertificate = false
    /// Refuse a client without a certificate (`require_certificate`, server side).
    public var requireCertificate = false
    /// Protocol versions (`tls_method`): TLSv1.2+ unless told otherwise.
    public var method: TLSMethod = .tls12Plus
    /// OpenSSL cipher list for TLS 1.2 (`cipher_list`); OpenSSL's default when unset.
    public var cipherList: String?
    /// SNI name sent by a client (`server_name`).
    public var serverName: String?

    /// Defaults: no certificate, no verification, TLSv1.2+.
    public init() {}
}

/// Allowed protocol ranges. SSLv3, TLS 1.0 and 1.1 are refused outright (RFC 8996).
public enum TLSMethod: String, Sendable, Hashable, CaseIterable {
    /// TLS 1.2 and newer.
    case tls12Plus = "TLSv1.2+"
    /// TLS 1.2 only.
    case tls12 = "TLSv1.2"
    /// TLS 1.3 and newer.
    case tls13Plus = "TLSv1.3+"
    /// TLS 1.3 only.
    case tls13 = "TLSv1.3"

    /// Parses a `tls_method` value; `SSLv23`/`TLSv1+`-style "anything" names mean TLSv1.2+.
    public init?(parameter: String) {
        switch parameter.uppercased() {
        case "TLSV1.2+", "SSLV23", "TLSV1+", "TLSV1.1+": self = .tls12Plus
        case "TLSV1.2": self = .tls12
        case "TLSV1.3+": self = .tls13Plus
        case "TLSV1.3": self = .tls13
        default: return nil
        }
    }

    var bounds: (min: Int32, max: Int32) {
        switch self {
        case .tls12Plus: (TLS1_2_VERSION, 0)
        case .tls12: (TLS1_2_VERSION, TLS1_2_VERSION)
        case .tls13Plus, .tls13: (TLS1_3_VERSION, 0)
        }
    }
}

/// A TLS set-up failure with OpenSSL's reason.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    /// What failed and why.
    public let description: String
    /// Wraps a message; OpenSSL's queued errors are appended and cleared.
    public init(_ what: String) { description = what + TLSError.drainQueue() }

    /// `: reason; reason` of the calling thread's OpenSSL error queue (emptied), or "".
    static func drainQueue() -> String {
        var reasons: [String] = []
        while case let e = ERR_get_error(), e != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(e, &buf, buf.count)
            reasons.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "" : ": " + reasons.joined(separator: "; ")
    }
}

/// An OpenSSL `SSL_CTX` built from one profile. Immutable once built; a reload builds a
/// new one and swaps it in, and connections keep the context they started with (each
/// `SSL` holds its own reference on its `SSL_CTX`).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is configured in init and only read afterwards (SSL_new
    // is thread-safe on a context that no longer changes).
    let ctx: OpaquePointer
    /// The settings it was built from.
    public let settings: TLSSettings
    /// True for a server context (accepting side).
    public let isServer: Bool

    /// Loads certificates and keys; throws with the file and OpenSSL's reason.
    public init(settings: TLSSettings, server: Bool) throws(TLSError) {
        // OpenSSL writes with write(2): a peer gone away must be EPIPE, not a fatal SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError("SSL_CTX_new failed")
        }
        self.ctx = ctx
        self.settings = settings
        self.isServer = server
        let (lo, hi) = settings.method.bounds
        _ = shim_SSL_CTX_set_min_proto_version(ctx, lo)
        _ = shim_SSL_CTX_set_max_proto_version(ctx, hi)
        _ = SSL_CTX_set_options(ctx, UInt64(shim_SSL_OP_defaults()))
        _ = shim_SSL_CTX_set_mode(ctx, shim_SSL_MODE_partial_moving())
        // Each connection is long-lived; resumption would only add state to reload.
        _ = shim_SSL_CTX_set_session_cache_off(ctx)
        if let c = settings.cipherList, SSL_CTX_set_cipher_list(ctx, c) != 1 {
            throw TLSError("cipher_list '\(c)' is not usable")
        }
        if let cert = settings.certificate {
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw TLSError("cannot load certificate \(cert)")
            }
            let key = settings.privateKey ?? cert
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError("cannot load private_key \(key)")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError("private_key \(key) does not match certificate \(cert)")
            }
        } else if server {
            throw TLSError("a TLS server needs a certificate")
        }
        if let ca = settings.caList {
            guard SSL_CTX_load_verify_locations(ctx, ca, nil) == 1 else {
                throw TLSError("cannot load ca_list \(ca)")
            }
            if server, let names = SSL_load_client_CA_file(ca) { SSL_CTX_set_client_CA_list(ctx, names) }
        }
        if let crl = settings.crl {
            guard let store = SSL_CTX_get_cert_store(ctx), let lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file()),
                  X509_load_crl_file(lookup, crl, X509_FILETYPE_PEM) > 0 else {
                throw TLSError("cannot load crl \(crl)")
            }
            _ = X509_STORE_set_flags(store, UInt(X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL))
        }
        var mode = SSL_VERIFY_NONE
        if settings.verifyCertificate {
            mode = SSL_VERIFY_PEER
            if server && settings.requireCertificate { mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT }
        } else if server && settings.requireCertificate {
            // Kamailio asks for a certificate without verifying its chain in this case;
            // the handshake still fails when none is sent.
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
            SSL_CTX_set_verify(ctx, mode) { _, _ in 1 }
            return
        }
        SSL_CTX_set_verify(ctx, mode, nil)
    }

    deinit { SSL_CTX_free(ctx) }
}

/// A profile file entry's selector: `[server:default]`, `[server:IP:PORT]`,
/// `[client:default]`, `[client:IP:PORT]` (Kamailio's tls.cfg domains).
public struct TLSProfileKey: Sendable, Hashable, CustomStringConvertible {
    /// Server (accepting) or client (connecting) side.
    public var server: Bool
    /// The local (server) or peer (client) address; nil for `default`.
    public var address: SocketAddress?

    /// A selector.
    public init(server: Bool, address: SocketAddress?) {
        self.server = server
        self.address = address
    }

    /// `server:127.0.0.1:5061`, `client:default`.
    public var description: String { "\(server ? "server" : "client"):\(address?.description ?? "default")" }
}

/// The live contexts, swapped whole by `tls.reload`. Lookups take a short lock and
/// return a retained context.
public final class TLSContextStore: Sendable {
    private let contexts: Mutex<[TLSProfileKey: TLSContext]>
    /// When the contexts were last (re)built, seconds since the epoch (for `tls.info`).
    private let generation = Atomic<Int>(1)

    /// A store holding `contexts`; the two defaults must be there.
    public init(_ contexts: [TLSProfileKey: TLSContext]) {
        self.contexts = Mutex(contexts)
    }

    /// Builds every profile; throws on the first that does not load.
    public static func build(_ profiles: [TLSProfileKey: TLSSettings]) throws(TLSError) -> [TLSProfileKey: TLSContext] {
        var out: [TLSProfileKey: TLSContext] = [:]
        for (key, settings) in profiles.sorted(by: { $0.key.description < $1.key.description }) {
            do { out[key] = try TLSContext(settings: settings, server: key.server) } catch {
                throw TLSError("[\(key)] \(error.description)")
            }
        }
        return out
    }

    /// Replaces every context (the old ones stay with the connections that use them).
    public func replace(_ fresh: [TLSProfileKey: TLSContext]) {
        contexts.withLock { $0 = fresh }
        generation.wrappingAdd(1, ordering: .relaxed)
    }

    /// How many times the contexts were built (1 after start).
    public var reloads: Int { generation.load(ordering: .relaxed) - 1 }

    /// The context for a side and address: the exact profile, else that side's default.
    public func context(server: Bool, address: SocketAddress?) -> TLSContext? {
        contexts.withLock { c in
            if let address, let exact = c[TLSProfileKey(server: server, address: address)] { return exact }
            return c[TLSProfileKey(server: server, address: nil)]
        }
    }

    /// All profiles, sorted by name (for `tls.options`).
    public func all() -> [(TLSProfileKey, TLSContext)] {
        contexts.withLock { c in c.sorted { $0.key.description < $1.key.description }.map { ($0.key, $0.value) } }
    }
}
