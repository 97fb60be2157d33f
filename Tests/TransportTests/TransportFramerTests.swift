import Testing
@testable import SIPTransport

/// Feeds `chunks` one by one and collects every event up to the final `.needMoreData`.
private func frame(_ chunks: [[UInt8]], framer: inout TransportStreamFramer) throws -> [TransportStreamFramer.Output] {
    var out: [TransportStreamFramer.Output] = []
    for chunk in chunks {
        framer.append(chunk)
        while true {
            let o = try framer.next()
            if o == .needMoreData { break }
            out.append(o)
        }
    }
    return out
}

private func frame(_ chunks: [[UInt8]], maxMessage: Int = 65535, maxHeader: Int = 65535) throws -> [TransportStreamFramer.Output] {
    var f = TransportStreamFramer(maxMessageSize: maxMessage, maxHeaderBytes: maxHeader)
    return try frame(chunks, framer: &f)
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

private func framingError(_ chunks: [[UInt8]], maxMessage: Int = 65535, maxHeader: Int = 65535) -> TransportStreamFramer.FramingError? {
    do {
        _ = try frame(chunks, maxMessage: maxMessage, maxHeader: maxHeader)
        return nil
    } catch let e as TransportStreamFramer.FramingError {
        return e
    } catch {
        return nil
    }
}

@Suite("Stream framer (RFC 3261 §18.3)")
struct TransportFramerTests {
    let invite = sipRequest("INVITE", body: "v=0\r\n", callID: "a")
    let bye = sipRequest("BYE", callID: "b")

    @Test("a message with a body comes out whole and exact")
    func singleMessage() throws {
        #expect(try frame([invite]) == [.message(invite)])
    }

    @Test("a message fed one byte at a time is framed once complete")
    func byteByByte() throws {
        var f = TransportStreamFramer()
        var out: [TransportStreamFramer.Output] = []
        for (i, b) in invite.enumerated() {
            out += try frame([[b]], framer: &f)
            if i < invite.count - 1 { #expect(out.isEmpty) }
        }
        #expect(out == [.message(invite)])
    }

    @Test("two pipelined messages in one read come out in order")
    func pipelined() throws {
        #expect(try frame([invite + bye]) == [.message(invite), .message(bye)])
    }

    @Test("a read ending inside the second message keeps the rest for later")
    func splitSecond() throws {
        let all = invite + bye
        let cut = invite.count + 10
        #expect(try frame([Array(all[0..<cut]), Array(all[cut...])]) == [.message(invite), .message(bye)])
    }

    @Test("the body split across reads waits for its last byte")
    func bodySplit() throws {
        let cut = invite.count - 2
        var f = TransportStreamFramer()
        #expect(try frame([Array(invite[0..<cut])], framer: &f).isEmpty)
        #expect(f.hasPartialMessage)
        #expect(try frame([Array(invite[cut...])], framer: &f) == [.message(invite)])
        #expect(!f.hasPartialMessage)
    }

    @Test("CRLFs before and between messages are skipped")
    func leadingCRLF() throws {
        #expect(try frame([bytes("\r\n") + invite + bytes("\r\n") + bye]) == [.message(invite), .message(bye)])
    }

    @Test("a CRLFCRLF keep-alive ping yields one pong event, also when split")
    func keepAlive() throws {
        #expect(try frame([bytes("\r\n\r\n")]) == [.keepAlivePing])
        #expect(try frame([bytes("\r\n"), bytes("\r\n")]) == [.keepAlivePing])
        #expect(try frame([bytes("\r\n\r\n") + invite]) == [.keepAlivePing, .message(invite)])
        var f = TransportStreamFramer()
        #expect(try frame([bytes("\r\n")], framer: &f).isEmpty)
        #expect(!f.hasPartialMessage)
    }

    @Test("a missing Content-Length means an empty body")
    func missingContentLength() throws {
        let m = bytes("OPTIONS sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n")
        #expect(try frame([m + m]) == [.message(m), .message(m)])
    }

    @Test("compact l, any case and LWS around the colon and value are understood")
    func contentLengthSpellings() throws {
        for header in ["l: 3", "L:3", "content-LENGTH :  3  ", "Content-Length:\t3", "Content-Length:\r\n  3"] {
            let m = bytes("MESSAGE sip:a SIP/2.0\r\n\(header)\r\nTo: b\r\n\r\nabc")
            #expect(try frame([m + bye]) == [.message(m), .message(bye)], "header \(header)")
        }
    }

    @Test("headers that merely start like Content-Length are not taken for it")
    func lookalikeHeaders() throws {
        let m = bytes("MESSAGE sip:a SIP/2.0\r\nContent-Length-X: 99\r\nLocation: 7\r\nContent-Length: 1\r\n\r\nz")
        #expect(try frame([m]) == [.message(m)])
    }

    @Test("bare LF line endings frame too")
    func bareLF() throws {
        let m = bytes("MESSAGE sip:a SIP/2.0\nContent-Length: 2\n\nhi")
        #expect(try frame([m]) == [.message(m)])
    }

    @Test("an invalid Content-Length is a framing error", arguments: ["abc", "-1", "1 2", "", "+5", "0x10"])
    func invalidContentLength(value: String) {
        let m = bytes("MESSAGE sip:a SIP/2.0\r\nContent-Length: \(value)\r\n\r\n")
        #expect(framingError([m]) == .invalidContentLength)
    }

    @Test("two different Content-Length headers are a framing error")
    func conflictingContentLength() {
        let m = bytes("MESSAGE sip:a SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab")
        #expect(framingError([m]) == .invalidContentLength)
    }

    @Test("a huge or overflowing Content-Length is refused without overflow",
          arguments: ["65536", "4294967296", "99999999999999999999999999"])
    func hugeContentLength(value: String) {
        let m = bytes("MESSAGE sip:a SIP/2.0\r\nContent-Length: \(value)\r\n\r\n")
        #expect(framingError([m]) == .messageTooLarge)
    }

    @Test("headers plus body above maxMessageSize are refused")
    func messageTooLarge() {
        let m = bytes("MESSAGE sip:a SIP/2.0\r\nContent-Length: 60\r\n\r\n")
        #expect(framingError([m], maxMessage: 80) == .messageTooLarge)
    }

    @Test("a header block without an end beyond maxHeaderBytes is refused, even split")
    func headerTooLarge() {
        let long = bytes("INVITE sip:a SIP/2.0\r\nX: " + String(repeating: "a", count: 200))
        #expect(framingError([long], maxHeader: 100) == .headerTooLarge)
        #expect(framingError(stride(from: 0, to: long.count, by: 7).map { Array(long[$0..<min($0 + 7, long.count)]) },
                             maxHeader: 100) == .headerTooLarge)
        let complete = long + bytes("\r\n\r\n")
        #expect(framingError([complete], maxHeader: 100) == .headerTooLarge)
    }

    @Test("a 54 KB Contact header passes with the default limits")
    func bigContact() throws {
        let contacts = (0..<1900).map { "<sip:user\($0)@192.0.2.1:5060>" }.joined(separator: ",")
        let m = bytes("REGISTER sip:example.com SIP/2.0\r\nContact: \(contacts)\r\nContent-Length: 0\r\n\r\n")
        #expect(m.count > 54_000 && m.count < 65535)
        let chunks = stride(from: 0, to: m.count, by: 1400).map { Array(m[$0..<min($0 + 1400, m.count)]) }
        #expect(try frame(chunks) == [.message(m)])
    }

    @Test("consumed bytes are released, so a long stream does not grow the buffer")
    func compaction() throws {
        var f = TransportStreamFramer()
        for _ in 0..<2000 { _ = try frame([invite], framer: &f) }
        #expect(f.bufferedByteCount == 0)
    }
}
