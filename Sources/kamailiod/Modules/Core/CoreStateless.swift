#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import SIPTransport
import ScriptEngine

/// Stateless SIP behaviour of the core: local replies, request forwarding and reply relaying.
extension CoreRuntime {
    /// Where a locally generated reply to `request` goes.
    ///
    /// Stream transports: back over the connection the request came on (RFC 3261 §18.2.2).
    /// Datagrams: to the source address; the port is the source port when the top Via asks
    /// for `rport` (RFC 3581) or `force_rport()` ran, else the Via's sent-by port. Like
    /// Kamailio (reply_to_via=0) we never send to the sent-by host or `maddr`: a forged Via
    /// must not turn the server into a reflector, and the source address is what NATs reach.
    public func replyDestination(for request: SIPMessage, info: ReceiveInfo, forceRport: Bool) -> Destination {
        var addr = info.source
        if info.proto.isStream {
            return Destination(proto: info.proto, address: addr, connectionID: info.connectionID,
                               listenerIndex: info.listenerIndex)
        }
        if !forceRport, let via = try? request.topVia(), via.rport == .absent {
            addr.port = via.port ?? (via.isTransport("tls") ? 5061 : 5060)
        }
        return Destination(proto: info.proto, address: addr, listenerIndex: info.listenerIndex)
    }

    /// Sends a stateless reply to `request` (sl_send_reply). `toTag` nil: the deterministic
    /// tag of `SIPReplyBuilder.toTag(for:)`, which the sl module recognises on the ACK.
    @discardableResult
    public func sendReply(to request: SIPMessage, info: ReceiveInfo, code: Int, reason: String,
                          extraHeaders: [[UInt8]] = [], forceRport: Bool, toTag: [UInt8]? = nil) -> Bool {
        var b = SIPReplyBuilder(statusCode: code, reason: reason)
        b.sourceAddress = info.source.ipBytes
        b.sourcePort = info.source.port
        b.forceRport = forceRport
        b.extraHeaders = extraHeaders
        b.server = serverValue
        b.toTag = toTag
        return send(b.build(for: request), to: replyDestination(for: request, info: info, forceRport: forceRport))
    }

