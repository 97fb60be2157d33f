#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import COpenSSL
import Synchronization

/// What a finished handshake agreed on, for `$tls_*`, `is_peer_verified()` and `tls.list`.
public struct TLSSessionInfo: Sendable, Hashable {
    /// `TLSv1.3`, `TLSv1.2`.
    public var version: String
    /// OpenSSL's cipher name (`TLS_AES_256_GCM_SHA384`).
    public var cipher: String
    /// Secret bits of the cipher.
    public var bits: Int
    /// OpenSSL's one-line cipher description (`$tls_cipher_info`).
    public var cipherDescription: String
    /// The peer certificate's subject CN; empty without a certificate.
    public var peerCommonName: String
    /// The peer certificate's whole subject (one line); empty without a certificate.
    public var peerSubject: String
    /// True when the peer sent a certificate and it verified.
    public var peerVerified: Bool
}

/// A SIP stream over TLS on a non-blocking socket. The handshake runs inside `read`
/// (server side, on the I/O thread) or up front in `handshake(deadline:)` (client side,
/// on the sending worker, bounded like a TCP connect). OpenSSL is never called on a
/// blocking descriptor, so no call waits for the peer.
///
/// An `SSL` object is not thread-safe; the I/O thread reads while workers write, so
/// every OpenSSL call on it holds `lock` (a few microseconds, never across a wait).
public final class TLSStreamConnection: StreamConnection, @unchecked Sendable {
    // @unchecked: `ssl` is only touched under `lock`; the rest is immutable or atomic.
    public let fd: Int32
    private let ssl: OpaquePointer
    private let lock = Mutex<Void>(())
    private let info = Mutex<TLSSessionInfo?>(nil)
    private let started = TransportClock.nowNanos()
    private let log: @Sendable (TransportLogLevel, String) -> Void
    /// Seconds without traffic before the connection is closed (`connection_timeout`).
    public let idleLifetime: Double?

