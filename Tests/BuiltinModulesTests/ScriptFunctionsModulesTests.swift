import Testing
import ScriptEngine
@testable import BuiltinModules

/// textops searches and replacements, textopsx, siputils checks, pv functions and
/// `$shv`, xlogl. Values marked "5.6" were read from a real Kamailio 5.6.3.
@Suite("Script functions of textops, textopsx, siputils, pv")
struct ScriptFunctionsModulesTests {
    private static let modules = ["textops", "textopsx", "siputils", "pv", "xlog"]
        .map { "loadmodule \"\($0).so\"\n" }.joined()

    private func harness(_ body: String, globals: String = "") throws -> ModuleHarness {
        try ModuleHarness(Self.modules + globals + "request_route {\n\(body)\n}\n")
    }

    private let sdpRequest = request("INVITE", extra: ["Content-Type: application/sdp", "X-A: one", "X-B: two"])
        .replacingOccurrences(of: "Content-Length: 0\n\n", with: "Content-Length: 12\n\nv=0\no=- 1\n")

    @Test("search and search_body are case-insensitive and line-aware; has_body checks the type")
    func searches() throws {
        let h = try harness("""
            search("^x-a: ONE"); $var(a) = $rc; search("^one"); $var(b) = $rc;
            search_body("^o=-"); $var(c) = $rc; has_body(); $var(d) = $rc;
            has_body("application/sdp"); $var(e) = $rc; has_body("text/plain"); $var(f) = $rc;
            append_to_reply("X-R: $var(a)|$var(b)|$var(c)|$var(d)|$var(e)|$var(f)\\r\\n");
            """)
        #expect(replyValues(try h.run(sdpRequest)) == ["1|-1|1|1|1|-1"])
        let noBody = try h.run(request())
        #expect(replyValues(noBody) == ["-1|-1|-1|-1|-1|-1"])
    }

    @Test("replace, replace_all, subst and subst_body edit the wire, not what the script reads")
    func replacements() throws {
        let h = try harness("""
            replace("X-A: one", "X-A: uno"); replace_all("a[0-9]", "z9"); subst("/^(X-B): two/\\\\1: dos/");
            subst_body("/v=0/v=1/"); search("X-A: uno"); append_to_reply("X-R: $rc|$hdr(X-A)\\r\\n");
            """)
        let ctx = try h.run(sdpRequest)
        let out = wire(ctx)
        #expect(out.contains("X-A: uno\r\n") && out.contains("X-B: dos\r\n") && out.contains("v=1\r\n"))
        // the From tag a1 is the only "a<digit>"
        #expect(out.contains(";tag=z9\r\n"))
        #expect(replyValues(ctx) == ["-1|one"])
    }

    @Test("remove_hf_re gives 1 when headers went; msg_apply_changes makes edits visible and drops queued reply headers")
    func applyChanges() throws {
        let h = try harness("""
            remove_hf_re("^X-[AB]$"); $var(n) = $rc; append_hf("X-New: 1\\r\\n");
            append_to_reply("X-R: dropped\\r\\n");
            is_present_hf("X-New"); $var(before) = $rc; msg_apply_changes(); is_present_hf("X-New"); $var(after) = $rc;
            is_present_hf("X-A"); $var(a) = $rc;
            append_to_reply("X-R: $var(n)|$var(before)|$var(after)|$var(a)|$hdr(X-New)\\r\\n");
            """)
        #expect(replyValues(try h.run(sdpRequest)) == ["1|-1|1|-1|1"])
    }

    @Test("string tests give Kamailio's codes: cmp_str -2, is_numeric -2, is_alphanum -3, str_find a position")
    func stringTests() throws {
        let h = try harness("""
            cmp_str("a", "b"); $var(a) = $rc; cmp_istr("A", "a"); $var(b) = $rc; str_find("abcdef", "cd"); $var(c) = $rc;
            is_numeric("1a"); $var(d) = $rc; is_alphanum("a-1"); $var(e) = $rc; starts_with("abc", "ab"); $var(f) = $rc;
            $var(num) = "+4930123456"; is_e164("$var(num)"); $var(g) = $rc;
            append_to_reply("X-R: $var(a)|$var(b)|$var(c)|$var(d)|$var(e)|$var(f)|$var(g)\\r\\n");
            """)
        #expect(replyValues(try h.run(request())) == ["-2|1|3|-2|-3|1|1"])
    }