    /// The value part of `server_header` (`kamailiod` of `Server: kamailiod`).
    var serverValue: [UInt8]? {
        guard let line = serverHeader, let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return serverHeader }
        return Array(SIPBytes.trimLWS(line[(colon + 1)...]))
    }

    /// What `sl_reply_error()` answers after a failed `forward()`/`t_relay()`: Kamailio's
    /// generic text for an unspecified core error (E_UNSPEC, signed by sl).
    public static let unspecifiedErrorReply = (code: 500, reason: "I'm terribly sorry, server error occurred (1/SL)")

    /// Stateless forwarding of a request to `uri` (core `forward()`, RFC 3261 §16.11):
    /// a new top Via with a branch derived from the request (so a retransmission, and a
    /// CANCEL of it, get the same branch), `received`/`rport` on the previous top Via
    /// (§18.2.1, RFC 3581), then the message with every recorded edit. Returns 1 on
    /// success; as Kamailio, -478 when the host does not resolve, -7 when no socket
    /// serves its transport and family, -1 for other failures.
    public func forward(_ ctx: ScriptContext, to uri: SIPURI) -> Int32 {
        let msg = ctx.message
        let info = ctx.receive
        guard let host = uri.host else {
            log(.error, "core", "forward: no host in \(uri)")
            return -1
        }
        var proto: TransportProto = uri.scheme == .sips ? .tls : .udp
        if let t = uri.transport {
            guard let p = TransportProto(name: SIPBytes.string(t)) else {
                log(.error, "core", "forward: unknown transport in \(uri)")
                return -1
            }
            proto = p
        }
        let port = uri.port ?? proto.defaultPort
        // Kamailio resolves with A/AAAA (and SRV/NAPTR when no port is given); we do A/AAAA only.
        // sl_reply_error() then answers as Kamailio's does (its core error stays unspecified)
        guard let addr = resolve(host.address, port: port) else {
            log(.error, "core", "forward: cannot resolve \(host)")
            ctx.core.lastError = Self.unspecifiedErrorReply
            return -478
        }
        guard let out = sendListener(forced: ctx.core.forcedSocket, proto: proto, address: addr, preferred: info.listenerIndex) else {
            log(.error, "core", "forward: no \(proto.name) socket for \(addr.isIPv6 ? "IPv6" : "IPv4") to reach \(addr)")
            ctx.core.lastError = Self.unspecifiedErrorReply
            return -7
        }
        if listenerCache.contains(where: { $0.address == addr && $0.proto == proto }) {
            log(.error, "core", "forward: refusing to send \(msg.isRequest ? SIPBytes.string(msg.methodBytes) : "reply") to myself (\(addr)): loop")
            return -1
        }
        ctx.applyPendingEdits()  // before the snapshot: they stay for a second forward()
        let saved = msg.edits
        defer { msg.edits = saved }
        fillReceived(msg, info: info, forceRport: ctx.core.forceRport)
        let prefix = viaPrefixes[out.index]
        var via: [UInt8] = []
        via.reserveCapacity(SIPMessage.viaLinePrefix.count + prefix.count + 20)
        via += SIPMessage.viaLinePrefix
        via += prefix
        appendStatelessBranch(msg, to: &via)
        via.append(SIPASCII.cr)
        via.append(SIPASCII.lf)
        msg.insertTopViaLine(via)
        let bytes = ctx.serializeMessage()
        return send(bytes, to: Destination(proto: proto, address: addr, listenerIndex: out.index)) ? 1 : -1
    }

    /// Adds `received` (and the `rport` value) to the request's top Via (§18.2.1, RFC 3581 §4).
    func fillReceived(_ msg: SIPMessage, info: ReceiveInfo, forceRport: Bool) {
        guard let via = try? msg.topVia() else { return }
        let src = info.source.ipBytes
        let wantRport = via.rport == .requested || (forceRport && via.rport == .absent)
        if wantRport {
            var digits: [UInt8] = []
            SIPBytes.appendDecimal(Int(info.source.port), to: &digits)
            if via.rport == .requested, let p = via.params.first(named: "rport") {
                msg.edits.insert([SIPASCII.equals] + digits, at: p.name.endIndex)
            } else {
                msg.edits.insert(Array(";rport=".utf8) + digits, at: via.range.upperBound)
            }
        }
        if wantRport || !via.host.matches(address: src) {
            if let old = via.params.first(named: "received"), let v = old.value {
                msg.edits.replace(v.startIndex..<v.endIndex, with: src)
            } else {
                msg.edits.insert(Array(";received=".utf8) + src, at: via.range.upperBound)
            }
        }
    }

    /// A branch for stateless forwarding (§16.11): a hash of what identifies the request
    /// at this hop — the incoming top Via branch when it is an RFC 3261 one, otherwise
    /// the RFC 2543 transaction identifiers — and the Request-URI, but not the method, so
    /// a CANCEL gets the same branch as its INVITE.
    func statelessBranch(_ msg: SIPMessage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(18)
        appendStatelessBranch(msg, to: &out)
        return out
    }

    /// `statelessBranch` appended to `out`.
    func appendStatelessBranch(_ msg: SIPMessage, to out: inout [UInt8]) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<C: Collection<UInt8>>(_ s: C) {
            for b in s { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = (h ^ 0x2c) &* 0x0000_0100_0000_01b3
        }
        let top = try? msg.topVia()
        if let top, top.hasRFC3261Branch, let br = top.branch {
            mix(br)
            mix(top.host.text)
        } else {
            mix(msg.callID ?? [])
            mix(msg.fromTag ?? [])
            mix(msg.toTag ?? [])
            if let cs = try? msg.cseq() {
                var d: [UInt8] = []
                SIPBytes.appendDecimal(Int(cs.number), to: &d)
                mix(d)
            }
            if let top { mix(msg.bytes[top.range]) }
        }
        mix(msg.requestURIBytes)
        out.append(UInt8(ascii: "s"))
        out.append(UInt8(ascii: "l"))
        for shift in stride(from: 60, through: 0, by: -4) { out.append(SIPBytes.hexDigit(UInt8((h >> UInt64(shift)) & 0xf))) }
    }

    /// Relays a reply statelessly (§18.2.2 in reverse, Kamailio's core reply forwarding):
    /// when the top Via is ours it is removed and the reply goes where the next Via says;
    /// a reply whose top Via is not ours, or that has no further Via, is dropped.
    /// `replyRoute` runs first and may drop it (returns false); `forcedSocket` is the
    /// listener it chose with `force_send_socket` (-1: none), read after it ran.
    public func relayReply(_ msg: SIPMessage, info: ReceiveInfo, replyRoute: () -> Bool, forcedSocket: () -> Int = { -1 }) {
        let route: SIPResponseRoute
        do {
            route = try msg.responseRoute(isOurs: isOurVia)
        } catch {
            log(.warning, "core", "dropping reply from \(info.source): \(error)")
            return
        }
        guard replyRoute() else { return }
        switch route {
        case .notOurs:
            if logEnabled(.debug) { log(.debug, "core", "dropping reply from \(info.source): top Via is not ours") }
        case .local:
            if logEnabled(.debug) { log(.debug, "core", "dropping reply from \(info.source): no Via left to send it to") }
        case .forward(let top, let target):
            guard (try? msg.removeVia(top)) != nil else { return }
            let proto = TransportProto(name: SIPBytes.string(target.transport)) ?? .udp
            guard let addr = resolve(target.host, port: target.port) else {
                log(.error, "core", "cannot resolve \(target.hostString) to relay a reply")
                return
            }
            let out = sendListener(forced: forcedSocket(), proto: proto, address: addr, preferred: info.listenerIndex)
            send(msg.serialize(), to: Destination(proto: proto, address: addr, listenerIndex: out?.index ?? -1))
        }
    }
}

