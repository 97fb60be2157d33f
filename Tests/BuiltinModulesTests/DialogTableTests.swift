import Testing
@testable import BuiltinModules

@Suite("dialog table")
struct DialogTableTests {
    let cid = Array("call-1".utf8)
    let caller = Array("ft".utf8)

    @Test("a dialog goes unconfirmed → early → confirmed → deleted, and the counters follow")
    func lifecycle() {
        let t = DialogTable(size: 16)
        let d = t.create(callID: cid, fromTag: caller, now: 100)
        #expect(d.state == .unconfirmed && t.stats.processed.load(ordering: .relaxed) == 1)
        t.update(d) { $0.toTag = Array("tt".utf8) }
        t.transition(d, to: .early, now: 101)
        #expect(t.stats.early.load(ordering: .relaxed) == 1)
        t.transition(d, to: .confirmedNoACK, now: 102)
        #expect(t.stats.early.load(ordering: .relaxed) == 0 && t.stats.active.load(ordering: .relaxed) == 1)
        #expect(d.started == 0)  // the 2xx handler sets it, after event_route[dialog:start]
        // a late provisional does not take it back to early
        t.transition(d, to: .early, now: 103)
        #expect(d.state == .confirmedNoACK)
        t.transition(d, to: .confirmed, now: 104)
        #expect(t.stats.active.load(ordering: .relaxed) == 1)
        t.transition(d, to: .deleted, now: 105)
        #expect(t.stats.active.load(ordering: .relaxed) == 0 && t.stats.failed.load(ordering: .relaxed) == 0)
        #expect(t.count == 0)
    }

    @Test("idle release frees the storage of emptied buckets only, and the table still works")
    func releaseEmptyStorage() {
        let t = DialogTable(size: 16)
        #expect(t.releaseEmptyStorage() == 0)  // never used: nothing allocated
        let a = t.create(callID: cid, fromTag: caller, now: 0)
        let b = t.create(callID: Array("call-2".utf8), fromTag: caller, now: 0)
        t.transition(a, to: .deleted, now: 1)
        t.remove(a)
        #expect(t.releaseEmptyStorage() == (a.entry == b.entry ? 0 : 1))
        #expect(t.find(entry: b.entry, id: b.id) === b)
        #expect(t.releaseEmptyStorage() == 0)
        let c = t.create(callID: cid, fromTag: caller, now: 2)
        #expect(t.find(callID: cid, fromTag: caller[...], toTag: nil) === c)
    }

    @Test("in-dialog requests match in both directions; a failed dialog counts as failed")
    func matching() {
        let t = DialogTable(size: 16)
        let d = t.create(callID: cid, fromTag: caller, now: 0)
        t.update(d) { $0.toTag = Array("tt".utf8) }
        #expect(t.find(callID: cid, fromTag: caller[...], toTag: Array("tt".utf8)[...]) === d)
        // the callee's BYE: tags swapped (RFC 3261 §12.2.1.1)
        #expect(t.find(callID: cid, fromTag: Array("tt".utf8)[...], toTag: caller[...]) === d)
        #expect(t.find(callID: cid, fromTag: Array("xx".utf8)[...], toTag: caller[...]) == nil)
        #expect(t.find(callID: Array("other".utf8), fromTag: caller[...], toTag: nil) == nil)
        t.transition(d, to: .deleted, now: 1)
        #expect(t.stats.failed.load(ordering: .relaxed) == 1)
        #expect(t.find(callID: cid, fromTag: caller[...], toTag: nil) == nil)
    }

    @Test("buckets are Kamailio's core_hash of the Call-ID (h_entry values a Kamailio dialog table accepts)")
    func kamailioHash() {
        let t = DialogTable(size: 4096)
        // h_entry values Kamailio 5.6.3 gave these Call-IDs
        #expect(t.bucket(Array("1-6623@127.0.0.1".utf8)) == 3726 && t.bucket(Array("1-10852@127.0.0.1".utf8)) == 135)
    }
}