    /// Wraps a connected non-blocking socket with a fresh `SSL` from `context`.
    init?(fd: Int32, context: TLSContext, idleLifetime: Double?,
          log: @escaping @Sendable (TransportLogLevel, String) -> Void) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            log(.error, "tls: SSL_new failed\(TLSError.drainQueue())")
            return nil
        }
        guard SSL_set_fd(ssl, fd) == 1 else {
            log(.error, "tls: SSL_set_fd failed\(TLSError.drainQueue())")
            SSL_free(ssl)
            return nil
        }
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let name = context.settings.serverName { _ = shim_SSL_set_tlsext_host_name(ssl, name) }
        }
        self.fd = fd
        self.ssl = ssl
        self.log = log
        self.peerText = TLSTransport.peerAddress(fd)?.description ?? "fd \(fd)"
        self.idleLifetime = idleLifetime
    }

    deinit { SSL_free(ssl) }

    /// Seconds since the connection was wrapped (`tls.list` age).
    public var ageSeconds: Double { Double(TransportClock.nowNanos() &- started) / 1e9 }

    /// The handshake's result; nil while it runs.
    public var session: TLSSessionInfo? { info.withLock { $0 } }

    /// When the handshake began, while it has not finished (0 once done): the I/O
    /// thread closes connections whose handshake stalls.
    public var handshakePendingSince: UInt64 { info.withLock { $0 == nil } ? started : 0 }

    /// Steps the handshake; must hold `lock`. `.transferred(0)` means finished.
    private func stepHandshake() -> StreamIOResult {
        if info.withLock({ $0 != nil }) { return .transferred(0) }
        ERR_clear_error()
        let r = SSL_do_handshake(ssl)
        if r == 1 {
            let s = describe()
            info.withLock { $0 = s }
            log(.debug, "tls handshake with \(peerText) done: \(s.version) \(s.cipher), peer CN '\(s.peerCommonName)'"
                + (s.peerVerified ? " (verified)" : ""))
            return .transferred(0)
        }
        return failure(r, during: "handshake")
    }

    /// Maps an OpenSSL failure to a stream result, logging real errors once.
    private func failure(_ r: Int32, during what: String) -> StreamIOResult {
        let e = errno
        switch SSL_get_error(ssl, r) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wouldBlock
        case SSL_ERROR_ZERO_RETURN:
            return .closed
        case SSL_ERROR_SYSCALL:
            _ = ERR_get_error()
            if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return .wouldBlock }
            if e == 0 {
                if what == "handshake" { log(.warning, "tls \(what) with \(peerText) failed: peer closed the connection") }
                return .closed
            }
            if what == "handshake" { log(.warning, "tls \(what) with \(peerText) failed: \(TransportSocket.errorText(e))") }
            return .failed(e)
        default:
            let reason = TLSError.drainQueue()
            var verify = ""
            let v = SSL_get_verify_result(ssl)
            if v != X509_V_OK, let text = X509_verify_cert_error_string(v) { verify = " (certificate: \(String(cString: text)))" }
            log(.warning, "tls \(what) with \(peerText) failed\(reason)\(verify)")
            return .failed(EPROTO)
        }
    }

    /// The peer for log lines, read once (a closed socket no longer knows it).
    private let peerText: String

    /// Reads what the peer sent, completing the handshake first. Reads until OpenSSL
    /// wants more from the socket or the buffer is full, so no decrypted record is left
    /// behind that epoll would not report.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> StreamIOResult {
        lock.withLock { _ -> StreamIOResult in
            let hs = stepHandshake()
            guard case .transferred = hs else { return hs }
            var total = 0
            while total < buffer.count {
                ERR_clear_error()
                var n = 0
                let r = SSL_read_ex(ssl, buffer.baseAddress.map { $0 + total }, buffer.count - total, &n)
                if r == 1 {
                    total += n
                    continue
                }
                let f = failure(r, during: "read")
                if total > 0 || f == .wouldBlock { break }
                return f
            }
            return total > 0 ? .transferred(total) : .wouldBlock
        }
    }

    /// Writes some of `bytes` as TLS records (partial writes enabled; a retry may pass a
    /// different buffer address with the same bytes).
    public func write(_ bytes: UnsafeRawBufferPointer) -> StreamIOResult {
        lock.withLock { _ -> StreamIOResult in
            let hs = stepHandshake()
            guard case .transferred = hs else { return hs }
            ERR_clear_error()
            var n = 0
            let r = SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &n)
            return r == 1 ? .transferred(n) : failure(r, during: "write")
        }
    }

    /// Client side: runs the handshake to the end, waiting on the socket with `poll`
    /// until `deadline` (monotonic nanoseconds). False after a log line on failure.
    func handshake(deadline: UInt64) -> Bool {
        while true {
            let (result, wantWrite) = lock.withLock { _ -> (StreamIOResult, Bool) in
                let r = stepHandshake()
                return (r, SSL_want(ssl) == SSL_WRITING)
            }
            switch result {
            case .transferred: return true
            case .wouldBlock:
                let left = TransportClock.millisUntil(deadline)
                guard left > 0 else {
                    log(.warning, "tls handshake with \(peerText) timed out")
                    return false
                }
                var p = pollfd(fd: fd, events: Int16(wantWrite ? POLLOUT : POLLIN), revents: 0)
                _ = poll(&p, 1, left)
            case .closed, .failed: return false
            }
        }
    }

    /// Wakes readers and writers; no OpenSSL call (a writer may hold the lock).
    public func shutdown() { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }

    /// Releases the socket; the `SSL` goes with the last reference.
    public func close() { TransportSocket.close(fd) }

    /// Reads the agreed parameters; holds `lock`.
    private func describe() -> TLSSessionInfo {
        var s = TLSSessionInfo(version: String(cString: SSL_get_version(ssl)), cipher: "", bits: 0,
                               cipherDescription: "", peerCommonName: "", peerSubject: "", peerVerified: false)
        if let c = SSL_get_current_cipher(ssl) {
            s.cipher = String(cString: SSL_CIPHER_get_name(c))
            s.bits = Int(SSL_CIPHER_get_bits(c, nil))
            var buf = [CChar](repeating: 0, count: 256)
            if let d = SSL_CIPHER_description(c, &buf, Int32(buf.count)) {
                s.cipherDescription = String(cString: d).trimmingSpaceAndNewline()
            }
        }
        if let cert = SSL_get1_peer_certificate(ssl) {
            defer { X509_free(cert) }
            if let name = X509_get_subject_name(cert) {
                var buf = [CChar](repeating: 0, count: 256)
                if X509_NAME_get_text_by_NID(name, NID_commonName, &buf, Int32(buf.count)) > 0 {
                    s.peerCommonName = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                }
                if let line = X509_NAME_oneline(name, nil, 0) {
                    s.peerSubject = String(cString: line)
                    CRYPTO_free(line, #fileID, #line)
                }
            }
            s.peerVerified = SSL_get_verify_result(ssl) == X509_V_OK
        }
        return s
    }
}

private extension String {
    /// OpenSSL ends cipher descriptions with a newline and pads fields with spaces.
    func trimmingSpaceAndNewline() -> String {
        var sub = Substring(self)
        while let l = sub.last, l == "\n" || l == " " { sub = sub.dropLast() }
        return sub.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