extension CoreRuntime {
    /// Resolves a host from a URI or Via: dotted-quad IPv4 straight from the bytes (the
    /// per-message case), anything else through the resolver (A/AAAA).
    func resolve(_ host: ArraySlice<UInt8>, port: UInt16) -> SocketAddress? {
        var octets: (UInt32, UInt32, UInt32, UInt32, Int) = (0, 0, 0, 0, 0)
        var cur: UInt32 = 0
        var digits = 0
        var ok = !host.isEmpty
        for b in host where ok {
            if b >= 48 && b <= 57 {
                cur = cur * 10 + UInt32(b - 48)
                digits += 1
                ok = digits <= 3 && cur <= 255
            } else if b == 46 {
                ok = digits > 0 && octets.4 < 3
                switch octets.4 { case 0: octets.0 = cur; case 1: octets.1 = cur; default: octets.2 = cur }
                octets.4 += 1
                cur = 0
                digits = 0
            } else {
                ok = false
            }
        }
        if ok, octets.4 == 3, digits > 0 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = ((octets.0 << 24) | (octets.1 << 16) | (octets.2 << 8) | cur).bigEndian
            var ss = sockaddr_storage()
            withUnsafeMutableBytes(of: &ss) { dst in withUnsafeBytes(of: sin) { dst.copyMemory(from: $0) } }
            return SocketAddress(storage: ss, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        }
        return TransportResolver.resolve(host: SIPBytes.string(host), port: port, preferIPv6: host.contains(58))
    }
}

extension SocketAddress {
    /// The numeric address as bytes (no brackets); IPv4 without going through a String.
    var ipBytes: [UInt8] {
        guard !isIPv6 else { return Array(ipString.utf8) }
        let a = withUnsafeBytes(of: storage) { raw in
            (raw[4], raw[5], raw[6], raw[7])  // sockaddr_in.sin_addr, network order
        }
        var out: [UInt8] = []
        out.reserveCapacity(15)
        SIPBytes.appendDecimal(Int(a.0), to: &out)
        out.append(UInt8(ascii: "."))
        SIPBytes.appendDecimal(Int(a.1), to: &out)
        out.append(UInt8(ascii: "."))
        SIPBytes.appendDecimal(Int(a.2), to: &out)
        out.append(UInt8(ascii: "."))
        SIPBytes.appendDecimal(Int(a.3), to: &out)
        return out
    }
}

/// An edit a module keeps pending until the request is sent, because later functions may
/// still change it (Kamailio's lumps: `add_rr_param()` after `record_route()`, the dialog's
/// `did` parameter).
public protocol CorePendingEdit: AnyObject {
    /// Records the edit on the message; called once, just before the request is built.
    func apply(to ctx: ScriptContext)
}

/// An edit that depends on the socket a branch leaves on (Kamailio's conditional lumps:
/// rr's double Record-Route), adjusted for each branch tm sends.
public protocol CoreBranchEdit: AnyObject {
    /// Adjusts the recorded edits for a branch leaving on `listener`; tm restores the
    /// message's edits after each branch.
    func adjust(for ctx: ScriptContext, leavingOn listener: Int)
    /// The same adjustment for the copy of the request rebuilt from `base` (tm's stored
    /// request, which failure_route works on); nil when it does not apply there.
    func carry(into base: [UInt8]) -> (any CoreBranchEdit)?
}

extension ScriptContext {
    /// Lets every module edit that depends on the outgoing socket adjust to `listener`.
    public func adjustEditsForBranch(leavingOn listener: Int) {
        for p in core.branchEdits { p.adjust(for: self, leavingOn: listener) }
    }

    /// Applies every pending module edit (forwarding and tm call this before serializing).
    public func applyPendingEdits() {
        for p in core.pendingEdits { p.apply(to: self) }
    }
}
