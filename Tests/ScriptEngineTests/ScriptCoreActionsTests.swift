import Foundation
import Testing
@testable import ScriptEngine

@Suite("Core actions: flags, R-URI rewriting, log")
struct ScriptCoreActionsTests {
    private func out(_ body: String) throws -> [String] {
        try ScriptRunner.run(body).0
    }

    @Test("setflag, resetflag and isflagset work on the message flags and $mf")
    func messageFlags() throws {
        #expect(try out("setflag(3); if (isflagset(3)) out(\"y\"); out(\"$mf\"); resetflag(3);"
            + " if (!isflagset(3)) out(\"n\"); out(\"$mf\");") == ["y", "8", "n", "0"])
    }

    @Test("branch and script flags are separate words, read as $bf and $sf")
    func otherFlags() throws {
        #expect(try out("setbflag(1); setsflag(2); out(\"$bf $sf $mf\"); if (isbflagset(1)) out(\"b\");"
            + " if (issflagset(2)) out(\"s\"); resetbflag(1); out(\"$bf\");") == ["2 4 0", "b", "s", "0"])
    }

    @Test("a constant flag outside 0-31 is a load error at the argument")
    func flagRange() {
        #expect(ScriptRunner.loadError("request_route {\n  setflag(32);\n}\n")
            == "t.cfg:2:11: flag 32 is out of range (0-31)")
    }

    @Test("isflagset as a statement leaves $rc alone")
    func isflagsetKeepsRC() throws {
        #expect(try out("nok(); isflagset(1); out(\"$rc\");") == ["-1"])
    }

    @Test("rewrite functions change parts of the R-URI and revert_uri undoes them")
    func rewrites() throws {
        #expect(try out("rewriteuser(\"carol\"); out(\"$ru\"); sethost(\"h.test\"); out(\"$ru\");"
            + " setport(\"5070\"); out(\"$ru\"); rewritehostport(\"x.test:1\"); out(\"$ru\");"
            + " revert_uri(); out(\"$ru\");")
            == ["sip:carol@sip.test", "sip:carol@h.test", "sip:carol@h.test:5070", "sip:carol@x.test:1",
                "sip:alice@sip.test"])
        #expect(try out("seturi(\"sip:u@d;transport=tcp\"); prefix(\"00\"); out(\"$ru\"); strip(1);"
            + " strip_tail(1); out(\"$ru $rU\"); setuser(\"\"); out(\"$ru\");")
            == ["sip:00u@d;transport=tcp", "sip:0@d;transport=tcp 0", "sip:d;transport=tcp"])
    }

    @Test("log() writes its text as is, at L_ERR or the given level")
    func logFunction() throws {
        let (script, services) = try ScriptRunner.load("request_route {\n log(\"a $ru\\n\"); log(1, \"b\");\n}\n")
        _ = script.runRequestRoute(try ScriptRunner.context(script, services))
        #expect(services.logLines.suffix(2) == ["a $ru", "b"])
    }
}

@Suite("More transformations")
struct ScriptTransformsMoreTests {
    private func value(_ expr: String) throws -> String { try ScriptRunner.value(expr) }

    @Test("s.md5 is the RFC 1321 digest in lower-case hex")
    func md5() throws {
        #expect(try ScriptRunner.run("$var(s) = \"\"; out(\"$(var(s){s.md5})\"); $var(s) = \"12abc\"; out(\"$(var(s){s.md5})\");").0
            == ["d41d8cd98f00b204e9800998ecf8427e", "42c56c61ee49c16375960c809c6a3eb0"])
        let long = String(repeating: "a", count: 100)
        #expect(try ScriptRunner.run("$var(s) = \"\(long)\"; out(\"$(var(s){s.md5})\");").0 == ["36a92cc94a9e0fa21f625f8bfb007adf"])
    }

    @Test("s.stripto, s.unquote, s.unbracket, param.count, param.name, s.select with a comma, s.substr past the end")
    func others() throws {
        #expect(try ScriptRunner.run("""
            $var(s) = "user@host"; $var(q) = "\\"x\\""; $var(b) = "<sip:a@b>"; $var(p) = "a=1;b=2;c"; $var(c) = "a,b,,d";
            out("$(var(s){s.stripto,@})|$(var(q){s.unquote})|$(var(b){s.unbracket})|$(var(p){param.count})|$(var(p){param.name,1})");
            out("$(var(c){s.select,1,,})|$(var(c){s.select,-1,,})|$(var(s){s.substr,5,99})");
            """).0 == ["@host|x|sip:a@b|3|b", "b|d|host"])
    }

    @Test("s.ftime formats a Unix time")
    func ftime() throws {
        #expect(try ScriptRunner.run("$var(t) = 0; out(\"$(var(t){s.ftime,%Y})\");").0.first?.hasPrefix("19") == true)
    }

    @Test("x && 1 and x || 0 give x as an integer (a string gives 0), as on 5.6")
    func andOrIdentity() throws {
        #expect(try value("\"abc\"") == "abc")
        #expect(try ScriptRunner.run("$var(s) = \"abc\"; $var(r) = $var(s) && 1; out(\"$var(r)\"); $var(r) = $var(s) || 0; out(\"$var(r)\");").0
            == ["0", "0"])
    }
}

@Suite("More pseudo-variables")
struct ScriptPseudoVariablesMoreTests {
    @Test("$rv, $ou/$oU keep the received R-URI after a rewrite, $msg(...) parts, $pp and $TS")
    func values() throws {
        #expect(try ScriptRunner.run("""
            $rU = "carol"; out("$rv|$ru|$ou|$oU|$od|$op|$msg(body_len)|$msg(fline)|$msg(hdrc)");
            if ($pp > 0 && $TS > 0) out("ok");
            """).0 == ["SIP/2.0|sip:carol@sip.test|sip:alice@sip.test|alice|sip.test|5060|4|INVITE sip:alice@sip.test SIP/2.0|12",
                       "ok"])
    }

    @Test("credentials: $aU, $au, $ad (empty without a domain), $ar; identity headers give their URI")
    func credentials() throws {
        let msg = ScriptRunner.invite.replacingOccurrences(
            of: "Content-Length: 4\r\n",
            with: "Proxy-Authorization: Digest username=\"bob@ex.test\", realm=\"sip.test\", nonce=\"n\"\r\n"
                + "P-Asserted-Identity: \"B\" <sip:+49301@sip.test>\r\nContent-Length: 4\r\n")
        #expect(try ScriptRunner.run("out(\"$aU|$au|$ad|$ar|$ai|$di\");", message: msg).0
            == ["bob@ex.test|bob|ex.test|sip.test|sip:+49301@sip.test|<null>"])
        #expect(try ScriptRunner.run("out(\"$au|$ad|$ar\");").0 == ["<null>|<null>|<null>"])
    }
}
