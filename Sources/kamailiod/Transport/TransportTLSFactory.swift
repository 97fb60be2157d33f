#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wires TLS into the stream transport: the factory `TransportOptions.streamFactories[.tls]`
/// holds, picking each connection's profile from the live context store.
public enum TLSTransport {
    /// A factory for `listen=tls:` sockets. Inbound sockets get the `[server:IP:PORT]`
    /// profile of the address they arrived on (else `[server:default]`) and handshake on
    /// the I/O thread; outbound ones get `[client:IP:PORT]` of the peer (else
    /// `[client:default]`) and handshake at once, within `connectTimeout` seconds.
    public static func factory(store: TLSContextStore, connectTimeout: Double, idleLifetime: Double?,
                               log: @escaping @Sendable (TransportLogLevel, String) -> Void) -> StreamConnectionFactory {
        { fd, isOutbound in
            let address = isOutbound ? peerAddress(fd) : TransportSocket.localAddress(fd)
            guard let context = store.context(server: !isOutbound, address: address) else {
                log(.error, "tls: no \(isOutbound ? "client" : "server") profile for \(address?.description ?? "?")")
                return nil
            }
            guard let stream = TLSStreamConnection(fd: fd, context: context, idleLifetime: idleLifetime, log: log) else {
                return nil
            }
            if isOutbound {
                let deadline = TransportClock.nowNanos() + TransportClock.nanos(seconds: connectTimeout)
                guard stream.handshake(deadline: deadline) else { return nil }
            }
            return stream
        }
    }

    /// The connected peer (`getpeername`).
    static func peerAddress(_ fd: Int32) -> SocketAddress? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &ss) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &len) == 0 }
        }
        return ok ? SocketAddress(storage: ss, length: len) : nil
    }
}

extension TransportConnection {
    /// The TLS session of a TLS connection (nil for plain TCP).
    public var tls: TLSStreamConnection? { stream as? TLSStreamConnection }
}
