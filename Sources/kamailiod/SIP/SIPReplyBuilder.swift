/// Builds a response to a request the way a stateless server does (RFC 3261 §8.2.6):
/// the Via fields, From, Call-ID and CSeq are copied byte for byte, To gets a tag,
/// the top Via gets `received`/`rport` (§18.2.1, RFC 3581 §4).
public struct SIPReplyBuilder: Sendable {
    /// Status code (100...699).
    public var statusCode: Int
    /// Reason phrase.
    public var reason: String
    /// To-tag to add when the request has none; nil means `SIPReplyBuilder.toTag(for:)`.
    public var toTag: [UInt8]?
    /// Source IP address of the request, without IPv6 brackets.
    public var sourceAddress: [UInt8]?
    /// Source port of the request.
    public var sourcePort: UInt16?
    /// Behave as if the top Via carried `;rport` (Kamailio's `force_rport()`).
    public var forceRport = false
    /// Extra header lines without terminators (`append_to_reply`).
    public var extraHeaders: [[UInt8]] = []
    /// `Server:` header value, when one should be sent.
    public var server: [UInt8]?
    /// Body and its Content-Type (a reply without body gets `Content-Length: 0`).
    public var body: [UInt8] = []
    /// Content-Type for a non-empty body.
    public var contentType: [UInt8]?

    /// Starts a reply with a status and reason phrase.
    public init(statusCode: Int, reason: String) {
        self.statusCode = statusCode
        self.reason = reason
    }

    /// A deterministic To-tag for a request: the same for every retransmission
    /// (same Call-ID, From tag and top branch), so a retransmitted request gets the
    /// same tag in its reply. 16 lower-case hex digits of a 64-bit FNV-1a hash.
    public static func toTag(for request: SIPMessage, salt: [UInt8] = []) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<C: Sequence<UInt8>>(_ s: C) {
            for b in s { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
            h = (h ^ 0xff) &* 0x0000_0100_0000_01b3  // separator so fields cannot run together
        }
        mix(salt)
        mix(request.callID ?? [])
        mix(request.fromTag ?? [])
        mix((try? request.topVia())?.branch ?? [])
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for shift in stride(from: 60, through: 0, by: -4) {
            out.append(SIPBytes.hexDigit(UInt8((h >> UInt64(shift)) & 0xf)))
        }
        return out
    }

    /// Builds the response bytes for `request`. Missing headers are left out, so a
    /// 400 can be built even for a broken request; nothing here traps on odd input.
    public func build(for request: SIPMessage) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + body.count)
        out.append(contentsOf: "SIP/2.0 ".utf8)
        SIPBytes.appendDecimal(statusCode, to: &out)
        out.append(SIPASCII.sp)
        out += Array(reason.utf8)
        out += crlfBytes
        let b = request.bytes
        let top = try? request.topVia()
        for f in request.headers where f.kind == .via {
            if let top, top.fieldIndex == f.index {
                out += topViaLine(request, field: f, via: top)
            } else {
                out += b[f.name.lowerBound..<f.value.upperBound]
            }
            out += crlfBytes
        }
        if let f = request.firstHeader(.from) { out += b[f.name.lowerBound..<f.value.upperBound]; out += crlfBytes }
        if let f = request.firstHeader(.to) {
            out += b[f.name.lowerBound..<f.value.upperBound]
            // §8.2.6.2: add a tag unless the request had one; not on 100 (§8.2.6.1).
            if statusCode > 100, let to = try? request.to(), to.params.first(named: "tag") == nil {
                out.append(contentsOf: ";tag=".utf8)
                out += toTag ?? SIPReplyBuilder.toTag(for: request)
            }
            out += crlfBytes
        }
        for kind in [SIPHeaderKind.callID, .cseq] {
            if let f = request.firstHeader(kind) { out += b[f.name.lowerBound..<f.value.upperBound]; out += crlfBytes }
        }
        // Headers the script queued (append_to_reply, challenges, Contact lists) come
        // before Server, where Kamailio puts them, so transcripts compare line for line.
        for line in extraHeaders { out += line; out += crlfBytes }
        if let server { out.append(contentsOf: "Server: ".utf8); out += server; out += crlfBytes }
        if !body.isEmpty, let contentType {
            out.append(contentsOf: "Content-Type: ".utf8); out += contentType; out += crlfBytes
        }
        out.append(contentsOf: "Content-Length: ".utf8)
        SIPBytes.appendDecimal(body.count, to: &out)
        out += crlfBytes
        out += crlfBytes
        out += body
        return out
    }

    // The top Via field with received/rport filled in (§18.2.1, RFC 3581 §4).
    private func topViaLine(_ request: SIPMessage, field f: SIPHeaderField, via: SIPVia) -> [UInt8] {
        let b = request.bytes
        var inserts: [(at: Int, replaceTo: Int, bytes: [UInt8])] = []
        if let src = sourceAddress {
            let rport = via.rport
            // rport's value first: when rport is the last parameter, `=PORT` and
            // `;received=` land on the same offset and must come out in that order.
            if let port = sourcePort {
                var digits: [UInt8] = []
                SIPBytes.appendDecimal(Int(port), to: &digits)
                if rport == .requested, let p = via.params.first(named: "rport") {
                    let end = p.value?.endIndex ?? p.name.endIndex
                    inserts.append((p.name.endIndex, end, [SIPASCII.equals] + digits))
                } else if forceRport, rport == .absent {
                    inserts.append((via.range.upperBound, via.range.upperBound, rportPrefix + digits))
                }
            }
            // RFC 3581 §4: with rport, received is added even when the host matches.
            let wantRport = rport == .requested || (forceRport && rport == .absent)
            if !via.host.matches(address: src) || wantRport {
                if let old = via.params.first(named: "received"), let v = old.value {
                    inserts.append((v.startIndex, v.endIndex, src))
                } else {
                    inserts.append((via.range.upperBound, via.range.upperBound, receivedPrefix + src))
                }
            }
        }
        // Stable order by offset: equal offsets keep the order recorded above.
        let ordered = inserts.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
        var out: [UInt8] = []
        var cur = f.name.lowerBound
        for ins in ordered where ins.at >= cur {
            out += b[cur..<ins.at]
            out += ins.bytes
            cur = ins.replaceTo
        }
        out += b[cur..<f.value.upperBound]
        return out
    }
}

private let crlfBytes: [UInt8] = [SIPASCII.cr, SIPASCII.lf]

private let rportPrefix: [UInt8] = Array(";rport=".utf8)
private let receivedPrefix: [UInt8] = Array(";received=".utf8)
