import Testing
@testable import SIPCore

@Suite("SIP URI")
struct SIPURITests {
    @Test("a full SIP URI splits into user, password, host, port, params and headers")
    func fullURI() throws {
        let u = try SIPURI("sips:alice:secret@Atlanta.example.com:5061;transport=tcp;lr;Method=INVITE?subject=project%20x&priority=urgent")
        #expect(u.scheme == .sips)
        #expect(str(u.user ?? []) == "alice")
        #expect(str(u.password ?? []) == "secret")
        #expect(u.host?.kind == .name)
        #expect(u.hostString == "Atlanta.example.com")
        #expect(u.port == 5061)
        #expect(u.params.map(\.nameString) == ["transport", "lr", "Method"])
        #expect(u.transport.map(str) == "tcp")
        #expect(u.isLooseRouter)
        #expect(u.params.first(named: "method")?.valueString == "INVITE")
        #expect(u.headers.map(\.nameString) == ["subject", "priority"])
        #expect(u.headers.first?.valueString == "project%20x")
    }

    @Test("render writes back exactly what was parsed")
    func renderRoundTrip() throws {
        for text in ["sip:alice@example.com", "sips:a:b@[2001:db8::1]:5061;lr;x=1?h=v&i=w",
                     "sip:192.0.2.1:5060;transport=udp", "tel:+1-201-555-0123;phone-context=example.com",
                     "mailto:someone@example.com", "sip:%61lice@example.com;user=phone"] {
            let u = try SIPURI(text)
            #expect(str(u.render()) == text)
            #expect(u.description == text)
        }
    }

    @Test("IPv6 references: brackets kept, last group is not a port, one :: at most")
    func ipv6() throws {
        let a = try SIPURI("sip:[2001:db8::10:5070]")
        #expect(a.host?.kind == .ipv6)
        #expect(a.port == nil)
        #expect(str(a.host?.address ?? []) == "2001:db8::10:5070")
        let b = try SIPURI("sip:user@[2001:db8::10]:5070")
        #expect(b.port == 5070)
        let c = try SIPURI("sip:[::ffff:192.0.2.1]")
        #expect(c.host?.kind == .ipv6)
        let d = try SIPURI("sip:[2001:db8:0:0:0:0:0:1]")
        #expect(d.host?.kind == .ipv6)
        // RFC 5118 §4.9/§4.10: two colons before an embedded IPv4 are right, three are not.
        #expect(try SIPURI("sip:[2001:db8::192.0.2.1]").host?.kind == .ipv6)
        #expect(throws: SIPParseError.self) { try SIPURI("sip:[2001:db8:::192.0.2.1]") }
        #expect(try SIPURI("sip:[::1]").host?.kind == .ipv6)
        #expect(try SIPURI("sip:[::]").host?.kind == .ipv6)
        #expect(try SIPURI("sip:[1::]").host?.kind == .ipv6)
        #expect(throws: SIPParseError.self) { try SIPURI("sip:[1:2:3:4:5:6:7::8]") }
        #expect(throws: SIPParseError.self) { try SIPURI("sip:[1:]") }
        for bad in ["sip:[2001::db8::1]", "sip:[2001:db8::1", "sip:2001:db8::10", "sip:[]",
                    "sip:[2001:db8:0:0:0:0:0:0:1]", "sip:[12345::1]", "sip:[2001:db8::g]"] {
            #expect(throws: SIPParseError.self, "\(bad)") { try SIPURI(bad) }
        }
    }

    @Test("hosts match addresses by value for IP literals and case-insensitively for names")
    func hostMatching() throws {
        let v6 = try #require(try SIPURI("sip:[2001:db8:0:0::1]").host)
        #expect(v6.matches(address: Array("2001:db8::1".utf8)))
        #expect(v6.matches(address: Array("[2001:DB8::1]".utf8)))
        #expect(!v6.matches(address: Array("2001:db8::2".utf8)))
        let v4 = try #require(try SIPURI("sip:192.0.2.1").host)
        #expect(v4.matches(address: Array("192.0.2.1".utf8)))
        #expect(!v4.matches(address: Array("192.0.2.10".utf8)))
        let name = try #require(try SIPURI("sip:Example.COM").host)
        #expect(name.matches(address: Array("example.com".utf8)))
        #expect(SIPHost.binaryAddress(ArraySlice("::ffff:192.0.2.1".utf8))?.suffix(4) == [192, 0, 2, 1])
        #expect(SIPHost.binaryAddress(ArraySlice("not-an-ip".utf8)) == nil)
    }

    @Test("IPv4 literals are validated, host names classified")
    func ipv4() throws {
        #expect(try SIPURI("sip:10.0.0.255").host?.kind == .ipv4)
        #expect(try SIPURI("sip:a.example.com").host?.kind == .name)
        #expect(try SIPURI("sip:my_host.example.com").host?.kind == .name)
        #expect(throws: SIPParseError.self) { try SIPURI("sip:10.0.0.256") }
        #expect(throws: SIPParseError.self) { try SIPURI("sip:10.0.0") }
    }

    @Test("percent escapes decode for comparison and malformed escapes are rejected")
    func escapes() throws {
        let u = try SIPURI("sip:%61lice%20b@example.com")
        #expect(u.userString == "alice b")
        #expect(try u.isEquivalent(to: SIPURI("sip:alice%20b@EXAMPLE.com")))
        #expect(try !u.isEquivalent(to: SIPURI("sip:Alice%20b@example.com")))
        #expect(try !SIPURI("sip:a@b;transport=tcp").isEquivalent(to: SIPURI("sip:a@b")))
        #expect(try SIPURI("sip:a@b;transport=TCP").isEquivalent(to: SIPURI("sip:a@b;transport=tcp;foo")))
        for bad in ["sip:%ZZ@example.com", "sip:%4@example.com", "sip:a@b;x=%G1"] {
            #expect(throws: SIPParseError.self, "\(bad)") { try SIPURI(bad) }
        }
    }

    @Test("tel URIs and user=phone")
    func tel() throws {
        let t = try SIPURI("tel:+358-555-1234567;postd=pp22")
        #expect(t.scheme == .tel)
        #expect(str(t.user ?? []) == "+358-555-1234567")
        #expect(t.host == nil)
        #expect(t.params.first?.valueString == "pp22")
        #expect(try SIPURI("sip:+1234@gw.example.com;user=phone").isPhoneUser)
        #expect(try !SIPURI("sip:+1234@gw.example.com").isPhoneUser)
    }

    @Test("bad inputs: empty host, bad port, missing scheme, brackets, spaces")
    func badInputs() {
        for bad in ["sip:alice@", "sip:", "sip:alice@host:", "sip:alice@host:99999", "sip:alice@host:12a",
                    "<sip:a@b>", "alice@example.com", "sip:a@b;;x", "sip:a@b c", ":foo", "sip:a@-bad",
                    "sip:@example.com", "sip:a\"b@example.com"] {
            #expect(throws: SIPParseError.self, "\(bad)") { try SIPURI(bad) }
        }
    }

    @Test("5000 URI parameters parse in linear time")
    func manyParams() throws {
        var text = "sip:a@example.com"
        for i in 0..<5000 { text += ";p\(i)=v\(i)" }
        let clock = ContinuousClock()
        var count = 0
        let t = try clock.measure { count = try SIPURI(text).params.count }
        #expect(count == 5000)
        #expect(t < .milliseconds(200))
    }
}
