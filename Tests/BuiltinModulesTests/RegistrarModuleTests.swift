import Testing
import SIPCore
import SIPTransport
import ScriptEngine
import Control
@testable import BuiltinModules

/// A REGISTER for `user@sip.test` with the given contact lines and headers.
func register(_ user: String = "alice", cseq: Int = 1, callID: String = "reg-1", contacts: [String] = [],
              extra: [String] = []) -> String {
    var lines = ["REGISTER sip:sip.test SIP/2.0",
                 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK\(cseq)",
                 "From: <sip:\(user)@sip.test>;tag=a1",
                 "To: <sip:\(user)@sip.test>",
                 "Call-ID: \(callID)",
                 "CSeq: \(cseq) REGISTER",
                 "Max-Forwards: 70"]
    lines += contacts.map { "Contact: \($0)" }
    lines += extra
    lines += ["Content-Length: 0", "", ""]
    return lines.joined(separator: "\n")
}

/// The registrar harness: save() on REGISTER, lookup() on anything else.
func registrarHarness(_ params: String = "") throws -> ModuleHarness {
    try ModuleHarness("""
    loadmodule "usrloc.so"
    loadmodule "registrar.so"
    loadmodule "textops.so"
    modparam("registrar", "max_contacts", 3)
    modparam("registrar", "min_expires", 60)
    modparam("registrar", "max_expires", 7200)
    \(params)
    request_route {
        if (is_method("REGISTER")) { save("location"); exit; }
        lookup("location");
    }
    """)
}

extension ModuleHarness {
    /// The `location` table's bindings of `aor`, in lookup order.
    func bindings(_ aor: String) -> [UsrlocContact] {
        modules.usrloc.table("location").contacts(of: aor, now: UsrlocModule.now())
    }
}

@Suite("registrar and usrloc")
struct RegistrarModuleTests {
    @Test("save stores each contact with its expires; a REGISTER without Contact changes nothing")
    func saveAndFetch() throws {
        let h = try registrarHarness()
        let ctx = try h.run(register(contacts: ["<sip:alice@192.0.2.1:5060>;expires=120", "<sip:alice@192.0.2.2>"],
                                     extra: ["Expires: 600", "User-Agent: phone/1"]))
        #expect(ctx.core.lastError == nil)
        let b = h.bindings("alice")
        #expect(b.map(\.contact) == ["sip:alice@192.0.2.1:5060", "sip:alice@192.0.2.2"])
        let now = UsrlocModule.now()
        #expect(b.map { $0.expires - now }.allSatisfy { (118...120).contains($0) || (598...600).contains($0) })
        #expect(b[0].userAgent == "phone/1" && b[0].callID == "reg-1" && b[0].cseq == 1)
        _ = try h.run(register(cseq: 2))
        #expect(h.bindings("alice").count == 2)
    }

    @Test("a shorter expires is raised to min_expires, a longer one cut to max_expires")
    func expiresLimits() throws {
        let h = try registrarHarness()
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>;expires=5", "<sip:b@192.0.2.1>;expires=99999"]))
        let now = UsrlocModule.now()
        let e = Dictionary(uniqueKeysWithValues: h.bindings("alice").map { ($0.contact, $0.expires - now) })
        #expect((58...60).contains(e["sip:a@192.0.2.1"] ?? 0))
        #expect((7198...7200).contains(e["sip:b@192.0.2.1"] ?? 0))
    }

