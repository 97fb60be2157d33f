import Testing
@testable import BuiltinModules
import SIPCore

@Suite("sl statistics")
struct SLStatisticsTests {
    @Test("codes sl singles out count on their own; the rest count in their class, as Kamailio's sl:")
    func perCode() {
        let s = SLStatistics()
        s.count(200)
        s.count(200)
        s.count(201)
        s.count(404)
        s.count(486)
        s.count(99)
        #expect(s.replies(code: 200) == 2)
        #expect(s.replies(code: 404) == 1)
        #expect(s.replies(code: 201) == 0)
        #expect(s.repliesByClass[2] == 1)
        #expect(s.repliesByClass[4] == 1)
        #expect(s.totalReplies == 5)
    }
}

@Suite("sl ACK filter")
struct SLACKFilterTests {
    func ack(toTag: String) throws -> SIPMessage {
        let text = "ACK sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ack1\r\n"
            + "From: <sip:alice@127.0.0.1>;tag=a1\r\nTo: <sip:bob@127.0.0.1>;tag=\(toTag)\r\n"
            + "Call-ID: acktest@127.0.0.1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
        return try SIPMessage(bytes: Array(text.utf8))
    }

    @Test("the ACK of sl's own reply is absorbed; one carrying another tag, long or short, goes on")
    func absorbsOnlyOwnTag() throws {
        let sl = SLModule(runtime: CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false }))
        let probe = try ack(toTag: "x")
        let ours = String(decoding: SIPReplyBuilder.toTag(for: probe), as: UTF8.self)
        #expect(ours.count == 16)
        #expect(sl.absorbsACK(try ack(toTag: ours)))
        #expect(!sl.absorbsACK(try ack(toTag: "0123456789abcdef")))
        #expect(!sl.absorbsACK(try ack(toTag: "1234SIPpTag01")))
        #expect(sl.stats.filteredACKs.load(ordering: .relaxed) == 1)
    }
}
