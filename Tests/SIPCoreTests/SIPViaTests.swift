import Testing
@testable import SIPCore

@Suite("Via")
struct SIPViaTests {
    func vias(_ value: String) throws -> [SIPVia] {
        try message("OPTIONS sip:a@b SIP/2.0\nVia: \(value)\n\n").vias()
    }

    @Test("sent-protocol, sent-by and the well-known parameters are read")
    func basic() throws {
        let v = try #require(try vias("SIP/2.0/TLS client.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.1;rport=5070;maddr=224.2.0.1;ttl=16;x-foo").first)
        #expect(str(v.protocolName) == "SIP")
        #expect(str(v.protocolVersion) == "2.0")
        #expect(v.isTransport("tls"))
        #expect(v.host.description == "client.example.com")
        #expect(v.port == 5061)
        #expect(v.branchString == "z9hG4bK74bf9")
        #expect(v.hasRFC3261Branch)
        #expect(v.received.map(str) == "192.0.2.1")
        #expect(v.rport == .value(5070))
        #expect(v.maddr.map(str) == "224.2.0.1")
        #expect(v.ttl == 16)
        #expect(v.params.last?.nameString == "x-foo")
        #expect(v.params.last?.value == nil)
    }

    @Test("rport distinguishes absent, requested and filled in")
    func rport() throws {
        #expect(try vias("SIP/2.0/UDP h;branch=z9hG4bK1").first?.rport == .absent)
        #expect(try vias("SIP/2.0/UDP h;rport;branch=z9hG4bK1").first?.rport == .requested)
        #expect(try vias("SIP/2.0/UDP h;rport=1234").first?.rport == .value(1234))
    }

    @Test("comma lists and several fields give every value with its field and position")
    func lists() throws {
        let m = try message("""
            OPTIONS sip:a@b SIP/2.0
            Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1 , SIP/2.0/TCP [2001:db8::1]:5080;branch=z9hG4bK2
            v: SIP/2.0/SCTP c.example.com

            """)
        let v = try m.vias()
        #expect(v.count == 3)
        #expect(v.map(\.fieldIndex) == [0, 0, 1])
        #expect(v.map(\.elementIndex) == [0, 1, 0])
        #expect(v.map(\.elementsInField) == [2, 2, 1])
        #expect(v[1].host.kind == .ipv6)
        #expect(v[1].port == 5080)
        #expect(str(m.bytes[v[0].range]) == "SIP/2.0/UDP a.example.com;branch=z9hG4bK1")
        #expect(str(m.bytes[v[2].range]) == "SIP/2.0/SCTP c.example.com")
        #expect(try m.topVia()?.branchString == "z9hG4bK1")
    }

    @Test("malformed Vias are rejected with a reason")
    func malformed() {
        let cases: [(String, String)] = [
            ("SIP/2.0/UDP ;branch=x", "Missing Via sent-by host"),
            ("SIP/2.0/UDP [2001:db8::1;branch=x", "Unclosed [ in Via sent-by"),
            ("SIP/2.0/UDP h;;", "Empty parameter in Via"),
            ("SIP/2.0/UDP h,", "Empty Via value"),
            ("SIP/2.0/UDP h:99999", "Malformed Via port"),
            ("SIP/2.0 h", "Malformed Via"),
            ("SIP/2.0/UDP h x", "Malformed Via"),
            ("SIP/2.0/UDP h;branch=\"open", "Unterminated quoted string"),
        ]
        for (value, reason) in cases {
            do {
                _ = try vias(value)
                Issue.record("\(value) accepted")
            } catch {
                #expect((error as? SIPParseError)?.reason == reason, "\(value)")
            }
        }
    }
}
