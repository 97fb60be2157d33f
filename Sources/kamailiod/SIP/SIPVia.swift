/// The `rport` parameter of a Via (RFC 3581 §3).
public enum SIPRport: Sendable, Hashable {
    /// Not present.
    case absent
    /// Present without a value: the client asks for symmetric response routing.
    case requested
    /// Present with a port (filled in by a server).
    case value(UInt16)
}

/// One Via value (RFC 3261 §20.42, §25.1 via-parm): `SIP/2.0/UDP host:port;params`.
///
/// An immutable class, not a struct: tm, forwarding and replies each read the top Via
/// of every message, and a struct this size was copied (a retain per slice in it) on
/// every read.
///
/// `@unchecked Sendable`: every stored property is a `let` except `elementsInField`,
/// which `parseField` and `parseFirst` set before the objects leave them and nothing writes after.
public final class SIPVia: @unchecked Sendable, Hashable {
    // The field value the Via was parsed from; the parts below are positions in it.
    private let raw: ArraySlice<UInt8>
    private let nameRange: Range<Int>
    private let versionRange: Range<Int>
    private let transportRange: Range<Int>
    /// Protocol name (`SIP`).
    public var protocolName: ArraySlice<UInt8> { raw[nameRange] }
    /// Protocol version (`2.0`).
    public var protocolVersion: ArraySlice<UInt8> { raw[versionRange] }
    /// Transport token as written (`UDP`, `TLS`, or an unknown token).
    public var transport: ArraySlice<UInt8> { raw[transportRange] }
    /// sent-by host.
    public let host: SIPHost
    /// sent-by port when written.
    public let port: UInt16?
    /// All parameters in order.
    public let params: [SIPParam]
    /// Index of the header field (in `SIPMessage.headers`) holding this value.
    public let fieldIndex: Int
    /// Position of this value within its field's comma list (0 = first).
    public let elementIndex: Int
    /// Number of values in the same field.
    public private(set) var elementsInField: Int
    /// Byte range of this value in the message (no surrounding LWS or comma).
    public let range: Range<Int>

    init(raw: ArraySlice<UInt8>, nameRange: Range<Int>, versionRange: Range<Int>, transportRange: Range<Int>,
         host: SIPHost, port: UInt16?, params: [SIPParam], fieldIndex: Int, elementIndex: Int,
         elementsInField: Int, range: Range<Int>) {
        self.raw = raw
        self.nameRange = nameRange
        self.versionRange = versionRange
        self.transportRange = transportRange
        self.host = host
        self.port = port
        self.params = params
        self.fieldIndex = fieldIndex
        self.elementIndex = elementIndex
        self.elementsInField = elementsInField
        self.range = range
    }

    /// Two Vias are equal when they were parsed from equal text at the same place.
    public static func == (a: SIPVia, b: SIPVia) -> Bool {
        a.range == b.range && a.fieldIndex == b.fieldIndex && a.elementIndex == b.elementIndex
            && a.elementsInField == b.elementsInField && a.raw == b.raw
    }

    public func hash(into h: inout Hasher) {
        h.combine(range.lowerBound)
        h.combine(range.upperBound)
        h.combine(fieldIndex)
        h.combine(elementIndex)
        h.combine(raw)
    }

    /// The `branch` parameter (§8.1.1.7).
    public var branch: ArraySlice<UInt8>? { params.value(named: "branch") }
    /// The `received` parameter (§18.2.1).
    public var received: ArraySlice<UInt8>? { params.value(named: "received") }
    /// The `maddr` parameter.
    public var maddr: ArraySlice<UInt8>? { params.value(named: "maddr") }
    /// The `ttl` parameter (0...255), nil when absent or malformed.
    public var ttl: Int? {
        params.first(named: "ttl")?.value.flatMap { SIPBytes.parseUInt($0, max: 255) }.map { Int($0) }
    }
    /// The `rport` parameter (RFC 3581).
    public var rport: SIPRport {
        guard let p = params.first(named: "rport") else { return .absent }
        guard let v = p.value else { return .requested }
        guard let n = SIPBytes.parseUInt(v, max: 65535) else { return .requested }
        return .value(UInt16(n))
    }
    /// True when the branch starts with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7).
    public var hasRFC3261Branch: Bool {
        guard let b = branch, b.count >= 7 else { return false }
        return b.prefix(7).elementsEqual("z9hG4bK".utf8)
    }
    /// The transport compared case-insensitively with a lower-case literal.
    public func isTransport(_ lower: StaticString) -> Bool { SIPBytes.equalsLower(transport, lower) }
    /// Branch as a String.
    public var branchString: String? { branch.map(SIPBytes.string) }

