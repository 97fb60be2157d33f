import SIPCore
import Testing
@testable import ScriptEngine

@Suite("Pseudo-variables, transformations and formats")
struct ScriptPseudoVariableTests {
    private func show(_ pvs: String) throws -> String {
        try ScriptRunner.run("out(\"\(pvs)\");").0.first ?? "<nothing>"
    }

    @Test("request line, addresses and headers of a request")
    func requestReads() throws {
        #expect(try show("$rm|$ru|$rU|$rd|$rp|$rz") == "INVITE|sip:alice@sip.test|alice|sip.test|5060|sip")
        #expect(try show("$si|$sp|$Ri|$Rp|$proto|$pr") == "10.0.0.1|5062|127.0.0.1|5060|udp|udp")
        #expect(try show("$fu|$fU|$fd|$ft|$fn") == "sip:bob@example.com|bob|example.com|ft1|\"Bob\"")
        #expect(try show("$tu|$tU|$td|$tt") == "sip:alice@sip.test|alice|sip.test|<null>")
        #expect(try show("$ci|$cs|$ua|$ct|$cl|$rb|$mt") == "call-1@example.com|10|test-ua|<sip:bob@10.0.0.1>|4|body|1")
        #expect(try show("$rs|$rr|$du") == "<null>|<null>|<null>")
        #expect(try show("$ml") == String(ScriptRunner.invite.utf8.count))
    }

