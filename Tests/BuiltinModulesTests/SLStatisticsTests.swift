import Testing
@testable import BuiltinModules

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
