import Testing
import SIPCore
import SIPTransport
import ScriptEngine
@testable import BuiltinModules

@Suite("Stateless modules")
struct StatelessModulesTests {
    @Test("mf_process_maxfwd_header decrements, adds a missing header, caps at max_limit, and reports 0 and garbage")
    func maxForwards() throws {
        let h = try ModuleHarness("""
        loadmodule "maxfwd.so"
        modparam("maxfwd", "max_limit", 30)
        request_route { mf_process_maxfwd_header("10"); }
        """)
        let dec = try h.run(request(maxForwards: "20"))
        #expect(dec.returnCode == 1)
        #expect(wire(dec).contains("Max-Forwards: 19\r\n"))
        let added = try h.run(request(maxForwards: nil))
        #expect(added.returnCode == 2)
        #expect(wire(added).contains("Max-Forwards: 10\r\n"))
        let capped = try h.run(request(maxForwards: "70"))
        #expect(wire(capped).contains("Max-Forwards: 30\r\n"))
        #expect(try h.run(request(maxForwards: "0")).returnCode == -1)
        let maxfwd = try #require(h.modules.all.compactMap { $0 as? MaxFwdModule }.first)
        #expect(maxfwd.process(try SIPMessage(bytes: Array(request(maxForwards: "seventy").replacingOccurrences(of: "\n", with: "\r\n").utf8)), initial: 10, limit: 70) == -2)
    }

    @Test("textops: is_method is case-sensitive and takes lists; append_hf, remove_hf and is_present_hf edit headers")
    func textops() throws {
        let h = try ModuleHarness("""
        loadmodule "textops.so"
        request_route {
            if (is_method("REGISTER|OPTIONS")) { append_hf("X-Seen: $rm\\r\\n"); }
            if (is_present_hf("Subject")) { remove_hf("Subject"); append_hf("X-Had-Subject: yes\\r\\n", "Call-ID"); }
        }
        """)
        let ctx = try h.run(request(extra: ["Subject: hi", "s: compact"]))
        let out = wire(ctx)
        #expect(out.contains("X-Seen: OPTIONS\r\n"))
        #expect(!out.contains("\r\nSubject:") && !out.contains("s: compact"))
        #expect(out.contains("Call-ID: c1\r\nX-Had-Subject: yes\r\n"))
        let lower = try h.run(request("options"))
        #expect(!wire(lower).contains("X-Seen"))
    }

    @Test("sanity: a Proxy-Require we do not support is 420 with Unsupported; a bad request version is 505")
    func sanityChecks() throws {
        let h = try ModuleHarness("loadmodule \"sanity.so\"\nrequest_route { exit; }\n")
        let sanity = try #require(h.modules.all.compactMap { $0 as? SanityModule }.first)
        func check(_ text: String, _ checks: Int = 999) throws -> SanityModule.Failure? {
            sanity.check(try SIPMessage(bytes: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)),
                         checks: checks, uriChecks: 7)
        }
        let f420 = try #require(try check(request(extra: ["Proxy-Require: foo, bar"])))
        #expect(f420.code == 420)
        #expect(f420.headers.map { String(decoding: $0, as: UTF8.self) } == ["Unsupported: foo, bar"])
        #expect(try check(request()) == nil)
        #expect(try check(request(extra: ["Expires: -1"]))?.code == 400)
        #expect(try check(request().replacingOccurrences(of: "CSeq: 1 OPTIONS", with: "CSeq: 1 INVITE"))?.code == 400)
        // bit 512 off: Proxy-Require is not looked at
        #expect(try check(request(extra: ["Proxy-Require: foo"]), 999 & ~512) == nil)
    }

    @Test("has_totag and a sub-route decide together")
    func hasToTag() throws {
        let h = try ModuleHarness("""
        loadmodule "siputils.so"
        request_route { if (has_totag()) { return 2; } return 3; }
        """)
        _ = try h.run(request())
        #expect(h.lastResult?.code == 3)
        _ = try h.run(request().replacingOccurrences(of: "To: <sip:bob@example.com>", with: "To: <sip:bob@example.com>;tag=x"))
        #expect(h.lastResult?.code == 2)
    }

    @Test("dotted-quad hosts resolve without the resolver; bad quads do not pass as IPv4")
    func fastResolve() {
        let rt = CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false })
        #expect(rt.resolve(Array("10.1.2.254".utf8)[...], port: 5070)?.description == "10.1.2.254:5070")
        #expect(rt.resolve(Array("127.0.0.1".utf8)[...], port: 1) == SocketAddress(ip: "127.0.0.1", port: 1))
        #expect(rt.resolve(Array("::1".utf8)[...], port: 5060)?.description == "[::1]:5060")
        #expect(rt.resolve(Array("1.2.3.256".utf8)[...], port: 5060) == nil)
    }

    @Test("the stateless branch is stable for a retransmission and for its CANCEL, and differs per request")
    func branch() throws {
        let rt = CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false })
        func msg(_ t: String) throws -> SIPMessage { try SIPMessage(bytes: Array(t.replacingOccurrences(of: "\n", with: "\r\n").utf8)) }
        let invite = try msg(request("INVITE"))
        let again = try msg(request("INVITE"))
        let cancel = try msg(request("CANCEL"))
        let other = try msg(request("INVITE").replacingOccurrences(of: "branch=z9hG4bK1", with: "branch=z9hG4bK2"))
        #expect(rt.statelessBranch(invite) == rt.statelessBranch(again))
        #expect(rt.statelessBranch(invite) == rt.statelessBranch(cancel))
        #expect(rt.statelessBranch(invite) != rt.statelessBranch(other))
    }
}
