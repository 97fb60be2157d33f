import Shared
import Testing
@testable import kamcon

@Suite("Model parsing of real reply captures")
struct KamconModelParsingTests {
    @Test("tm.list splits transactions merged into one hash bucket, over JSON and binrpc alike")
    func transactionsSplitPerBucket() {
        var seen: [String: Double] = [:]
        let json = TransactionRow.parse([KamconFixtures.tmListJSON], now: 100, firstSeen: &seen)
        #expect(json.count == 3)
        #expect(json[0].id == "34796:2123773766")
        #expect(json[1].id == "34796:2123773765")
        #expect(json[1].state == "local")
        #expect(json[1].branches == 2)
        #expect(json[0].from == "sip:rpc@127.0.0.1")
        #expect(json[2].callID == "1-26572@127.0.0.1")
        #expect(json[2].cseq == "1")
        var seen2: [String: Double] = [:]
        let bin = TransactionRow.parse(KamconFixtures.tmListBinrpc, now: 100, firstSeen: &seen2)
        #expect(bin.map(\.id) == json.map(\.id))
    }

    @Test("transaction ages count from first sight and forget vanished ids")
    func transactionAges() {
        var seen: [String: Double] = [:]
        _ = TransactionRow.parse([KamconFixtures.tmListJSON], now: 100, firstSeen: &seen)
        let later = TransactionRow.parse([KamconFixtures.tmListJSON], now: 107, firstSeen: &seen)
        #expect(later.allSatisfy { $0.age == 7 })
        _ = TransactionRow.parse([.array([])], now: 110, firstSeen: &seen)
        #expect(seen.isEmpty)
    }

    @Test("dlg.list gives ids, states, tags and both kinds of profile")
    func dialogs() {
        let rows = DialogRow.parse([KamconFixtures.dlgListJSON])
        #expect(rows.count == 2)
        #expect(rows[0].id == "2376:11510")
        #expect(rows[0].stateName == "confirmed")
        #expect(rows[0].profiles == ["caller=sipp", "inbound"])
        #expect(rows[0].callerTag == "1538SIPpTag001")
        #expect(rows[0].liveDuration(now: 1795787776 + 600) == 600)
        #expect(rows[0].timeLeft(now: 1795831000) == 4)
        #expect(rows[1].stateName == "early")
        // binrpc delivers each dialog as its own top-level struct.
        let bin = DialogRow.parse(KamconFixtures.dlgListJSON.binrpcShaped.members?.map(\.value) ?? [])
        #expect(bin.map(\.id) == rows.map(\.id))
        #expect(bin.map(\.profiles) == rows.map(\.profiles))
    }

    @Test("ul.dump gives AoRs with contacts; unset strings and q -1 become empty")
    func registrations() {
        let recs = ModelRegistrations.parse([KamconFixtures.ulDumpJSON])
        #expect(recs.map(\.aor) == ["bob", "alice"])
        #expect(recs[0].table == "location")
        #expect(recs[0].contacts.count == 2)
        #expect(recs[0].contacts[0].q == nil)
        #expect(recs[0].contacts[0].received == "")
        #expect(recs[0].contacts[1].q == 0.5)
        #expect(recs[0].contacts[1].path == "<sip:edge>")
        #expect(ModelRegistrations.parse([KamconFixtures.ulDumpJSON.binrpcShaped]) == recs)
    }

    @Test("stats lines parse into group, name and value from either transport")
    func statistics() {
        let bin = StatCounter.parse(KamconFixtures.statsBinrpc)
        #expect(bin.count == 8)
        #expect(bin[0] == StatCounter(group: "core", name: "rcv_requests", value: 38))
        #expect(StatCounter.parse([.array(KamconFixtures.statsBinrpc)]) == bin)
        #expect(StatCounter.parse(["garbage"]).isEmpty)
    }

    @Test("uptime, memory, processes and flat number structs")
    func serverInfo() {
        var info = ServerInfo()
        info.setUptime([.object(["now": "x", "up_since": "Fri Nov 27 13:45:38 2026", "uptime": 251])], now: 5)
        #expect(info.uptime == 251)
        #expect(info.upSince == "Fri Nov 27 13:45:38 2026")
        let mem = MemoryInfo.parse([.object(["total": 1000, "free": 700, "used": 250, "real_used": 300, "max_used": 400])])
        #expect(mem == MemoryInfo(total: 1000, used: 300, maxUsed: 400, free: 700))
        let psx = ProcessRow.parse(psx: [.array([.object(["IDX": 0, "PID": 5713, "DSC": "main process - attendant"])])])
        #expect(psx == [ProcessRow(index: 0, pid: 5713, description: "main process - attendant")])
        #expect(ServerInfo.numbers([.object(["current": 2, "total": 9])]) == ["current": 2, "total": 9])
    }

    @Test("SIP header helpers strip names, find URIs and tags, format durations")
    func sipText() {
        #expect(ModelSIPText.headerValue("From: sipp <sip:a@b>;tag=x\r\n") == "sipp <sip:a@b>;tag=x")
        #expect(ModelSIPText.headerValue("sip:a@b") == "sip:a@b")
        #expect(ModelSIPText.uri("sipp <sip:a@b>;tag=x") == "sip:a@b")
        #expect(ModelSIPText.tag("<sip:a@b>;tag=x;foo") == "x")
        #expect(ModelSIPText.duration(59) == "59s")
        #expect(ModelSIPText.duration(61) == "1m01s")
        #expect(ModelSIPText.duration(3 * 3600 + 4 * 60) == "3h04m")
        #expect(ModelSIPText.duration(90_000) == "1d01h")
        #expect(ModelSIPText.bytes(2_978_344) == "2.8 MiB")
    }
}