    /// Parses all Via values of one field value (a comma list). LWS is allowed around
    /// `/`, `:`, `;`, `=` and `,` (§25.1; RFC 4475 wsinv). Unknown transport tokens are
    /// accepted (RFC 4475 transports). An empty sent-by host, an unclosed `[`, an
    /// empty parameter or an empty list element is an error.
    static func parseField(_ v: ArraySlice<UInt8>, fieldIndex: Int) throws(SIPParseError) -> [SIPVia] {
        var out: [SIPVia] = []
        out.reserveCapacity(2)
        let count = try parseValues(v, fieldIndex: fieldIndex) { out.append($0) }
        if count > 1 { for via in out { via.elementsInField = count } }
        return out
    }

    /// The first value of `parseField` (the whole field is still parsed and checked),
    /// without the array: `topVia()` wants only this one on every message.
    static func parseFirst(_ v: ArraySlice<UInt8>, fieldIndex: Int) throws(SIPParseError) -> SIPVia? {
        var first: SIPVia?
        let count = try parseValues(v, fieldIndex: fieldIndex) { if first == nil { first = $0 } }
        first?.elementsInField = count
        return first
    }

    /// Parses the values of one field in order, hands each to `body`, and returns how
    /// many there were (`elementsInField` is left at 1 for the caller to set).
    private static func parseValues(_ v: ArraySlice<UInt8>, fieldIndex: Int,
                                    _ body: (SIPVia) -> Void) throws(SIPParseError) -> Int {
        var count = 0
        var sc = SIPScanner(v)
        while true {
            sc.skipLWS()
            let start = sc.pos
            // Positions, not slices: the object keeps `v` and these ranges into it.
            let name = sc.tokenRange()
            guard !name.isEmpty, sc.consume(SIPASCII.slash) else { throw .bad("Via", offset: start) }
            sc.skipLWS()
            let version = sc.tokenRange()
            guard !version.isEmpty, sc.consume(SIPASCII.slash) else { throw .bad("Via", offset: start) }
            sc.skipLWS()
            let transport = sc.tokenRange()
            guard !transport.isEmpty else { throw .bad("Via", offset: start) }
            sc.skipLWS()
            let hostStart = sc.pos
            if sc.peek == SIPASCII.lbracket {
                while let b = sc.peek, b != SIPASCII.rbracket, !SIPASCII.isLWS(b), b != SIPASCII.semicolon { sc.pos += 1 }
                guard sc.peek == SIPASCII.rbracket else {
                    throw SIPParseError("Unclosed [ in Via sent-by", offset: hostStart)
                }
                sc.pos += 1
            } else {
                while let b = sc.peek, SIPASCII.isHostChar(b) { sc.pos += 1 }
            }
            guard sc.pos > hostStart else { throw SIPParseError("Missing Via sent-by host", offset: hostStart) }
            let host = hostStart..<sc.pos
            let hostKind = try SIPHost.kind(of: v[host])  // the host itself is made in place below
            var port: UInt16?
            if sc.consume(SIPASCII.colon) {
                sc.skipLWS()
                let digits = sc.tokenRange()
                guard let n = SIPBytes.parseUInt(v[digits], max: 65535) else { throw .bad("Via port", offset: digits.lowerBound) }
                port = UInt16(n)
            }
            let params = try sc.params(what: "Via")
            let end = params.isEmpty ? sc.pos : params[params.count - 1].range.upperBound
            body(SIPVia(raw: v, nameRange: name, versionRange: version,
                        transportRange: transport, host: SIPHost(kind: hostKind, text: v[host]), port: port,
                        params: params, fieldIndex: fieldIndex, elementIndex: count,
                        elementsInField: 1, range: start..<end))
            count += 1
            sc.skipLWS()
            if sc.atEnd { break }
            guard sc.consume(SIPASCII.comma) else { throw .bad("Via", offset: sc.pos) }
            sc.skipLWS()
            guard !sc.atEnd, sc.peek != SIPASCII.comma else { throw SIPParseError("Empty Via value", offset: sc.pos) }
        }
        return count
    }
}
