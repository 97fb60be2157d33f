import Shared
import Testing
@testable import kamcon

@Suite("Sorting, filtering, deltas, rates and reconnect state")
struct KamconModelListTests {
    @Test("filter matches any column case-insensitively; sort is stable and reversible")
    func filterAndSort() {
        var seen: [String: Double] = [:]
        let rows = TransactionRow.parse([KamconFixtures.tmListJSON], now: 0, firstSeen: &seen)
        var st = ModelListState()
        st.filter = "SIPP"
        #expect(ModelList.arrange(rows, columns: TransactionRow.columns, state: st).map(\.callID) == ["1-26572@127.0.0.1"])
        st.filter = ""
        st.sortColumn = 7  // branches
        let asc = ModelList.arrange(rows, columns: TransactionRow.columns, state: st)
        #expect(asc.map(\.branches) == [1, 1, 2])
        #expect(asc[0].id == "34796:2123773766")  // equal keys keep server order
        st.ascending = false
        #expect(ModelList.arrange(rows, columns: TransactionRow.columns, state: st).map(\.branches) == [2, 1, 1])
    }

    @Test("numbers sort as numbers, text naturally")
    func cellOrdering() {
        #expect(ModelCell.less(.number(9, "9"), .number(10, "10")))
        #expect(ModelCell.less(.text("alice"), .text("Bob")))
        #expect(ModelCell.less(.text("user2"), .text("user10")))
    }

    @Test("the selection follows its row when rows move")
    func reselect() {
        var st = ModelListState(selected: 0, selectedKey: "b")
        ModelList.reselect(&st, keys: ["a", "b", "c"])
        #expect(st.selected == 1)
        ModelList.reselect(&st, keys: ["x"])
        #expect(st.selected == 0 && st.selectedKey == "x")
        st.move(5, count: 3)
        #expect(st.selected == 2)
        st.scrollToSelection(rows: 2, count: 3)
        #expect(st.scroll == 1)
    }

    @Test("registration lines: AoR headings with contacts, search by AoR, sort by expiry")
    func registrationLines() {
        let recs = ModelRegistrations.parse([KamconFixtures.ulDumpJSON])
        var st = ModelListState()
        #expect(ModelRegistrations.lines(recs, state: st).map(\.key) == ["bob", "bob\u{1}sip:bob@127.0.0.1:25082",
                                                                          "bob\u{1}sip:bob@127.0.0.1:25083", "alice",
                                                                          "alice\u{1}sip:alice@127.0.0.1:25080"])
        st.filter = "ALI"
        #expect(ModelRegistrations.lines(recs, state: st).count == 2)
        st.filter = ""
        st.sortColumn = 1
        #expect(ModelRegistrations.lines(recs, state: st).first?.record.aor == "alice")
        st.ascending = false
        #expect(ModelRegistrations.lines(recs, state: st).first?.record.aor == "bob")
    }

    @Test("statistics deltas count from attach and never go negative after a reset")
    func deltas() {
        var book = StatisticsBook()
        book.update([StatCounter(group: "core", name: "rcv_requests", value: 100)], at: 0)
        book.update([StatCounter(group: "core", name: "rcv_requests", value: 130)], at: 2)
        var rows = book.rows(state: ModelListState())
        #expect(rows.count == 2)
        #expect(rows[0].isGroup)
        #expect(rows[1].delta == 30)
        #expect(rows[1].rate == 15)
        book.update([StatCounter(group: "core", name: "rcv_requests", value: 5)], at: 3)
        rows = book.rows(state: ModelListState())
        #expect(rows[1].delta == 0)
        #expect(rows[1].rate == 0)
        book.update([StatCounter(group: "core", name: "rcv_requests", value: 8)], at: 4)
        #expect(book.rows(state: ModelListState())[1].delta == 3)
    }

    @Test("statistics rows group, filter and sort within groups")
    func statisticsRows() {
        var book = StatisticsBook()
        book.update(StatCounter.parse(KamconFixtures.statsBinrpc), at: 0)
        var st = ModelListState()
        #expect(book.rows(state: st).filter(\.isGroup).map(\.counter.group) == ["core", "sl", "usrloc", "dialog", "shmem"])
        st.filter = "404"
        let filtered = book.rows(state: st)
        #expect(filtered.count == 2)
        #expect(filtered[1].counter.key == "sl:404_replies")
        st.filter = ""
        st.sortColumn = 1
        st.ascending = false
        let core = book.rows(state: st).filter { $0.counter.group == "core" && !$0.isGroup }
        #expect(core.map(\.counter.value) == [38, 20, 1])
    }

    @Test("rates: counters become per-second, gauges stay levels, restarts do not spike")
    func rates() {
        var s = RateSeries(gauge: false)
        s.add(10, at: 0)
        s.add(30, at: 2)
        #expect(s.current == 10)
        s.add(5, at: 3)  // restarted daemon
        #expect(s.points == [10])
        s.add(9, at: 5)
        #expect(s.current == 2)
        var g = RateSeries(gauge: true)
        g.add(3, at: 0)
        #expect(g.current == 3)
        for i in 0..<200 { g.add(i, at: Double(i)) }
        #expect(g.points.count == RateSeries.capacity)
    }

    @Test("the rate book reads requests and reply classes from core and sl counters")
    func rateBook() {
        var book = RateBook()
        var stats = StatisticsBook()
        stats.update(StatCounter.parse(KamconFixtures.statsBinrpc), at: 0)
        book.sample(stats: stats, info: ServerInfo(), contacts: 4, at: 0)
        stats.update(StatCounter.parse(["core:rcv_requests = 48", "sl:200_replies = 9", "core:rcv_replies_2xx = 20",
                                        "usrloc:location-contacts = 4"]), at: 1)
        book.sample(stats: stats, info: ServerInfo(), contacts: 4, at: 1)
        #expect(book["requests"].current == 10)
        #expect(book["replies_2xx"].current == 2)
        #expect(book["registrations"].current == 4)
    }

    @Test("connection state: backs off, says why, counts reconnects")
    func connection() {
        var c = ConnectionState(now: 0)
        #expect(c.shouldAttempt(at: 0))
        c.failed("connect: No such file or directory", at: 0)
        #expect(c.phase == .disconnected)
        #expect(!c.shouldAttempt(at: 0.5))
        #expect(c.shouldAttempt(at: 1))
        c.failed("again", at: 1)
        #expect(c.nextAttempt == 3)
        c.failed("again", at: 3)
        c.failed("again", at: 7)
        c.failed("again", at: 15)
        #expect(c.retryDelay == 5)
        #expect(c.summary(address: "unix:/x", now: 16).hasPrefix("DISCONNECTED from unix:/x for 16s: again"))
        c.connected(at: 20)
        #expect(c.summary(address: "unix:/x", now: 21) == "connected to unix:/x")
        c.failed("gone", at: 30)
        c.connected(at: 31)
        #expect(c.connects == 2)
        #expect(c.summary(address: "a", now: 31).contains("reconnected"))
    }
}
