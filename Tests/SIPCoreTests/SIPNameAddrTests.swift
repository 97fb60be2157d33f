import Testing
@testable import SIPCore

@Suite("name-addr, From/To, Contact, Route")
struct SIPNameAddrTests {
    func addr(_ text: String) throws -> SIPNameAddr {
        try SIPNameAddr(bytes: ArraySlice(Array(text.utf8)))
    }

    @Test("quoted display names keep escapes out of the decoded name")
    func quoted() throws {
        let a = try addr(#""Alice \"Al\" L." <sip:alice@example.com>;tag=88sja8x"#)
        #expect(a.displayName == #"Alice "Al" L."#)
        #expect(str(a.displayNameRaw ?? []) == #""Alice \"Al\" L.""#)
        #expect(a.hasAngleBrackets)
        #expect(a.tagString == "88sja8x")
        #expect(a.uri.userString == "alice")
    }

    @Test("token display names, with and without a space before <")
    func tokenDisplay() throws {
        #expect(try addr("Bob Smith <sip:bob@b.example>").displayName == "Bob Smith")
        #expect(try addr("caller<sip:caller@example.com>;tag=323").displayName == "caller")
        #expect(try addr("<sip:caller@example.com>").displayName == nil)
        #expect(try addr("Alice (work) <sip:a@b>;tag=1").displayName == "Alice (work)")
        #expect(try addr("Alice (work) <sip:a@b>;tag=1").tagString == "1")
    }

    @Test("addr-spec form: parameters after the URI belong to the header")
    func addrSpec() throws {
        let a = try addr("sip:user@example.com;tag=abc;transport=tcp")
        #expect(!a.hasAngleBrackets)
        #expect(a.uri.params.isEmpty)
        #expect(a.params.map(\.nameString) == ["tag", "transport"])
        let b = try addr("<sip:user@example.com;transport=tcp>;tag=abc")
        #expect(b.uri.transport.map(str) == "tcp")
        #expect(b.params.map(\.nameString) == ["tag"])
    }

    @Test("unterminated quotes, unclosed <, trailing junk and empty params are errors")
    func errors() {
        for bad in [#""Alice <sip:a@b>"#, "<sip:a@b", "Alice", "<sip:a@b> junk", "<sip:a@b>;;",
                    "<sip:a@b>;tag=", "", "\"x\" sip:a@b"] {
            #expect(throws: SIPParseError.self, "\(bad)") { try addr(bad) }
        }
    }

    @Test("Contact lists span fields and commas; q and expires are read")
    func contacts() throws {
        let m = try message("""
            REGISTER sip:example.com SIP/2.0
            m: <sip:a@1.2.3.4>;q=0.7;expires=3600, "B, the second" <sip:b@5.6.7.8>
            Contact: sip:c@9.9.9.9;expires=60

            """)
        let list = try #require(try m.contacts())
        #expect(list.addresses.count == 3)
        #expect(list.addresses.map { $0.uri.hostString ?? "" } == ["1.2.3.4", "5.6.7.8", "9.9.9.9"])
        #expect(list.addresses[0].q.map(str) == "0.7")
        #expect(list.addresses[0].expires == 3600)
        #expect(list.addresses[1].displayName == "B, the second")
        #expect(list.addresses[2].expires == 60)
    }

    @Test("Contact star alone is .star; mixed with addresses it is an error")
    func star() throws {
        #expect(try message("REGISTER sip:x SIP/2.0\nContact: *\n\n").contacts() == .star)
        #expect(throws: SIPParseError.self) { try message("REGISTER sip:x SIP/2.0\nContact: *, <sip:a@b>\n\n").contacts() }
        #expect(throws: SIPParseError.self) { try message("REGISTER sip:x SIP/2.0\nContact: *\nContact: <sip:a@b>\n\n").contacts() }
        #expect(throws: SIPParseError.self) { try message("REGISTER sip:x SIP/2.0\nContact: <sip:a@b> , *\n\n").contacts() }
        #expect(throws: SIPParseError.self) { try message("REGISTER sip:x SIP/2.0\nContact: *, *\n\n").contacts() }
        #expect(throws: SIPParseError.self) { try message("INVITE sip:x SIP/2.0\nRoute: *\n\n").routes() }
        #expect(try message("REGISTER sip:x SIP/2.0\nContact:  * \n\n").contacts() == .star)
        #expect(try message("REGISTER sip:x SIP/2.0\n\n").contacts() == nil)
    }

    @Test("Route and Record-Route lists keep their order")
    func routes() throws {
        let m = try message("""
            INVITE sip:x@y SIP/2.0
            Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>
            Record-Route: <sip:rr.example.com;lr>
            Route: <sip:p3.example.com>

            """)
        #expect(try m.routes().map { $0.uri.hostString ?? "" } == ["p1.example.com", "p2.example.com", "p3.example.com"])
        #expect(try m.routes().map(\.uri.isLooseRouter) == [true, true, false])
        #expect(try m.recordRoutes().count == 1)
    }

    @Test("a 40000-byte display name parses without trouble")
    func hugeDisplay() throws {
        let name = String(repeating: "x", count: 40000)
        let a = try addr("\"\(name)\" <sip:a@b>")
        #expect(a.displayName?.count == 40000)
    }
}
