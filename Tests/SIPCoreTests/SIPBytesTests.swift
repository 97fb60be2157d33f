import Testing
@testable import SIPCore

@Suite("Byte helpers")
struct SIPBytesTests {
    @Test("integers parse with leading zeros and reject overflow instead of wrapping")
    func integers() {
        #expect(SIPBytes.parseUInt(ArraySlice("0068".utf8), max: 255) == 68)
        #expect(SIPBytes.parseUInt(ArraySlice("4294967295".utf8), max: UInt64(UInt32.max)) == 4294967295)
        #expect(SIPBytes.parseUInt(ArraySlice("4294967296".utf8), max: UInt64(UInt32.max)) == nil)
        #expect(SIPBytes.parseUInt(ArraySlice("99999999999999999999999".utf8), max: UInt64.max) == nil)
        #expect(SIPBytes.parseUInt(ArraySlice("-1".utf8), max: 10) == nil)
        #expect(SIPBytes.parseUInt(ArraySlice("".utf8), max: 10) == nil)
        #expect(SIPBytes.parseUInt(ArraySlice("1 2".utf8), max: 100) == nil)
        #expect(SIPBytes.parseUIntSaturating(ArraySlice("300".utf8), limit: 255) == 255)
        #expect(SIPBytes.parseUIntSaturating(ArraySlice("99999999999999999999999999".utf8), limit: 255) == 255)
        #expect(SIPBytes.parseUIntSaturating(ArraySlice("0012".utf8), limit: 255) == 12)
        #expect(SIPBytes.parseUIntSaturating(ArraySlice("-1".utf8), limit: 255) == nil)
    }

    @Test("case-insensitive equality and LWS trimming")
    func compareAndTrim() {
        #expect(SIPBytes.equalsIgnoringCase(Array("Call-ID".utf8), Array("cALL-id".utf8)))
        #expect(!SIPBytes.equalsIgnoringCase(Array("Call-ID".utf8), Array("Call-IE".utf8)))
        #expect(!SIPBytes.equalsIgnoringCase(Array("a".utf8), Array("ab".utf8)))
        #expect(SIPBytes.equalsLower(ArraySlice("BRANCH".utf8), "branch"))
        #expect(str(SIPBytes.trimLWS(ArraySlice(" \t\r\n x y \r\n ".utf8))) == "x y")
        #expect(SIPBytes.trimLWS(ArraySlice("  ".utf8)).isEmpty)
    }

    @Test("percent decoding and unfolding")
    func decode() {
        #expect(SIPBytes.percentDecode(ArraySlice("a%20b%41".utf8)).map(str) == "a bA")
        #expect(SIPBytes.percentDecode(ArraySlice("a%2".utf8)) == nil)
        #expect(SIPBytes.percentDecode(ArraySlice("%zz".utf8)) == nil)
        #expect(str(SIPBytes.unfold(ArraySlice("a\r\n b\n\tc".utf8))) == "a b c")
        var digits: [UInt8] = []
        SIPBytes.appendDecimal(65535, to: &digits)
        SIPBytes.appendDecimal(0, to: &digits)
        #expect(str(digits) == "655350")
        for v in [1, 9, 10, 11, 99, 100, 101, 1_000_000, 4_294_967_295, Int.max, -1, -10, -907, Int.min]
            + (0..<200).map({ _ in Int.random(in: Int.min...Int.max) }) {
            var out: [UInt8] = [120]
            SIPBytes.appendDecimal(v, to: &out)
            #expect(str(out) == "x\(v)")
        }
    }

    @Test("quote and bracket balance checks, short and long values, escapes at the end")
    func balance() {
        func ok(_ text: String) -> Bool {
            let b = Array(text.utf8)
            return b.withUnsafeBufferPointer { buf in
                (try? SIPScanner.checkBalanced(buf, 0..<buf.count)) != nil
            }
        }
        #expect(ok(""))
        #expect(ok("Digest realm=\"example.com\", nonce=\"abc\""))
        #expect(ok("\"Alice \\\"The Great\\\" Liddell and a long tail\" <sip:alice@atlanta.example.com>"))
        #expect(ok("\"a<b\" <sip:x@y>, <sip:z@w;lr>"))
        #expect(ok("\"ends in escaped backslash\\\\\""))
        #expect(!ok("Digest realm=\"example.com, nonce=abc"))
        #expect(!ok("\"escaped quote at the very end\\\""))
        #expect(!ok("<sip:alice@atlanta.example.com;transport=tcp"))
        #expect(!ok("\"x\" <sip:a@b>, <sip:c@d"))
        let long = String(repeating: "a", count: 1000)
        #expect(ok("\"\(long)\" <sip:\(long)@b>"))
        #expect(!ok("\"\(long) <sip:a@b>"))
    }
}
