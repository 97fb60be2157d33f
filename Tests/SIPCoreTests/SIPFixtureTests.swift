import Foundation
import Testing
@testable import SIPCore

@Suite("Torture and adversarial fixtures")
struct SIPFixtureTests {
    @Test("the manifest lists every fixture file and the files are present")
    func manifestIsComplete() {
        #expect(Fixtures.manifest.count >= 70)
        for row in Fixtures.manifest where row.file != "adversarial/frame-empty.sip" {
            #expect(!Fixtures.bytes(row.file).isEmpty, "\(row.file) missing")
        }
    }

    @Test("valid messages parse and validate; invalid ones are rejected with a 4xx/5xx",
          arguments: Fixtures.manifest)
    func verdict(row: Fixtures.Row) {
        let bytes = Fixtures.bytes(row.file)
        let clock = ContinuousClock()
        var error: SIPParseError?
        let elapsed = clock.measure { error = rejection(bytes) }
        #expect(elapsed < .milliseconds(250), "\(row.file) took \(elapsed)")
        if row.valid {
            if row.acceptUDP.allSatisfy({ $0 == "none" || $0 == "other" }) {
                // Stray responses/ACKs parse; a CRLF keep-alive is not a message at all.
                if row.file.contains("keepalive") { #expect(error?.reason == "Empty message") } else { #expect(error == nil) }
            } else if row.acceptUDP.contains("any") {
                // Refusing is allowed, but only as "too large", never as malformed.
                if let error { #expect(error.statusCode == 513, "\(row.file): \(error)") }
            } else {
                #expect(error == nil, "\(row.file) rejected: \(String(describing: error))")
            }
        } else if !row.mayBeAccepted {
            #expect(error != nil, "\(row.file) accepted")
            if let error { #expect((400...599).contains(error.statusCode)) }
        }
    }

    @Test("RFC 4475 wsinv: folding, LWS around separators, escaped quotes, compact forms")
    func wsinv() throws {
        let m = try SIPMessage(bytes: Fixtures.bytes("rfc4475/wsinv.dat"))
        try m.validateForProcessing()
        #expect(m.method == .invite)
        let uri = try m.requestURI
        #expect(str(uri.user ?? []) == "vivekg")
        #expect(uri.hostString == "chair-dnrc.example.com")
        #expect(uri.params.map(\.nameString) == ["unknownparam"])
        #expect(try m.to()?.tagString == "1918181833n")
        #expect(try m.to()?.hasAngleBrackets == false)
        let from = try #require(try m.from())
        #expect(from.tagString == "98asjd8")
        #expect(from.displayName == "J Rosenberg \\\"")
        #expect(try m.maxForwards() == 68)
        #expect(try m.cseq() == SIPCSeq(number: 9, method: ArraySlice("INVITE".utf8)))
        #expect(m.callIDString == "wsinv.ndaksdj@192.0.2.1")
        let vias = try m.vias()
        #expect(vias.count == 3)
        #expect(vias.map { str($0.branch ?? []) } == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"])
        #expect(vias.map { $0.host.description } == ["192.0.2.2", "spindle.example.com", "192.168.255.111"])
        #expect(vias.map { str($0.transport) } == ["UDP", "TCP", "UDP"])
        #expect(try m.contentLength() == 150)
        #expect(m.body.count == 150)
        #expect(m.body.prefix(3).elementsEqual("v=0".utf8))
        let contact = try #require(try m.contacts()?.addresses.first)
        #expect(contact.displayName == "Quoted string \"\"")
        #expect(str(contact.q ?? []) == "0.33")
        #expect(contact.params.map(\.nameString) == ["newparam", "secondparam", "q"])
        let subject = try #require(m.firstHeader(.subject))
        #expect(m.value(of: subject).isEmpty)
        let nf = try #require(m.headers(named: "newfangledheader").first)
        #expect(m.stringValue(of: nf) == "newfangled value continued newfangled value")
        #expect(try m.routes().first?.uri.isLooseRouter == true)
    }

    @Test("RFC 4475 esc01: escaped user parts compare decoded")
    func esc01() throws {
        let m = try SIPMessage(bytes: Fixtures.bytes("rfc4475/esc01.dat"))
        try m.validateForProcessing()
        let uri = try m.requestURI
        #expect(uri.userString == "sips:user@example.com")
        #expect(uri.hostString == "example.net")
        #expect(try m.to()?.uri.userString == "user")
        #expect(try m.from()?.uri.userString == "I have spaces")
        let contact = try #require(try m.contacts()?.addresses.first)
        #expect(contact.uri.userString == "caller")
        #expect(contact.uri.params.count == 2)
        #expect(m.callIDString == "esc01.239409asdfakjkn23onasd0-3234")
    }

    @Test("RFC 4475 lwsdisp: token display name glued to <")
    func lwsdisp() throws {
        let m = try SIPMessage(bytes: Fixtures.bytes("rfc4475/lwsdisp.dat"))
        try m.validateForProcessing()
        let from = try #require(try m.from())
        #expect(from.displayName == "caller")
        #expect(from.uri.userString == "caller")
        #expect(from.tagString == "323")
        #expect(try m.contentLength() == 0)
    }

    @Test("RFC 4475 transports: unknown transport tokens in lower Vias")
    func transports() throws {
        let m = try SIPMessage(bytes: Fixtures.bytes("rfc4475/transports.dat"))
        try m.validateForProcessing()
        #expect(try m.vias().map { str($0.transport) } == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"])
        #expect(try m.topVia()?.branchString == "z9hG4bKkdjuw")
        #expect(m.method == .options)
    }

    @Test("RFC 4475 unreason: response with UTF-8 reason phrase")
    func unreason() throws {
        let m = try SIPMessage(bytes: Fixtures.bytes("rfc4475/unreason.dat"))
        try m.validateForProcessing()
        #expect(!m.isRequest)
        #expect(m.statusCode == 200)
        #expect(str(m.reasonPhrase).hasPrefix("= 2**3 * 5**2 "))
        #expect(try m.cseq()?.methodKind == .invite)
        #expect(try m.to()?.tagString == "2229")
        #expect(m.body.count == 154)
    }

    @Test("RFC 4475 bext01 and zeromf parse with their key values")
    func bextAndZeromf() throws {
        let z = try SIPMessage(bytes: Fixtures.bytes("rfc4475/zeromf.dat"))
        try z.validateForProcessing()
        #expect(try z.maxForwards() == 0)
        let b = try SIPMessage(bytes: Fixtures.bytes("rfc4475/bext01.dat"))
        try b.validateForProcessing()
        #expect(b.firstHeader(.require) != nil)
        #expect(b.firstHeader(.proxyRequire) != nil)
    }

    @Test("RFC 4475 invalid messages fail for the documented reason")
    func rfc4475Invalid() {
        #expect(rejection(Fixtures.bytes("rfc4475/badinv01.dat"))?.reason == "Empty parameter in Via")
        #expect(rejection(Fixtures.bytes("rfc4475/clerr.dat"))?.reason == "Content-Length larger than body")
        #expect(rejection(Fixtures.bytes("rfc4475/ltgtruri.dat"))?.reason == "Malformed URI")
        #expect(rejection(Fixtures.bytes("rfc4475/lwsstart.dat"))?.reason == "Missing Request-URI")
        #expect(rejection(Fixtures.bytes("rfc4475/mismatch01.dat"))?.reason == "CSeq method does not match request method")
        #expect(rejection(Fixtures.bytes("rfc4475/insuf.dat"))?.reason == "Missing From")
    }

    @Test("RFC 5118: IPv6 references in Request-URI, Via and Contact")
    func rfc5118() throws {
        let good = try SIPMessage(bytes: Fixtures.bytes("rfc5118/ipv6-good.dat"))
        try good.validateForProcessing()
        #expect(try good.requestURI.host?.kind == .ipv6)
        #expect(try good.requestURI.hostString == "[2001:db8::10]")
        #expect(try good.topVia()?.host.description == "[2001:db8::9:1]")
        #expect(try good.topVia()?.host.address.elementsEqual("2001:db8::9:1".utf8) == true)
        #expect(try good.contacts()?.addresses.first?.uri.hostString == "[2001:db8::1]")

        let ambiguous = try SIPMessage(bytes: Fixtures.bytes("rfc5118/port-ambiguous.dat"))
        try ambiguous.validateForProcessing()
        #expect(try ambiguous.requestURI.port == nil)
        #expect(try ambiguous.requestURI.hostString == "[2001:db8::10:5070]")

        let received = try SIPMessage(bytes: Fixtures.bytes("rfc5118/via-received-param-no-delim.dat"))
        try received.validateForProcessing()
        #expect(try received.topVia()?.received.map(str) == "2001:db8::9:255")
        #expect(try received.topVia()?.branchString == "z9hG4bKas3")

        let bad = Fixtures.bytes("rfc5118/ipv6-bad.dat")
        // `sip:2001:db8::10` reads as host 2001 (not a valid IPv4) with port "db8::10".
        #expect(rejection(bad)?.reason == "Malformed IPv4 address")
    }

    @Test("adversarial: specific rejections carry the right reason")
    func adversarialReasons() {
        let cases: [(String, String)] = [
            ("adversarial/cl-negative-one.sip", "Malformed Content-Length"),
            ("adversarial/cl-2pow32.sip", "Malformed Content-Length"),
            ("adversarial/cl-larger-than-body.sip", "Content-Length larger than body"),
            ("adversarial/num-cseq-negative.sip", "Malformed CSeq"),
            ("adversarial/num-cseq-2pow32.sip", "Malformed CSeq"),
            ("adversarial/num-maxfwd-text.sip", "Malformed Max-Forwards"),
            ("adversarial/num-expires-negative.sip", "Malformed Expires"),
            ("adversarial/hdr-missing-via.sip", "Missing Via"),
            ("adversarial/hdr-missing-callid.sip", "Missing Call-ID"),
            ("adversarial/hdr-empty-to.sip", "Empty To"),
            ("adversarial/tag-dup-to-tags.sip", "Duplicate tag in To"),
            ("adversarial/fold-inside-header-name.sip", "Malformed header line"),
            ("adversarial/name-unterminated-quote.sip", "Unterminated quoted string"),
            ("adversarial/name-angle-unclosed.sip", "Unclosed <"),
            ("adversarial/name-contact-star-mixed.sip", "Contact * mixed with other contacts"),
            ("adversarial/uri-empty-host.sip", "Empty URI host"),
            ("adversarial/uri-bad-escape.sip", "Malformed URI user"),
            ("adversarial/ipv6-two-double-colons.sip", "Malformed IPv6 reference"),
            ("adversarial/ipv6-via-unclosed.sip", "Unclosed [ in Via sent-by"),
            ("adversarial/via-missing-host.sip", "Missing Via sent-by host"),
            ("adversarial/auth-unterminated-quote.sip", "Unterminated quoted string"),
            ("adversarial/line-missing-ruri.sip", "Missing Request-URI"),
            ("adversarial/byte-nul-in-header-value.sip", "Control character in header"),
            ("adversarial/cve-2018-14767-double-to-empty-tag.sip", "Duplicate To"),
            ("adversarial/frame-no-blank-line.sip", "Missing empty line after headers"),
        ]
        for (file, reason) in cases {
            let e = rejection(Fixtures.bytes(file))
            #expect(e?.reason == reason, "\(file): \(String(describing: e))")
            #expect(e?.statusCode == 400, "\(file)")
        }
    }

    @Test("adversarial: garbage and empty datagrams throw at once")
    func garbage() {
        for file in ["adversarial/byte-nul-datagram.sip", "adversarial/byte-random-binary.sip",
                     "adversarial/frame-empty.sip", "adversarial/frame-crlf-keepalive.sip"] {
            #expect(throws: SIPParseError.self, "\(file)") { try SIPMessage(bytes: Fixtures.bytes(file)) }
        }
    }

    @Test("adversarial: liberal cases are processed with the right values")
    func liberal() throws {
        let lf = try SIPMessage(bytes: Fixtures.bytes("adversarial/frame-bare-lf.sip"))
        try lf.validateForProcessing()
        #expect(try lf.topVia()?.port == 5099)
        let lead = try SIPMessage(bytes: Fixtures.bytes("adversarial/frame-leading-crlf.sip"))
        try lead.validateForProcessing()
        #expect(lead.leadingBytesSkipped == 4)
        #expect(lead.method == .options)
        let ws = try SIPMessage(bytes: Fixtures.bytes("adversarial/hdr-name-trailing-ws.sip"))
        try ws.validateForProcessing()
        #expect(try ws.maxForwards() == 70)
        #expect(ws.callIDString == "adv-hdr-name-trailing-ws@probe.invalid")
        let lower = try SIPMessage(bytes: Fixtures.bytes("adversarial/line-lowercase-method.sip"))
        try lower.validateForProcessing()
        #expect(lower.method == .other)
        #expect(str(lower.methodBytes) == "invite")
        let fold = try SIPMessage(bytes: Fixtures.bytes("adversarial/fold-5000-lines.sip"))
        let subject = try #require(fold.firstHeader(.subject))
        #expect(fold.unfoldedValue(of: subject).count > 5000)
        let contacts = try SIPMessage(bytes: Fixtures.bytes("adversarial/size-register-5000-contacts-udp.sip"))
        #expect(try contacts.contacts()?.addresses.count ?? 0 > 4000)
        let params = try SIPMessage(bytes: Fixtures.bytes("adversarial/uri-many-params.sip"))
        #expect(try params.requestURI.params.count == 5000)
        let noBranch = try SIPMessage(bytes: Fixtures.bytes("adversarial/via-no-branch.sip"))
        try noBranch.validateForProcessing()
        #expect(try noBranch.topVia()?.branch == nil)
    }
}