    @Test("$hdr with indexes, negative indexes, [*], a variable index, and $hdrc")
    func headers() throws {
        #expect(try show("$hdr(X-Echo)|$(hdr(X-Echo)[1])|$(hdr(x-echo)[-1])|$(hdr(X-Echo)[*])|$hdrc(X-Echo)|$hdrc(Via)")
            == "one|two|two|one,two|2|2")
        #expect(try show("$hdr(X-None)|$(hdr(X-Echo)[5])|$hdr(v)") == "<null>|<null>|SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1")
        let (out, _) = try ScriptRunner.run("""
        $var(i) = 0;
        while ($(hdr(Via)[$var(i)]) != $null) { $var(i) = $var(i) + 1; }
        out("vias=$var(i)");
        """)
        #expect(out == ["vias=2"])
    }

    @Test("writing $ru, $rU and $rd rewrites the R-URI at once and once in the serialized message")
    func requestURIWrites() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route {
          $rU = "carol"; out("$ru");
          $rd = "x.test"; out("$ru $rU $rd");
          $ru = "sip:dave@y.test:5070;transport=tcp"; out("$rU $rd $rp");
          $rU = $null; out("$ru");
          $rU = "erin"; out("$ru");
        }
        """)
        let ctx = try ScriptRunner.context(script, services)
        let msg = ctx.message
        _ = script.runRequestRoute(ctx)
        #expect(services.output == ["sip:carol@sip.test", "sip:carol@x.test carol x.test", "dave y.test 5070",
                                    "sip:y.test:5070;transport=tcp", "sip:erin@y.test:5070;transport=tcp"])
        let text = String(decoding: ctx.serializeMessage(), as: UTF8.self)
        #expect(text.hasPrefix("INVITE sip:erin@y.test:5070;transport=tcp SIP/2.0\r\nVia: "))
        #expect(msg.edits.isEmpty)
    }

    @Test("$du can be set and cleared")
    func destination() throws {
        #expect(try ScriptRunner.run("$du = \"sip:127.0.0.1:5081\"; out(\"$du\"); $du = $null; out(\"$du\");").0
            == ["sip:127.0.0.1:5081", "<null>"])
    }

    @Test("transformations chain; a failed one or one of a null gives an empty string")
    func transformations() throws {
        #expect(try show("$(rU{s.len})|$(rm{s.tolower})|$(fU{s.toupper})|$(rm{s.tolower}{s.len})") == "5|invite|BOB|6")
        #expect(try show("$(ci{s.select,0,@})|$(ci{s.select,-1,@})|$(ci{s.substr,0,4})|$(hdr(X-None){s.len})") == "call-1|example.com|call|")
        let (out, _) = try ScriptRunner.run("""
        $var(a) = "12abc"; $var(b) = " 42 "; $var(c) = "42";
        out("[$(var(a){s.int})][$(var(b){s.trim})][$(var(c){s.int})]");
        $var(n) = $(var(c){s.int}) + 1; out("$var(n)");
        """)
        #expect(out == ["[][42][42]", "43"])
    }

    @Test("$avp: assignment pushes, $null removes the newest, := replaces all, indexes read older values")
    func avps() throws {
        let (out, _) = try ScriptRunner.run("""
        $avp(x) = 1; $avp(x) = "two"; $(avp(x)[1]) = 3;
        out("$avp(x) $(avp(x)[1]) $(avp(x)[2]) $(avp(x)[*])");
        $avp(x) = $null; out("$avp(x)");
        $avp(x) := 9; out("$(avp(x)[*])");
        out("$avp(s:none)");
        """)
        #expect(out == ["3 two 1 3, two, 1", "two", "9", "<null>"])
    }

    @Test("defined, $null, $rc/$retcode and $cfg(line)")
    func misc() throws {
        let (out, _) = try ScriptRunner.run("""
        if (defined $hdr(X-Echo) && !defined $hdr(X-None)) out("defined");
        nok(); out("$rc $retcode");
        out("line=$cfg(line)");
        """)
        #expect(out == ["defined", "-1 -1", "line=5"])
    }

    @Test("a reply: status, reason, method from CSeq, no R-URI")
    func replyReads() throws {
        let reply = "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 3 INVITE\r\nContent-Length: 0\r\n\r\n"
        #expect(try ScriptRunner.run("out(\"$rs $rr $rm $ru $rU $mt $tt\");", message: reply).0 == ["486 Busy Here INVITE <null> <null> 2 2"])
    }

    @Test("formats: literal dollars, adjacent variables, punctuation after names")
    func formats() throws {
        #expect(try show("cost $ 5 $si:$sp/$rm$rU@x") == "cost $ 5 10.0.0.1:5062/INVITEalice@x")
    }

    @Test("comparisons with core words: uri == myself, method, status")
    func coreWords() throws {
        let (out, _) = try ScriptRunner.run("""
        if (uri == myself) out("uri-myself");
        if (from_uri != myself) out("from-not-myself");
        if (src_ip == myself) out("wrong");
        if (method == "INVITE" && uri =~ "^sip:alice@") out("words");
        if (src_ip == 10.0.0.1 && dst_ip != 10.0.0.2) out("ip-literal");
        """)
        #expect(out == ["uri-myself", "from-not-myself", "words", "ip-literal"])
    }

    @Test("flags, destination parts and clocks")
    func flagsAndTime() throws {
        let (out, _) = try ScriptRunner.run("""
        $mf = 5; out("$mf");
        $du = "sip:10.1.1.1:5081;transport=tcp"; out("$dd $dp");
        if ($TV(s) > 1700000000 && $Ts > 1700000000 && $time(year) >= 2024 && $time(mon) <= 12) out("clock");
        if ($TV(u) >= 0 && $Tf != "") out("micro");
        """)
        #expect(out == ["5", "10.1.1.1 5081", "clock", "micro"])
    }

    @Test("formats can be compiled after load, e.g. for log_prefix")
    func lateFormat() throws {
        let (script, services) = try ScriptRunner.load("loadmodule \"test.so\"\nrequest_route { $var(seen) = 7; }")
        let format = try script.compileFormat("{$rm $hdr(CSeq) $ci $var(seen) $var(other)} ")
        let ctx = try ScriptRunner.context(script, services)
        _ = script.runRequestRoute(ctx)
        #expect(format.string(ctx) == "{INVITE 10 INVITE call-1@example.com 7 0} ")
        #expect(throws: ScriptError.self) { _ = try script.compileFormat("$nope") }
    }

    @Test("SIP transformations: uri, nameaddr (keeps quotes and the blank), tobody, param")
    func sipTransformations() throws {
        let (out, _) = try ScriptRunner.run("""
        $var(u) = "sip:bob:pw@h.test:5070;transport=tcp;lr";
        out("$(var(u){uri.user})|$(var(u){uri.host})|$(var(u){uri.port})|$(var(u){uri.passwd})|$(var(u){uri.transport})|$(var(u){uri.params})|$(var(u){uri.param,lr})");
        out("[$(hdr(From){nameaddr.name})]|$(hdr(From){nameaddr.uri})|$(hdr(From){tobody.user})|$(hdr(From){tobody.tag})");
        $var(p) = "a=1; b=two;c"; out("$(var(p){param.value,b})|$(var(p){param.value,x})");
        out("$(rU{s.strip,2})|$(rU{s.striptail,2})|$(rU{s.replace,li,LI})|$(rU{s.encode.hexa})");
        $var(h) = "616263"; out("$(var(h){s.decode.hexa})|$(ci{uri.user})");
        """)
        #expect(out == ["bob|h.test|5070|pw|tcp|transport=tcp;lr|",
                        "[\"Bob\" ]|sip:bob@example.com|bob|ft1",
                        "two|",
                        "ice|ali|aLIce|616c696365",
                        "abc|"])
    }

    @Test("$rP keeps the written case and defaults to UDP; user=phone gives tel and a cut user")
    func requestURIDetails() throws {
        #expect(try show("$rP") == "UDP")
        let (out, _) = try ScriptRunner.run("""
        $ru = "sip:+4930123;phone-context=x@gw.test;user=phone;transport=TCP"; out("$rz $rU $rP");
        """)
        #expect(out == ["tel +4930123 TCP"])
    }

    @Test("re.subst and line transformations")
    func regexAndLines() throws {
        let (out, _) = try ScriptRunner.run("""
        $var(s) = "a1b22c333";
        out("$(var(s){re.subst,/[0-9]+/#/g})|$(var(s){re.subst,/([a-z])([0-9])/\\2&\\1/})|$(var(s){re.subst,/B/x/i})");
        $var(l) = "one\\r\\ntwo\\r\\nthree";
        out("$(var(l){line.count})|$(var(l){line.at,1})|$(var(l){line.at,-1})|$(var(l){line.sw,th})|$(var(l){line.at,9})");
        """)
        #expect(out == ["a#b#c#|1&ab22c333|a1x22c333", "3|two|three|three|"])
    }

    @Test("From/To writes are message edits: sent, but not visible to later reads")
    func addressWrites() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route { $fU = "carol"; $td = "t.test"; $fn = "\\"C\\""; out("$fU $td $fn"); }
        """)
        let ctx = try ScriptRunner.context(script, services)
        _ = script.runRequestRoute(ctx)
        #expect(services.output == ["bob sip.test \"Bob\""])
        let text = String(decoding: ctx.serializeMessage(), as: UTF8.self)
        #expect(text.contains("From: \"C\" <sip:carol@example.com>;tag=ft1\r\n"))
        #expect(text.contains("To: <sip:alice@t.test>\r\n"))
        #expect(ScriptRunner.loadError("request_route { $ft = 1; }") == "t.cfg:1:17: '$ft' cannot be assigned")
    }

    @Test("$xavp items and fields behave as on Kamailio 5.6")
    func xavps() throws {
        let (out, _) = try ScriptRunner.run("""
        $xavp(a=>b) = 1; $xavp(a=>b) = 2; $xavp(a[0]=>c) = "x"; $xavp(a[0]=>b) = 3;
        out("[$xavp(a=>b)] [$xavp(a[1]=>b)] [$xavp(a=>c)] [$xavp(a=>b[1])] [$xavp(a[1]=>c)]");
        $xavp(a) = $null; out("[$xavp(a=>b)] [$xavp(a[1]=>b)]");
        $xavp(a[0]=>b) = $null; out("[$xavp(a=>b)]");
        """)
        #expect(out == ["[3] [1] [x] [2] [<null>]", "[1] [<null>]", "[<null>]"])
        #expect(ScriptRunner.loadError("request_route { $xavp(a[x]=>b) = 1; }")
            == "t.cfg:1:17: expected an integer index in $xavp in '$xavp(a[x]=>b)'")
    }
}