    @Test("siputils: uri_param with and without value, add_uri_param, subst_uri/subst_user, cmp_uri, is_user")
    func uriFunctions() throws {
        let h = try harness("""
            $ru = "sip:alice@sip.test;lr;transport=udp";
            uri_param("lr"); $var(a) = $rc; uri_param("transport"); $var(b) = $rc; uri_param("transport", "udp"); $var(c) = $rc;
            add_uri_param("x=1"); subst_user("/^a/A/"); subst_uri("/sip\\\\.test/example.org/");
            cmp_uri("sip:u@h;transport=udp", "sip:u@H;transport=udp"); $var(d) = $rc;
            is_user("bob"); $var(e) = $rc; is_user("carol"); $var(f) = $rc;
            append_to_reply("X-R: $var(a)|$var(b)|$var(c)|$ru|$var(d)|$var(e)|$var(f)\\r\\n");
            """)
        let ctx = try h.run(request(extra: ["Authorization: Digest username=\"bob\", realm=\"sip.test\""]))
        #expect(replyValues(ctx) == ["1|-1|1|sip:Alice@example.org;lr;transport=udp;x=1|1|1|-1"])
    }

    @Test("pv: $shv with shvset initial values, unset reads 0; pv_isset, pv_unset, is_avp_set, is_int, typeof")
    func pvFunctions() throws {
        let h = try harness("""
            $shv(n) = $shv(n) + 1; $avp(a) = "x"; is_avp_set("$avp(a)"); $var(a) = $rc; pv_unset("$avp(a)");
            pv_isset("$avp(a)"); $var(b) = $rc; is_int("$shv(n)"); $var(c) = $rc; typeof("$shv(s)", "str"); $var(d) = $rc;
            append_to_reply("X-R: $shv(n)|$shv(s)|$shv(none)|$var(a)|$var(b)|$var(c)|$var(d)\\r\\n");
            """, globals: "modparam(\"pv\", \"shvset\", \"n=i:41\")\nmodparam(\"pv\", \"shvset\", \"s=s:txt\")\n")
        #expect(replyValues(try h.run(request())) == ["42|txt|0|1|-1|1|1"])
        #expect(replyValues(try h.run(request())) == ["43|txt|0|1|-1|1|1"])
    }

    @Test("xlogl and xdbgl load with and without a level; a bad level is a load error")
    func xlogl() throws {
        _ = try harness("xlogl(\"L_INFO\", \"a $ru\\n\"); xlogl(\"b\\n\"); xdbgl(\"c\\n\");")
        #expect(throws: ScriptError.self) { try harness("xlogl(\"L_NOPE\", \"a\");") }
    }
}

@Suite("km_append_branch and is_uri_host_local")
struct ScriptKexFunctionsTests {
    @Test("km_append_branch calls tm's append_branch, and needs tm")
    func kmAppendBranch() throws {
        let h = try ModuleHarness("loadmodule \"tm.so\"\nloadmodule \"kex.so\"\nrequest_route {\n km_append_branch(\"sip:b@x.test\");\n}\n")
        _ = try h.run(request("INVITE"))
        #expect(h.lastResult?.code == 1)
        #expect(throws: ScriptError.self) { try ModuleHarness("request_route {\n km_append_branch();\n}\n") }
        do {
            _ = try ModuleHarness("request_route {\n km_append_branch();\n}\n")
        } catch let e as ScriptError {
            #expect(e.description == "test.cfg:2:2: km_append_branch needs append_branch (loadmodule \"tm.so\")")
        }
    }

    @Test("is_uri_host_local asks whether the R-URI host is ours")
    func uriHostLocal() throws {
        let h = try ModuleHarness("loadmodule \"siputils.so\"\nrequest_route {\n is_uri_host_local();\n}\n")
        _ = try h.run(request())
        // the harness's services answer "not myself" for everything
        #expect(h.lastResult?.code == -1)
    }
}
