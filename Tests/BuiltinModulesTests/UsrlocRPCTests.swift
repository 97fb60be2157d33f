import Control
import Foundation
import Shared
import Testing
@testable import BuiltinModules

/// The member called `name` of a struct value, or nil.
private func member(_ v: RPCValue?, _ name: String) -> RPCValue? { v?[name] }

/// The single value of a successful call.
private func single(_ o: RPCOutcome) -> RPCValue? {
    if case .values(let v) = o, v.count == 1 { return v[0] }
    return nil
}

/// The contact addresses `ul.lookup` lists for `aor`.
private func lookedUp(_ r: RPCRegistry, _ aor: String) -> [String] {
    guard case .array(let list) = member(single(rpc(r, "ul.lookup", "location", .string(aor))), "Contacts") else { return [] }
    return list.compactMap { member(member($0, "Contact"), "Address")?.stringValue }
}

@Suite("usrloc RPC")
struct UsrlocRPCTests {
    @Test("add, lookup, dump, rm_contact and rm with Kamailio's replies and faults")
    func memoryTable() throws {
        let h = try registrarHarness()
        let r = rpcRegistry(h)
        let add: [RPCValue] = ["location", "erin", "sip:erin@127.0.0.1:25095", .int(3600), .double(0.5), ".",
                               .int(0), .int(0), .int(4_294_967_295)]
        #expect(r.execute("ul.add", params: add, transport: .jsonRPC) == .values([]))
        // the first captured exchange: path given as a number is the wrong format
        var bad = add
        bad[5] = .int(0)
        #expect(rpc(r, "ul.add", bad[0], bad[1], bad[2], bad[3], bad[4], bad[5], bad[6], bad[7], bad[8])
            == .fault(RPCFault(code: 500, message: "Not enough parameters or wrong format")))
        #expect(rpc(r, "ul.add", "location", "erin", "sip:x", .int(60))
            == .fault(RPCFault(code: 500, message: "Not enough parameters or wrong format")))
        // permanent (expires 0) with received and socket; the same contact again updates it
        #expect(rpc(r, "ul.add", "location", "erin@sip.test", "sip:erin@127.0.0.1:9", .int(0), .double(-1), "<sip:p1>",
                    .int(0), .int(0), .int(1), "sip:127.0.0.1:4", "udp:127.0.0.1:5071") == .values([]))
        #expect(rpc(r, "ul.add", "location", "erin", "sip:erin@127.0.0.1:9", .int(0), .double(1), "<sip:p2>",
                    .int(0), .int(0), .int(1), "sip:127.0.0.1:4", "udp:127.0.0.1:5071") == .values([]))
        #expect(lookedUp(r, "erin") == ["sip:erin@127.0.0.1:25095", "sip:erin@127.0.0.1:9"])

        let found = try #require(single(rpc(r, "ul.lookup", "location", "erin")))
        guard case .array(let contacts) = member(found, "Contacts") else { Issue.record("no Contacts"); return }
        let first = try #require(member(contacts[0], "Contact"))
        #expect(member(found, "AoR") == "erin")
        #expect(first.members?.compactMap(\.name) == ["Address", "Expires", "Q", "Call-ID", "CSeq", "User-Agent", "Received",
                                                     "Path", "State", "Flags", "CFlags", "Socket", "Methods", "Ruid", "Instance",
                                                     "Reg-Id", "Server-Id", "Tcpconn-Id", "Keepalive", "Last-Keepalive",
                                                     "KA-Roundtrip", "Last-Modified"])
        #expect((3598...3600).contains(member(first, "Expires")?.intValue ?? 0))
        #expect(member(first, "Q") == .double(0.5))
        #expect(member(first, "Methods") == .int(4_294_967_295))
        #expect(member(first, "Call-ID") == "dfjrewr12386fd6-343@kamailio.rpc")
        #expect(member(first, "User-Agent") == "kamailio SIP Router - RPC Server")
        #expect(member(first, "Path") == "[not set]" && member(first, "Socket") == "[not set]" && member(first, "State") == "CS_NEW")
        let second = try #require(member(contacts[1], "Contact"))
        #expect(member(second, "Expires") == "permanent" && member(second, "Q") == .double(1))
        #expect(member(second, "Path") == "<sip:p2>" && member(second, "Received") == "sip:127.0.0.1:4")
        #expect(member(second, "Socket") == "udp:127.0.0.1:5071")
        // binrpc carries the unsigned Methods as the same 32 bits (kamcmd prints -1)
        let overBinrpc = r.execute("ul.lookup", params: ["location", "erin"], transport: .binrpc)
        guard case .values(let b) = overBinrpc, case .array(let bc)? = member(b.first, "Contacts") else {
            Issue.record("binrpc lookup: \(overBinrpc)")
            return
        }
        #expect(member(member(bc[0], "Contact"), "Methods") == .int(-1))

        let brief = try #require(single(rpc(r, "ul.dump", "brief")))
        guard case .array(let domains) = member(brief, "Domains") else { Issue.record("no Domains"); return }
        let domain = try #require(member(domains.first, "Domain"))
        #expect(member(domain, "Domain") == "location" && member(domain, "Size") == .int(1024))
        #expect(member(domain, "AoRs") == .array([.object(["AoR": "erin"])]))
        #expect(member(domain, "Stats") == .object(["Records": .int(1), "Max-Slots": .int(1)]))
        let full = try #require(single(rpc(r, "ul.dump")))
        guard case .array(let fd) = member(full, "Domains"), case .array(let aors)? = member(member(fd.first, "Domain"), "AoRs") else {
            Issue.record("no AoRs")
            return
        }
        #expect(member(member(aors.first, "Info"), "AoR") == "erin")
        #expect(member(member(aors.first, "Info"), "HashID") == .int(Int(UsrlocTable.hash("erin"))))

        #expect(rpc(r, "ul.lookup", "location", "nobody") == .fault(RPCFault(code: 500, message: "AOR not found in location table")))
        #expect(rpc(r, "ul.lookup", "nosuchtable", "bob") == .fault(RPCFault(code: 500, message: "Domain table not found")))
        #expect(rpc(r, "ul.lookup", "location") == .fault(RPCFault(code: 500, message: "Not enough parameters (table and AOR to lookup)")))
        #expect(rpc(r, "ul.rm_contact", "location", "erin", "sip:erin@127.0.0.1:1")
            == .fault(RPCFault(code: 404, message: "Contact not found")))
        #expect(rpc(r, "ul.rm_contact", "location", "nobody", "sip:x") == .fault(RPCFault(code: 404, message: "AOR not found")))
        #expect(rpc(r, "ul.rm_contact", "location", "erin") == .fault(RPCFault(code: 500, message: "Not enough parameters (table, AOR and contact)")))
        #expect(rpc(r, "ul.rm_contact", "location", "erin", "sip:erin@127.0.0.1:9") == .values([]))
        #expect(lookedUp(r, "erin") == ["sip:erin@127.0.0.1:25095"])
        #expect(rpc(r, "ul.rm", "location", "erin") == .values([]))
        #expect(rpc(r, "ul.rm", "location", "erin") == .values([]))  // not found: still an empty result
        #expect(h.bindings("erin").isEmpty)
        #expect(h.modules.usrloc.table("location").stats.contacts.load(ordering: .relaxed) == 0)
        #expect(rpc(r, "ul.flush") == .values([]))
        #expect(rpc(r, "ul.db_users", "location") == .fault(RPCFault(code: 500, message: "Command is not supported in db_mode=0")))
    }

    @Test("use_domain: an AoR without a domain is refused; without it the domain is cut off")
    func aorForms() throws {
        let h = try registrarHarness("modparam(\"usrloc\", \"use_domain\", 1)")
        let r = rpcRegistry(h)
        #expect(rpc(r, "ul.rm", "location", "erin") == .fault(RPCFault(code: 500, message: "Domain missing in AOR")))
        #expect(rpc(r, "ul.add", "location", "erin@sip.test", "sip:e@h", .int(60), .double(1), ".", .int(0), .int(0), .int(0))
            == .values([]))
        #expect(lookedUp(r, "erin@sip.test") == ["sip:e@h"])
    }

    @Test("db_mode 1: removals reach SQLite, so a restart brings nothing back; db_* count the rows")
    func persisted() throws {
        let path = NSTemporaryDirectory() + "ulrpc-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let params = "loadmodule \"db_sqlite.so\"\nmodparam(\"usrloc\", \"db_url\", \"sqlite://\(path)\")\nmodparam(\"usrloc\", \"db_mode\", 1)"
        do {
            let h = try registrarHarness(params)
            let r = rpcRegistry(h)
            for (aor, port) in [("ann", 1), ("ann", 2), ("ben", 3), ("cy", 4)] {
                #expect(rpc(r, "ul.add", "location", .string(aor), .string("sip:\(aor)@127.0.0.1:\(port)"), .int(600), .double(1),
                            ".", .int(0), .int(0), .int(255)) == .values([]))
            }
            _ = try h.run(register("dan", contacts: ["<sip:dan@192.0.2.9>"], extra: ["Expires: 600"]))
            #expect(rpc(r, "ul.db_users", "location") == .values([.int(4)]))
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(5)]))
            #expect(rpc(r, "ul.db_expired_contacts", "location") == .values([.int(0)]))
            #expect(rpc(r, "ul.db_users", "nosuch") == .fault(RPCFault(code: 500, message: "Failed to query AoR count")))
            #expect(rpc(r, "ul.db_users") == .fault(RPCFault(code: 500, message: "Not enough parameters (table to lookup)")))
            #expect(rpc(r, "ul.rm_contact", "location", "ann", "sip:ann@127.0.0.1:1") == .values([]))
            #expect(rpc(r, "ul.rm", "location", "ben") == .values([]))
            #expect(rpc(r, "ul.rm", "location", "dan") == .values([]))
            #expect(rpc(r, "ul.db_users", "location") == .values([.int(2)]))
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(2)]))
        }
        // A new server on the same database: only what was left is loaded.
        let again = try registrarHarness(params)
        let r2 = rpcRegistry(again)
        #expect(lookedUp(r2, "ann") == ["sip:ann@127.0.0.1:2"])
        #expect(lookedUp(r2, "cy") == ["sip:cy@127.0.0.1:4"])
        #expect(rpc(r2, "ul.lookup", "location", "ben") == .fault(RPCFault(code: 500, message: "AOR not found in location table")))
        #expect(rpc(r2, "ul.lookup", "location", "dan") == .fault(RPCFault(code: 500, message: "AOR not found in location table")))
        guard case .array(let c)? = member(single(rpc(r2, "ul.lookup", "location", "ann")), "Contacts") else { return }
        #expect(member(member(c.first, "Contact"), "State") == "CS_SYNC")
    }

    @Test("db_mode 2: a removal is queued and written by ul.flush like any other change")
    func writeBack() throws {
        let path = NSTemporaryDirectory() + "ulrpc-wb-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).db"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let params = "loadmodule \"db_sqlite.so\"\nmodparam(\"usrloc\", \"db_url\", \"sqlite://\(path)\")\n"
            + "modparam(\"usrloc\", \"db_mode\", 2)\nmodparam(\"usrloc\", \"timer_interval\", 3600)"
        do {
            let h = try registrarHarness(params)
            let r = rpcRegistry(h)
            for aor in ["eve", "fay"] {
                #expect(rpc(r, "ul.add", .string(aor), .string(aor), "sip:x@h", .int(600), .double(1), ".", .int(0), .int(0),
                            .int(0)) == .fault(RPCFault(code: 500, message: "Domain table not found")))
                #expect(rpc(r, "ul.add", "location", .string(aor), .string("sip:\(aor)@h"), .int(600), .double(1), ".",
                            .int(0), .int(0), .int(0)) == .values([]))
            }
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(0)]))  // queued, not written yet
            #expect(rpc(r, "ul.flush") == .values([]))
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(2)]))
            #expect(rpc(r, "ul.rm", "location", "eve") == .values([]))
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(2)]))
            #expect(rpc(r, "ul.flush") == .values([]))
            #expect(rpc(r, "ul.db_contacts", "location") == .values([.int(1)]))
        }
        let again = try registrarHarness(params)
        #expect(again.bindings("eve").isEmpty)
        #expect(again.bindings("fay").map(\.contact) == ["sip:fay@h"])
    }

    @Test("the usrloc and registrar statistics are registered with the methods")
    func statistics() throws {
        let h = try registrarHarness()
        let env = ControlEnvironment(registry: RPCRegistry(), statistics: RPCStatistics(), transport: nil,
                                     script: h.script, arguments: ["kamailiod"])
        env.registerAll(sl: nil)
        _ = env.registry.execute("ul.add", params: ["location", "x", "sip:x@h", .int(60), .double(1), ".", .int(0), .int(0), .int(0)],
                                 transport: .jsonRPC)
        #expect(env.statistics.value(group: "usrloc", name: "location-contacts") == 1)
        #expect(env.statistics.value(group: "usrloc", name: "registered_users") == 1)
    }
}
