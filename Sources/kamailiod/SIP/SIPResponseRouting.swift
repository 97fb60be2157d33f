/// Where a response goes next after this element removes its own top Via
/// (RFC 3261 §18.2.2, RFC 3581 §4).
public struct SIPResponseTarget: Sendable, Hashable {
    /// Address or host name to send to (no IPv6 brackets).
    public var host: ArraySlice<UInt8>
    /// Port (from rport, sent-by, or the transport default).
    public var port: UInt16
    /// Transport token of the Via (`UDP`, `TCP`, ...).
    public var transport: ArraySlice<UInt8>
    /// The Via that names the target (the second Via of the response).
    public var via: SIPVia

    /// The host as a String.
    public var hostString: String { SIPBytes.string(host) }
}

/// What to do with a received response.
public enum SIPResponseRoute: Sendable, Hashable {
    /// The top Via is not ours: drop it (§18.1.2).
    case notOurs
    /// The top Via is ours and nothing follows: the response is for this element.
    case local(top: SIPVia)
    /// Remove `top` and send the rest to `target`.
    case forward(top: SIPVia, target: SIPResponseTarget)
}

extension SIPMessage {
    /// Decides where a response goes. `isOurs` tells whether a Via was added by
    /// this server (sent-by names one of our sockets, or the branch is ours).
    ///
    /// For the next Via (§18.2.2): `maddr` wins, with the sent-by port; otherwise
    /// `received` with the `rport` value (RFC 3581) or the sent-by port; otherwise the
    /// sent-by host and port. The default port is 5060, 5061 for TLS (§19.1.2).
    /// Stream transports reuse the connection when it is still open (caller's job).
    public func responseRoute(isOurs: (SIPVia) -> Bool) throws(SIPParseError) -> SIPResponseRoute {
        guard let (top, second) = try topTwoVias() else { throw .missing("Via") }
        guard isOurs(top) else { return .notOurs }
        guard let next = second else { return .local(top: top) }
        let defaultPort: UInt16 = next.isTransport("tls") ? 5061 : 5060
        let sentByPort = next.port ?? defaultPort
        var host: ArraySlice<UInt8> = next.host.address
        var port = sentByPort
        if let maddr = next.maddr {
            host = SIPResponseTarget.stripBrackets(maddr)
        } else if let received = next.received {
            host = SIPResponseTarget.stripBrackets(received)
            if case .value(let p) = next.rport { port = p }
        } else if case .value(let p) = next.rport {
            port = p
        }
        return .forward(top: top, target: SIPResponseTarget(host: host, port: port, transport: next.transport, via: next))
    }
}

extension SIPResponseTarget {
    static func stripBrackets(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        if s.count >= 2, s.first == SIPASCII.lbracket, s.last == SIPASCII.rbracket { return s.dropFirst().dropLast() }
        return s
    }
}