    @Test("min_expires_mode 1 refuses a too brief interval with 423 and stores nothing")
    func intervalTooBrief() throws {
        let h = try registrarHarness(#"modparam("registrar", "min_expires_mode", 1)"#)
        let ctx = try h.run(register(contacts: ["<sip:a@192.0.2.1>"], extra: ["Expires: 10"]))
        #expect(ctx.core.lastError?.code == 423)
        #expect(h.bindings("alice").isEmpty)
    }

    @Test("Expires 0 removes one binding, Contact * with Expires 0 removes all, * without it is 400")
    func removal() throws {
        let h = try registrarHarness()
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>", "<sip:b@192.0.2.1>"]))
        _ = try h.run(register(cseq: 2, contacts: ["<sip:a@192.0.2.1>;expires=0"]))
        #expect(h.bindings("alice").map(\.contact) == ["sip:b@192.0.2.1"])
        let bad = try h.run(register(cseq: 3, contacts: ["*"], extra: ["Expires: 30"]))
        #expect(bad.core.lastError?.code == 400)
        #expect(h.bindings("alice").count == 1)
        _ = try h.run(register(cseq: 4, contacts: ["*"], extra: ["Expires: 0"]))
        #expect(h.bindings("alice").isEmpty)
        #expect(h.modules.usrloc.table("location").stats.users.load(ordering: .relaxed) == 0)
        let stats = RPCStatistics()
        h.modules.usrloc.registerStatistics(in: stats)
        #expect(stats.value(group: "registrar", name: "accepted_regs") == 3)
        #expect(stats.value(group: "registrar", name: "rejected_regs") == 1)
        #expect(stats.value(group: "usrloc", name: "location-contacts") == 0)
    }

    @Test("a lower CSeq on the same Call-ID is out of order (400); an equal one refreshes")
    func cseqOrdering() throws {
        let h = try registrarHarness()
        _ = try h.run(register(cseq: 5, contacts: ["<sip:a@192.0.2.1>"]))
        let old = try h.run(register(cseq: 4, contacts: ["<sip:a@192.0.2.1>;expires=0"]))
        #expect(old.core.lastError?.code == 400)
        #expect(h.bindings("alice").count == 1)
        let same = try h.run(register(cseq: 5, contacts: ["<sip:a@192.0.2.1>"]))
        #expect(same.core.lastError == nil)
        // another Call-ID (another client) may remove it whatever its CSeq (§10.3 step 7)
        _ = try h.run(register(cseq: 1, callID: "other", contacts: ["<sip:a@192.0.2.1>;expires=0"]))
        #expect(h.bindings("alice").isEmpty)
    }

    @Test("more contacts than max_contacts are refused with 503 and nothing changes")
    func maxContacts() throws {
        let h = try registrarHarness()
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>"]))
        let ctx = try h.run(register(cseq: 2, contacts: (1...3).map { "<sip:x\($0)@192.0.2.1>" }))
        #expect(ctx.core.lastError?.code == 503)
        #expect(h.bindings("alice").map(\.contact) == ["sip:a@192.0.2.1"])
    }

    @Test("lookup puts the highest q contact in the R-URI and the others in q order as branches")
    func lookupOrder() throws {
        let h = try registrarHarness()
        _ = try h.run(register(contacts: ["<sip:low@192.0.2.1>;q=0.1", "<sip:none@192.0.2.2>",
                                          "<sip:high@192.0.2.3>;q=0.9"]))
        let ctx = try h.run(request("INVITE").replacingOccurrences(of: "sip:bob@example.com SIP", with: "sip:alice@sip.test SIP"))
        #expect(h.lastResult?.code == 1)
        #expect(String(decoding: ctx.requestURIBytes, as: UTF8.self) == "sip:high@192.0.2.3")
        #expect(ctx.tm.branches.map { String(decoding: $0.uri, as: UTF8.self) } == ["sip:low@192.0.2.1", "sip:none@192.0.2.2"])
        #expect(ctx.tm.branches.map(\.q) == [100, 1000])
        let miss = try h.run(request("INVITE").replacingOccurrences(of: "sip:bob@example.com SIP", with: "sip:nobody@sip.test SIP"))
        #expect(h.lastResult?.code == -1)
        #expect(!miss.requestURIChanged)
    }

    @Test("use_path stores the Path and lookup sends to its first hop with a Route")
    func path() throws {
        let h = try registrarHarness(#"modparam("registrar", "use_path", 1)"#)
        _ = try h.run(register(contacts: ["<sip:a@10.0.0.1>"], extra: ["Path: <sip:edge.test;lr>"]))
        #expect(h.bindings("alice").first?.path == "<sip:edge.test;lr>")
        let ctx = try h.run(request("INVITE").replacingOccurrences(of: "sip:bob@example.com SIP", with: "sip:alice@sip.test SIP"))
        #expect(ctx.destinationURI.map { String(decoding: $0, as: UTF8.self) } == "sip:edge.test;lr")
        #expect(wire(ctx).contains("Route: <sip:edge.test;lr>\r\n"))
    }

    @Test("registered, unregister, reg_fetch_contacts and $ulc work on the same table")
    func helpers() throws {
        let h = try ModuleHarness("""
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "textops.so"
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            if (!registered("location")) { $avp(r) = "no"; exit; }
            reg_fetch_contacts("location", "$ru", "c");
            $avp(n) = $ulc(c=>count);
            $avp(a) = $(ulc(c=>addr)[1]);
            unregister("location", "$ru");
            if (registered("location")) { $avp(r) = "still"; } else { $avp(r) = "gone"; }
        }
        """)
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>;q=0.9", "<sip:b@192.0.2.1>;q=0.5"]))
        let ctx = try h.run(request("INVITE").replacingOccurrences(of: "sip:bob@example.com SIP", with: "sip:alice@sip.test SIP"))
        #expect(ctx.avps["n"] == [.int(2)])
        #expect(ctx.avps["a"] == [.string("sip:b@192.0.2.1")])
        #expect(ctx.avps["r"] == [.string("gone")])
    }

    @Test("lookup_branches resolves the R-URI and every branch that is a registered AoR")
    func lookupBranches() throws {
        let h = try ModuleHarness("""
        loadmodule "usrloc.so"
        loadmodule "registrar.so"
        loadmodule "textops.so"
        loadmodule "tm.so"
        request_route {
            if (is_method("REGISTER")) { save("location"); exit; }
            append_branch("sip:bob@sip.test");
            append_branch("sip:stranger@elsewhere.test");
            lookup_branches("location");
            add_sock_hdr("X-Sock");
        }
        """)
        _ = try h.run(register("alice", contacts: ["<sip:a@192.0.2.1>"]))
        _ = try h.run(register("bob", contacts: ["<sip:b1@192.0.2.2>", "<sip:b2@192.0.2.3>"]))
        let ctx = try h.run(request("INVITE").replacingOccurrences(of: "sip:bob@example.com SIP", with: "sip:alice@sip.test SIP"))
        #expect(h.lastResult?.code == 1)
        #expect(String(decoding: ctx.requestURIBytes, as: UTF8.self) == "sip:a@192.0.2.1")
        #expect(ctx.tm.branches.map { String(decoding: $0.uri, as: UTF8.self) }
                == ["sip:b1@192.0.2.2", "sip:b2@192.0.2.3", "sip:stranger@elsewhere.test"])
        #expect(wire(ctx).contains("X-Sock: udp:127.0.0.1:5060\r\n"))
    }

    @Test("use_domain keys bindings by user@domain")
    func useDomain() throws {
        let h = try registrarHarness(#"modparam("usrloc", "use_domain", 1)"#)
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>"]))
        #expect(h.bindings("alice@sip.test").count == 1)
        #expect(h.bindings("alice").isEmpty)
    }

    @Test("the timer removes expired bindings")
    func expiry() throws {
        let h = try registrarHarness()
        _ = try h.run(register(contacts: ["<sip:a@192.0.2.1>;expires=60"]))
        h.modules.usrloc.timerTick(now: UsrlocModule.now() + 61)
        #expect(h.modules.usrloc.table("location").allRecords().isEmpty)
        #expect(h.modules.usrloc.table("location").stats.expired.load(ordering: .relaxed) == 1)
    }

    @Test("q-values parse per RFC 3261 qvalue and print as Kamailio does")
    func qValues() {
        #expect(UsrlocContact.parseQ(Array("0.5".utf8)) == 500)
        #expect(UsrlocContact.parseQ(Array("1.000".utf8)) == 1000)
        #expect(UsrlocContact.parseQ(Array("1.5".utf8)) == nil)
        #expect(UsrlocContact.parseQ(Array("0.1234".utf8)) == nil)
        #expect(UsrlocContact.parseQ(Array("x".utf8)) == nil)
        var c = UsrlocContact(ruid: "r", aor: "a", contact: "sip:a@b", expires: 0, q: 250, callID: "c", cseq: 1, lastModified: 0)
        #expect(c.qText == "0.25")
        c.q = 1000
        #expect(c.qText == "1")
        c.q = -1
        #expect(c.qText == nil)
    }
}
