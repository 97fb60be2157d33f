import SIPCore
import SIPTransport
import ScriptEngine
import Shared
import Testing
@testable import BuiltinModules

/// A script around `body` in request_route, with the dialog profiles declared.
private func dialogScript(_ body: String) -> String {
    """
    loadmodule "tm.so"
    loadmodule "rr.so"
    loadmodule "dialog.so"
    loadmodule "pv.so"
    loadmodule "textops.so"
    modparam("dialog", "profiles_with_value", "caller ; trunk")
    modparam("dialog", "profiles_no_value", "inbound")
    request_route {
    \(body)
    }
    """
}

private let invite = """
INVITE sip:bob@b.example SIP/2.0
Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdlg1
Record-Route: <sip:up.example;lr>
From: "A" <sip:alice@a.example>;tag=ft1
To: <sip:bob@b.example>
Call-ID: dlg-call-1
CSeq: 10 INVITE
Contact: <sip:alice@10.0.0.1:5060>
Max-Forwards: 70
Content-Length: 0


"""

@Suite("dialog module: script functions, BYE building, lifetime, RPC values")
struct DialogModuleTests {
    func dialogModule(_ h: ModuleHarness) throws -> DialogModule {
        try #require(h.modules.all.compactMap { $0 as? DialogModule }.first)
    }

