import Testing
@testable import SIPCore

@Suite("From/To tag scanner")
struct SIPTagScannerTests {
    /// What the full parser says the tag is (outer nil: it rejects the value).
    func fullTag(_ text: String) -> ArraySlice<UInt8>?? {
        guard let na = try? SIPNameAddr(bytes: ArraySlice(Array(text.utf8))) else { return nil }
        return .some(na.tag)
    }

    func scanned(_ text: String) -> ArraySlice<UInt8>?? {
        let b = Array(text.utf8)
        return SIPTagScanner.tag(in: b[...])
    }

    @Test("the common forms give the full parser's tag without parsing")
    func commonForms() {
        let cases: [(String, String?)] = [
            ("<sip:alice@a.example>;tag=1928301774", "1928301774"),
            ("\"Alice \\\"A\\\" Liddell\" <sip:alice@a.example;tag=inuri>;tag=abc", "abc"),
            ("Alice <sip:alice@a.example>  ;  TAG = x-1.2 ;foo=bar", "x-1.2"),
            ("sip:alice@a.example;tag=t9", "t9"),
            ("<sip:bob@b.example>", nil),
            ("sip:bob@b.example", nil),
            ("<sip:bob@b.example>;foo;tag=z", "z"),
        ]
        for (text, tag) in cases {
            let s = scanned(text)
            #expect(s != nil, "scanner gave up on \(text)")
            #expect(s.flatMap { $0.map { String(decoding: $0, as: UTF8.self) } } == tag, "\(text)")
            #expect(fullTag(text).flatMap { $0.map { String(decoding: $0, as: UTF8.self) } } == tag, "\(text)")
        }
    }

    @Test("odd forms go to the full parser instead of being guessed")
    func givesUp() {
        for text in ["<sip:a@b>;tag=1;tag=2", "<sip:a@b>;tag", "<sip:a@b>;tag=\"q\"", "sip:a@b?x=y;tag=1",
                     "<sip:a@b;tag=1", "\"unterminated <sip:a@b>;tag=1", "<sip:a@b> junk;tag=1", "sip:a@b x;tag=1", ""] {
            #expect(scanned(text) == nil, "\(text)")
        }
    }

    @Test("on every From and To of the torture and adversarial fixtures the scanner agrees with the full parser or gives up")
    func agreesOnFixtures() throws {
        var checked = 0
        for row in Fixtures.manifest {
            guard let msg = try? SIPMessage(bytes: Fixtures.bytes(row.file)) else { continue }
            for f in msg.headers where f.kind == .from || f.kind == .to {
                let value = msg.bytes[f.value]
                guard let s = SIPTagScanner.tag(in: value) else { continue }
                checked += 1
                if let full = try? SIPNameAddr(bytes: value) {
                    #expect(s.map(Array.init) == full.tag.map(Array.init), "\(row.file): \(String(decoding: value, as: UTF8.self))")
                }
            }
        }
        #expect(checked > 50)
    }
}