    @Test("dlg_manage makes a dialog the script can see: $dlg, $dlg_var, flags, profiles and their sizes")
    func scriptView() throws {
        let h = try ModuleHarness(dialogScript("""
            if (!is_known_dlg()) { $var(before) = 1; }
            dlg_setflag(3);
            $dlg_ctx(timeout_bye) = 1;
            dlg_manage();
            $dlg_var(who) = $fU;
            set_dlg_profile("caller", "$fU");
            set_dlg_profile("inbound");
            if (is_in_profile("caller", "alice") && !is_in_profile("caller", "carol")) { $var(inp) = 1; }
            get_profile_size("inbound", "$var(n)");
            get_profile_size("caller", "bob", "$var(m)");
            if (dlg_isflagset(3) && !dlg_isflagset(4)) { $var(flag) = 1; }
            $var(state) = $dlg(state);
            $var(from) = $dlg(from_uri);
            $var(cseq) = $dlg(from_cseq);
            $var(var) = $dlg_var(who);
            $var(ctx) = $dlg_ctx(timeout_bye);
            append_hf("X-R: before=$var(before) inp=$var(inp) flag=$var(flag) n=$var(n) m=$var(m) state=$var(state) from=$var(from) cseq=$var(cseq) var=$var(var) ctx=$var(ctx)\r\n");
            """))
        let ctx = try h.run(invite)
        let d = try #require(ctx.dialogState.dialog)
        let m = try dialogModule(h)
        #expect(m.table.update(d) { $0.flags } == 1 << 3)
        #expect(m.table.update(d) { $0.iflags } == Dialog.timeoutBye)
        #expect(m.profileMembers("inbound", value: nil).count == 1)
        #expect(m.profileMembers("caller", value: Array("alice".utf8)).count == 1)
        #expect(m.table.profileSize("caller", value: nil) == 1 && m.table.profileSize("caller", value: Array("bob".utf8)) == 0)
        // the dialog leaves its profiles with the table
        m.table.transition(d, to: .deleted, now: 200)
        #expect(m.table.profileSize("inbound", value: nil) == 0 && m.table.profileSize("caller", value: nil) == 0)
        #expect(m.table.profileCounts.withLock { $0.values.allSatisfy(\.isEmpty) })
        #expect(wire(ctx).contains("X-R: before=1 inp=1 flag=1 n=1 m=0 state=1 from=sip:alice@a.example cseq=10 var=alice ctx=1"),
                "\(wire(ctx))")
        // what the INVITE taught about the caller side
        #expect(m.table.update(d) { $0.caller.contact } == Array("sip:alice@10.0.0.1:5060".utf8))
        #expect(m.table.update(d) { $0.caller.routeSet } == [Array("sip:up.example;lr".utf8)])
    }

    @Test("unknown $dlg / $dlg_ctx names and undeclared profiles are config errors, as in Kamailio 5.6.3")
    func configErrors() {
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("$var(x) = $dlg(from_rr);")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("$var(x) = $dlg_ctx(flags);")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("set_dlg_profile(\"nosuch\");")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("set_dlg_profile(\"inbound\", \"v\");")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_bye(\"both\");")) }
        // a property name is checked at load (Kamailio only logs it when the line runs)
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_refer(\"all\", \"sip:x@y\");")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_set_property(\"ka-both\");")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_reset_property(\"noreset\");")) }
        #expect((try? ModuleHarness(dialogScript("dlg_set_property(\"ka-src\"); dlg_reset_property(\"timeout-noreset\");"))) != nil)
        // ka_interval: Kamailio 5.6.3 refuses to start below 30 s
        let lowKA = "modparam(\"dialog\", \"ka_interval\", 10)\n" + dialogScript("")
        #expect(throws: ScriptError.self) { try ModuleHarness(lowKA) }
        #expect((try? ModuleHarness("modparam(\"dialog\", \"ka_interval\", 30)\n" + dialogScript(""))) != nil)
    }

    /// A confirmed dialog as the INVITE and a 2xx with Record-Routes leave it.
    func confirmed(_ m: DialogModule) throws -> Dialog {
        let d = m.table.create(callID: Array("c1".utf8), fromTag: Array("ft".utf8), now: 100)
        let ok = try SIPMessage(bytes: Array(("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n"
            + "Record-Route: <sip:down2.example;lr>, <sip:down1.example;lr>\r\nRecord-Route: <sip:up.example;lr>\r\n"
            + "From: <sip:alice@a>;tag=ft\r\nTo: <sip:bob@b>;tag=tt\r\nCall-ID: c1\r\nCSeq: 5 INVITE\r\n"
            + "Contact: <sip:bob@10.0.0.2:5070>\r\nContent-Length: 0\r\n\r\n").utf8))
        m.table.update(d) { d in
            d.fromURI = Array("sip:alice@a".utf8)
            d.toURI = Array("sip:bob@b".utf8)
            d.caller.contact = Array("sip:alice@10.0.0.1".utf8)
            d.caller.cseq = 5
            d.caller.routeSet = [Array("sip:up.example;lr".utf8)]
            m.learnCallee(d, from: ok)
        }
        m.table.transition(d, to: .confirmed, now: 101)
        return d
    }

    @Test("the callee's route set is the 2xx's Record-Routes below the caller's, nearest first; BYEs per §12.2.1.1")
    func byeRequests() throws {
        let h = try ModuleHarness(dialogScript(""))
        let m = try dialogModule(h)
        let d = try confirmed(m)
        #expect(m.table.update(d) { $0.callee.routeSet } == [Array("sip:down1.example;lr".utf8), Array("sip:down2.example;lr".utf8)])
        m.table.update(d) { $0.callee.cseq = 3 }  // the callee sent a re-INVITE with CSeq 3
        let (toCallee, toCaller) = m.table.update(d) { d in (m.byeRequest(d, toCallee: true), m.byeRequest(d, toCallee: false)) }
        #expect(toCallee.remoteTarget == Array("sip:bob@10.0.0.2:5070".utf8) && toCallee.cseq == 6)
        #expect(String(decoding: toCallee.from, as: UTF8.self) == "<sip:alice@a>;tag=ft")
        #expect(String(decoding: toCallee.to, as: UTF8.self) == "<sip:bob@b>;tag=tt")
        #expect(toCaller.remoteTarget == Array("sip:alice@10.0.0.1".utf8) && toCaller.cseq == 4)
        #expect(String(decoding: toCaller.from, as: UTF8.self) == "<sip:bob@b>;tag=tt")
        #expect(toCaller.routeSet == [Array("sip:up.example;lr".utf8)])
    }

    @Test("timeout-noreset and a keep-alive cut keep in-dialog requests from restarting the lifetime; failures count per side")
    func lifetimeFixedByProperty() throws {
        let h = try ModuleHarness("modparam(\"dialog\", \"ka_failed_limit\", 2)\n" + dialogScript(""))
        let m = try dialogModule(h)
        let d = try confirmed(m)
        #expect(!m.lifetimeFixed(d))
        m.table.update(d) { $0.iflags |= DialogProperty.timeoutNoReset.bit }
        #expect(m.lifetimeFixed(d))
        m.table.update(d) { $0.iflags &= ~DialogProperty.timeoutNoReset.bit }
        // one failure of two allowed, then an answer: nothing happens
        m.keepaliveAnswered(d, toCallee: false, code: 481)
        m.keepaliveAnswered(d, toCallee: false, code: 503)
        m.keepaliveAnswered(d, toCallee: false, code: 408)
        #expect(!m.lifetimeFixed(d) && m.table.update(d) { $0.lifetime } != 10)
        // the second in a row: 10 more seconds, then BYEs
        m.keepaliveAnswered(d, toCallee: false, code: 408)
        #expect(m.lifetimeFixed(d))
        #expect(m.table.update(d) { ($0.lifetime, $0.iflags & Dialog.timeoutBye) } == (10, Dialog.timeoutBye))
    }

    @Test("an expired lifetime removes the dialog and counts it; one not yet due stays")
    func lifetimeExpiry() throws {
        let h = try ModuleHarness(dialogScript(""))
        let m = try dialogModule(h)
        let gone = try confirmed(m)
        let stays = m.table.create(callID: Array("c2".utf8), fromTag: Array("f2".utf8), now: 100)
        m.table.transition(stays, to: .confirmed, now: 100)
        m.table.update(gone) { $0.timeoutDue = 1000 }
        m.table.update(stays) { $0.timeoutDue = 9000 }
        m.expireDue(now: 2000)
        #expect(gone.state == .deleted && stays.state == .confirmed)
        #expect(m.stats.expired.load(ordering: .relaxed) == 1 && m.table.count == 1)
    }

    @Test("a negative final reply fails the dialog: counted failed, gone with its profiles; a late 2xx cannot revive it")
    func failedDialog() throws {
        let h = try ModuleHarness(dialogScript(""))
        let m = try dialogModule(h)
        let d = m.table.create(callID: Array("c4".utf8), fromTag: Array("f4".utf8), now: 100)
        _ = m.table.update(d) { d in m.table.joinProfile(d, "inbound", nil) }
        m.inviteReply(d, code: 180, reply: nil, services: h.services)  // no To-tag: stays unconfirmed
        #expect(d.state == .unconfirmed)
        m.inviteReply(d, code: 486, reply: nil, services: h.services)
        #expect(d.state == .deleted && m.stats.failed.load(ordering: .relaxed) == 1)
        #expect(m.table.count == 0 && m.table.profileSize("inbound", value: nil) == 0)
        m.inviteReply(d, code: 200, reply: nil, services: h.services)
        #expect(d.state == .deleted && m.stats.active.load(ordering: .relaxed) == 0)
    }

    @Test("dlg.list's shape: unknown callee leg all null; profiles and variables as unnamed members, newest first")
    func listValue() throws {
        let h = try ModuleHarness(dialogScript(""))
        let m = try dialogModule(h)
        let d = m.table.create(callID: Array("c3".utf8), fromTag: Array("f3".utf8), now: 100)
        m.table.update(d) { d in
            m.table.joinProfile(d, "caller", Array("sipp".utf8))
            m.table.joinProfile(d, "inbound", nil)
            d.setVariable("src", Array("127.0.0.1".utf8))
        }
        let v = m.dialogValue(d)
        #expect(v["state"] == .int(1) && v["ref"] == .int(1) && v["dflags"] == .int(512 | 128 | 1024))
        #expect(v["callee"]?["tag"] == .null && v["callee"]?["socket"] == .null)
        #expect(v["profiles"] == .struct([RPCMember(nil, .string("inbound")), RPCMember(nil, .struct([RPCMember("caller", .string("sipp"))]))]))
        #expect(v["variables"] == .struct([RPCMember(nil, .struct([RPCMember("src", .string("127.0.0.1"))]))]))
        // over JSON-RPC: arrays, as rpc-examples/dlg.list.json shows
        let json = RPCJSONWriter.string(v, style: .compact)
        #expect(json.contains(#""profiles":["inbound",{"caller":"sipp"}]"#) && json.contains(#""variables":[{"src":"127.0.0.1"}]"#), "\(json)")
        #expect(json.contains(#""callee":{"tag":null,"contact":null,"cseq":null,"route_set":null,"socket":null}"#), "\(json)")
    }

    @Test("dlg_manage() follows in-dialog requests once per message: ACK confirms and restarts the lifetime, BYE ends")
    func followsInDialogRequests() throws {
        let h = try ModuleHarness(dialogScript("dlg_manage(); dlg_manage(); append_hf(\"X-S: $DLG_status $DLG_count\\r\\n\");"))
        let m = try dialogModule(h)
        _ = try h.run(invite)
        let d = try #require(m.table.all().first)
        let ok = try SIPMessage(bytes: Array(("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdlg1\r\n"
            + "From: <sip:alice@a.example>;tag=ft1\r\nTo: <sip:bob@b.example>;tag=tt1\r\nCall-ID: dlg-call-1\r\n"
            + "CSeq: 10 INVITE\r\nContact: <sip:bob@10.0.0.2>\r\nContent-Length: 0\r\n\r\n").utf8))
        m.inviteReply(d, code: 200, reply: ok, services: h.services)
        #expect(d.state == .confirmedNoACK && d.started != 0 && d.callee.known)
        func inDialog(_ method: String, _ cseq: Int) -> String {
            "\(method) sip:bob@10.0.0.2 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK\(method)\r\n"
                + "From: <sip:alice@a.example>;tag=ft1\r\nTo: <sip:bob@b.example>;tag=tt1\r\nCall-ID: dlg-call-1\r\n"
                + "CSeq: \(cseq) \(method)\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        }
        // (the sweeper thread runs: move the deadline back by a second only, far from due)
        let due = m.table.update(d) { $0.timeoutDue }
        m.table.update(d) { $0.timeoutDue = due - 1000 }
        let ack = try h.run(inDialog("ACK", 10))
        #expect(d.state == .confirmed && m.table.update(d) { $0.timeoutDue } >= due)
        #expect(wire(ack).contains("X-S: 4 1\r\n"), "\(wire(ack))")
        _ = try h.run(inDialog("INFO", 11))
        #expect(m.table.update(d) { $0.caller.cseq } == 11)
        // timeout_noreset: a request leaves the deadline alone
        m.timeoutNoReset.store(true, ordering: .relaxed)
        m.table.update(d) { $0.timeoutDue = due - 1000 }
        _ = try h.run(inDialog("INFO", 12))
        #expect(m.table.update(d) { $0.timeoutDue } == due - 1000)
        m.timeoutNoReset.store(false, ordering: .relaxed)
        _ = try h.run(inDialog("BYE", 13))
        // not forwarded: listed in state 5 until end_timeout
        #expect(d.state == .deleted && m.table.count == 1 && m.stats.active.load(ordering: .relaxed) == 0)
        // never matched again (is_known_dlg, a second BYE)
        #expect(m.table.find(callID: Array("dlg-call-1".utf8), fromTag: Array("ft1".utf8)[...], toTag: Array("tt1".utf8)[...]) == nil)
        m.endTimeout.store(1, ordering: .relaxed)
        m.expireDue(now: m.table.update(d) { $0.endedClock } + 1000)
        #expect(m.table.count == 0)
    }

    @Test("early_timeout drops an unanswered dialog uncounted; noack_timeout leaves an unACKed one 10 s, then it expires")
    func earlyAndNoAckTimeouts() throws {
        let h = try ModuleHarness(dialogScript(""))
        let m = try dialogModule(h)
        m.earlyTimeout.store(2, ordering: .relaxed)
        m.noackTimeout.store(3, ordering: .relaxed)
        let early = m.table.create(callID: Array("e1".utf8), fromTag: Array("f".utf8), now: 100, clock: 1000)
        m.table.transition(early, to: .early, now: 100)
        let noack = try confirmed(m)
        m.table.update(noack) { d in
            d.state = .confirmedNoACK  // answered, ACK pending
            d.startedClock = 1000
            d.timeoutDue = 999_000
        }
        m.expireDue(now: 2900)
        #expect(early.state == .early && m.table.update(noack) { $0.lifetime } != 10)
        m.expireDue(now: 4000)
        #expect(early.state == .deleted && m.stats.failed.load(ordering: .relaxed) == 0 && m.stats.early.load(ordering: .relaxed) == 0)
        #expect(m.table.update(noack) { $0.lifetime == 10 && $0.timeoutDue == 14000 })
        m.expireDue(now: 13_999)
        #expect(noack.state == .confirmedNoACK)
        m.expireDue(now: 14_000)
        #expect(noack.state == .deleted && m.stats.expired.load(ordering: .relaxed) == 1)
    }

    @Test("the dialog id in our Route's parameters: did=<h_entry>.<h_id>, hex lowest digit first as Kamailio")
    func routeDialogID() {
        // [135:6448] is "78.0391" in a Kamailio 5.6.3 Route
        let a = DialogModule.dialogID(in: Array(";lr;ftag=x;did=78.0391".utf8)), b = DialogModule.dialogID(in: Array(";did=0.1;lr".utf8))
        #expect(a?.0 == 135 && a?.1 == 6448 && b?.0 == 0 && b?.1 == 1)
        var out: [UInt8] = []
        DialogModule.appendReverseHex(6448, to: &out)
        DialogModule.appendReverseHex(0, to: &out)
        #expect(out == Array("03910".utf8))
        #expect(DialogModule.dialogID(in: Array(";lr;did=zz".utf8)) == nil && DialogModule.dialogID(in: Array(";lr".utf8)) == nil)
    }

    @Test("$dlg_ctx(timeout_route) set before dlg_manage() goes with the dialog; by number too; unknown names clear it")
    func timeoutRouteContext() throws {
        let script = dialogScript("""
            $dlg_ctx(timeout_route) = "TWO";
            dlg_manage();
            append_hf("X-A: $dlg_ctx(timeout_route) $dlg_ctx(timeout_route_id) $dlg(toroute)\\r\\n");
            $dlg_ctx(timeout_route_id) = 1;
            append_hf("X-B: $dlg_ctx(timeout_route) $dlg(toroute)\\r\\n");
            $dlg_ctx(timeout_route) = "NOSUCH";
            append_hf("X-C: $dlg(toroute)\\r\\n");
            $dlg_ctx(timeout_route) = "TWO";
            """) + "\nroute[ONE] { $var(x) = 1; }\nroute[TWO] { $var(x) = 2; }\n"
        let h = try ModuleHarness(script)
        let ctx = try h.run(invite)
        let w = wire(ctx)
        #expect(w.contains("X-A: TWO 2 2\r\n") && w.contains("X-B: ONE 1\r\n") && w.contains("X-C: 0\r\n"), "\(w)")
        let d = try #require(ctx.dialogState.dialog)
        #expect(try dialogModule(h).table.update(d) { $0.timeoutRoute } == "TWO")
    }

    @Test("dlg_set_timeout_by_profile sets the lifetime of the profile's dialogs (with that value) only")
    func timeoutByProfile() throws {
        let h = try ModuleHarness(dialogScript("""
            dlg_manage();
            set_dlg_profile("caller", "$fU");
            dlg_set_timeout_by_profile("caller", "bob", "30");
            $var(a) = $dlg(lifetime);
            dlg_set_timeout_by_profile("caller", "alice", "20");
            $var(b) = $dlg(lifetime);
            dlg_set_timeout_by_profile("caller", "10");
            append_hf("X-L: $var(a) $var(b) $dlg(lifetime)\\r\\n");
            """))
        let ctx = try h.run(invite)
        #expect(wire(ctx).contains("X-L: 43200 20 10\r\n"), "\(wire(ctx))")
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_set_timeout_by_profile(\"inbound\", \"v\", \"5\");")) }
        #expect(throws: ScriptError.self) { try ModuleHarness(dialogScript("dlg_set_timeout_by_profile(\"nosuch\", \"5\");")) }
    }

    @Test("dlg_get(callid, ftag, ttag) makes the named dialog the message's; an empty To tag finds one being set up")
    func dialogGet() throws {
        let h = try ModuleHarness(dialogScript("""
            if (is_method("INVITE")) { dlg_manage(); exit; }
            if (dlg_get("dlg-call-1", "ft1", "")) { append_hf("X-G: $dlg(callid) $dlg(state)\\r\\n"); }
            if (!dlg_get("other", "ft1", "")) { append_hf("X-N: none\\r\\n"); }
            """))
        _ = try h.run(invite)
        let ctx = try h.run("OPTIONS sip:bob@b.example SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKo1\r\n"
            + "From: <sip:x@x>;tag=o1\r\nTo: <sip:y@y>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        #expect(wire(ctx).contains("X-G: dlg-call-1 1\r\n") && wire(ctx).contains("X-N: none\r\n"), "\(wire(ctx))")
    }
}
