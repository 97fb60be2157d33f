import Foundation
import Testing
@testable import ScriptEngine

/// S-expression rendering of the AST so tests can state the expected shape in one line.
enum ScriptASTDump {
    static func expr(_ e: ScriptExpression) -> String {
        switch e.kind {
        case .integer(let v): return String(v)
        case .string(let s): return "\"\(s)\""
        case .pseudoVariable(let pv): return pv.description
        case .word(let w): return w
        case .call(let c): return call(c)
        case .unary(let op, let x): return "(\(op.rawValue) \(expr(x)))"
        case .binary(let op, let a, let b): return "(\(op.rawValue) \(expr(a)) \(expr(b)))"
        case .defined(let pv): return "(defined \(pv))"
        }
    }

    static func call(_ c: ScriptCallSyntax) -> String {
        "\(c.name)(" + c.arguments.map(expr).joined(separator: ", ") + ")"
    }

    static func stmts(_ s: [ScriptStatement]) -> String { s.map(stmt).joined(separator: " ") }

    static func stmt(_ s: ScriptStatement) -> String {
        switch s.kind {
        case .call(let c): return call(c) + ";"
        case .assign(let pv, let e, let colon): return "\(pv) \(colon ? ":=" : "=") \(expr(e));"
        case .ifElse(let c, let t, let e):
            return "if \(expr(c)) {\(stmts(t))}" + (e.map { " else {\(stmts($0))}" } ?? "")
        case .switchCase(let e, let cases):
            return "switch \(expr(e)) {" + cases.map { c in
                let label: String
                switch c.label {
                case .integer(let v): label = "case \(v)"
                case .string(let s): label = "case \"\(s)\""
                case .defaultLabel: label = "default"
                }
                return label + ": " + stmts(c.body)
            }.joined(separator: " ") + "}"
        case .whileLoop(let c, let b): return "while \(expr(c)) {\(stmts(b))}"
        case .returnValue(let e): return "return" + (e.map { " " + expr($0) } ?? "") + ";"
        case .exit: return "exit;"
        case .drop: return "drop;"
        case .breakLoop: return "break;"
        case .block(let b): return "{\(stmts(b))}"
        }
    }
}

@Suite("Parser")
struct ScriptParserTests {
    private func route(_ body: String) throws -> String {
        let tree = try ScriptTestSupport.parse("request_route {\n\(body)\n}\n").get()
        return ScriptASTDump.stmts(try #require(tree.routes.first).body)
    }

    private func expr(_ text: String) throws -> String {
        let tree = try ScriptTestSupport.parse("request_route { $var(x) = \(text); }").get()
        guard case .assign(_, let e, _) = try #require(tree.routes.first?.body.first).kind else {
            Issue.record("not an assignment")
            return ""
        }
        return ScriptASTDump.expr(e)
    }

    @Test("the real reference and benchmark scripts parse", arguments: ScriptTestSupport.sharedScripts)
    func realScripts(path: String) throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture(path), defines: [])
        #expect(tree.routes.contains { $0.type == .request && $0.name.isEmpty })
        #expect(!tree.loadModules.isEmpty)
    }

    /// The stock configuration of the installed Kamailio, read in place (not copied: it is GPL).
    static let stockConfigPath = "/etc/kamailio/kamailio.cfg"

    @Test("the stock kamailio.cfg of the installed Kamailio parses, with and without its feature defines",
          .enabled(if: FileManager.default.fileExists(atPath: ScriptParserTests.stockConfigPath)))
    func stockConfig() throws {
        for defines in [[], ["WITH_MYSQL", "WITH_AUTH", "WITH_USRLOCDB", "WITH_NAT", "WITH_PRESENCE", "WITH_TLS",
                             "WITH_ANTIFLOOD", "WITH_DEBUG", "WITH_ACCDB", "WITH_JSONRPC", "WITH_IPAUTH"]] {
            let tree = try ScriptFrontEnd.parse(path: Self.stockConfigPath, defines: defines)
            #expect(tree.routes.contains { $0.type == .request && $0.name.isEmpty })
            _ = try ScriptCoreParams.build(tree.globals)
        }
    }

    @Test("ref.cfg yields its routes, modules and parameters")
    func refShape() throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture("ref.cfg"), defines: ["WITH_CFGTRACE"])
        let names = tree.routes.map { "\($0.type.rawValue)[\($0.name)]" }
        #expect(names == ["route[]", "route[REQINIT]", "route[WITHINDLG]", "route[AUTH]", "route[REGISTRAR]",
                          "route[CALLS]", "route[BLOCKED]", "route[LOCATION]", "route[RELAY]",
                          "branch_route[MANAGE_BRANCH]", "onreply_route[MANAGE_REPLY]",
                          "failure_route[MANAGE_FAILURE]", "event_route[htable:mod-init]"])
        #expect(tree.loadModules.count == 23)
        #expect(tree.modParams.contains { $0.module == "debugger" && $0.name == "log_level_name" })
        let listen = tree.globals.first { $0.name == "listen" }
        #expect(listen?.rawValue == "udp:127.0.0.1:5072")
        #expect(listen?.location.line == 60)
    }

    @Test("ref.cfg with the harness's command-line defines")
    func refWithHarnessDefines() throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture("ref.cfg"), defines: [
            "SIP_IP=127.0.0.1", "SIP_PORT=5999", #"DBURL="sqlite:////run/kamailio.db""#,
            #"CTL_SOCKET="unix:/run/kamailio_ctl""#, #"RPC_FIFO="/run/kamailio_rpc.fifo""#, #"RPC_REPLY_DIR="/run/""#,
        ])
        func param(_ m: String, _ n: String) -> String? {
            tree.modParams.first { $0.module == m && $0.name == n }.map { ScriptASTDump.expr($0.value) }
        }
        #expect(tree.globals.first { $0.name == "listen" }?.rawValue == "udp:127.0.0.1:5999")
        #expect(param("usrloc", "db_url") == #""sqlite:////run/kamailio.db""#)
        #expect(param("ctl", "binrpc") == #""unix:/run/kamailio_ctl""#)
        #expect(param("jsonrpcs", "fifo_reply_dir") == #""/run/""#)
        #expect(param("debugger", "cfgtrace") == "0")
        #expect(param("auth_db", "calculate_ha1") == "yes")
    }

    @Test("if, else if and else chains")
    func ifElse() throws {
        #expect(try route("if ($rm == \"A\") exit; else if (is_method(\"B\")) { drop; } else { f(); }")
            == #"if (== $rm "A") {exit;} else {if is_method("B") {drop;} else {f();}}"#)
    }

    @Test("switch with int, negative and string cases, default and break")
    func switchForms() throws {
        #expect(try route("switch ($rc) { case 1: f(); break; case -2: case \"x\": g(); default: h(); }")
            == #"switch $rc {case 1: f(); break; case -2:  case "x": g(); default: h();}"#)
    }

    @Test("while, return forms, exit, drop and calls without parentheses")
    func otherStatements() throws {
        #expect(try route("while ($var(i) < 3) { $var(i) = $var(i) + 1; } return; return 1; return -1; return $rc; t_relay; exit; drop; break;")
            == "while (< $var(i) 3) {$var(i) = (+ $var(i) 1);} return; return 1; return -1; return $rc; t_relay(); exit; drop; break;")
    }

    @Test("assignments with = and := to pseudo-variables with arguments and indexes")
    func assignments() throws {
        #expect(try route("$var(a) := 1; $avp(s:x) = \"v\"; $(avp(x)[1]) = $null; $sht(t=>$rU) = 2;")
            == "$var(a) := 1; $avp(s:x) = \"v\"; $(avp(x)[1]) = $null; $sht(t=>$rU) = 2;")
    }

    @Test("function calls with mixed arguments and route calls, also inside conditions")
    func calls() throws {
        #expect(try route("sl_send_reply(\"404\", \"Not Here\"); setflag(2); route(RELAY); if (route(AUTH) && !has_totag()) exit;")
            == #"sl_send_reply("404", "Not Here"); setflag(2); route(RELAY); if (&& route(AUTH) (! has_totag())) {exit;}"#)
    }

    @Test("precedence follows Kamailio: comparisons over bit operators, >> over <<, ^ over &")
    func precedence() throws {
        #expect(try expr("1 << 2 == 2") == "(<< 1 (== 2 2))")
        #expect(try expr("6 & 7 > 5") == "(& 6 (> 7 5))")
        #expect(try expr("1 << 2 >> 1") == "(<< 1 (>> 2 1))")
        #expect(try expr("1 & 2 ^ 3") == "(& 1 (^ 2 3))")
        #expect(try expr("1 | 2 & 3") == "(| 1 (& 2 3))")
        #expect(try expr("1 + 2 * 3 - 4 mod 3") == "(- (+ 1 (* 2 3)) (mod 4 3))")
        #expect(try expr("a || b && !c") == "(|| a (&& b (! c)))")
        #expect(try expr("$a == 1 < 2") == "(== $a (< 1 2))")
        #expect(try expr("-(2) + ~3") == "(+ -2 (~ 3))")
        #expect(try expr("-$x") == "(- $x)")
        #expect(try expr("-5") == "-5")
    }

    @Test("string operators, regex match, defined and core words")
    func wordsAndOps() throws {
        #expect(try expr("$a eq \"x\" || $b ieq 3") == #"(|| (eq $a "x") (ieq $b 3))"#)
        #expect(try expr("$ua =~ \"a|b\"") == #"(=~ $ua "a|b")"#)
        #expect(try expr("defined $var(x) and uri==myself") == "(&& (defined $var(x)) (== uri myself))")
        #expect(try expr("\"a\" \"b\"") == #""ab""#)
    }

    @Test("integer literals: hex, octal, decimal")
    func integers() throws {
        #expect(try expr("0x1F + 010 + 9") == "(+ (+ 31 8) 9)")
    }

    @Test("string escapes resolve quotes, backslashes, newlines and tabs but keep regex escapes")
    func escapes() throws {
        #expect(try expr(#""a\"b\\c\n\t\.""#) == "\"a\"b\\c\n\t\\.\"")
    }

    @Test("pseudo-variables keep name, argument, index and transformations")
    func pseudoVariables() throws {
        let pv = try ScriptPVSpec.parse("(hdr(Via)[$var(i)]{s.len}{s.substr,1,2})")
        #expect(pv.name == "hdr")
        #expect(pv.argument == "Via")
        #expect(pv.index == .pv(ScriptPVSpec(name: "var", argument: "i")))
        #expect(pv.transforms == [ScriptTransformSpec(klass: "s", name: "len", params: []),
                                  ScriptTransformSpec(klass: "s", name: "substr", params: ["1", "2"])])
        #expect(try ScriptPVSpec.parse("hdr(X)[-1]").index == .int(-1))
        #expect(try ScriptPVSpec.parse("T_branch_idx").name == "T_branch_idx")
        #expect(try ScriptPVSpec.parse("xavp(a=>b)").argument == "a=>b")
        #expect(try ScriptPVSpec.parse("(avp(x)[*])").index == .all)
    }

    @Test("global section: core params, loadpath, modparam with define expressions, custom vars")
    func globals() throws {
        let tree = try ScriptTestSupport.parse("""
        #!define BASE 100
        debug=-1
        listen=udp:1.2.3.4:5060 advertise 5.6.7.8:5060
        listen=tcp:[::1]:5060
        alias="host:5999"; children=4
        loadpath "/usr/lib"
        loadmodule "tm.so"
        modparam("tm", "fr_timer", BASE * 2 + 1)
        app.limit = 5 desc "the limit"
        """).get()
        #expect(tree.globals.map(\.name) == ["debug", "listen", "listen", "alias", "children", "app.limit"])
        #expect(tree.globals.map(\.rawValue) == ["-1", "udp:1.2.3.4:5060 advertise 5.6.7.8:5060", "tcp:[::1]:5060",
                                                 "\"host:5999\"", "4", "5 desc \"the limit\""])
        #expect(tree.loadPaths == ["/usr/lib"])
        #expect(tree.loadModules.map(\.path) == ["tm.so"])
        #expect(ScriptASTDump.expr(try #require(tree.modParams.first).value) == "(+ (* 100 2) 1)")
    }

    @Test("all route block forms")
    func routeForms() throws {
        let tree = try ScriptTestSupport.parse("""
        route { exit; }
        route[1] { exit; }
        route["QUOTED"] { exit; }
        branch_route[B] { exit; }
        failure_route[F] { exit; }
        onreply_route { exit; }
        onreply_route[R] { exit; }
        reply_route { exit; }
        onsend_route { exit; }
        event_route[tm:local-request] { exit; }
        """).get()
        #expect(tree.routes.map { "\($0.type.rawValue)[\($0.name)]" } == [
            "route[]", "route[1]", "route[QUOTED]", "branch_route[B]", "failure_route[F]",
            "onreply_route[]", "onreply_route[R]", "onreply_route[]", "onsend_route[]",
            "event_route[tm:local-request]"])
    }

    @Test("errors name the position and what was expected")
    func errors() {
        #expect(ScriptTestSupport.parseError("request_route {\n  exit\n}\n") == "t.cfg:3:1: expected ';' after statement, found '}'")
        #expect(ScriptTestSupport.parseError("request_route {\n  if $x { }\n}") == "t.cfg:2:6: expected '(' after 'if', found '$x'")
        #expect(ScriptTestSupport.parseError("request_route {\n  f(1,\n}") == "t.cfg:3:1: expected an expression, found '}'")
        #expect(ScriptTestSupport.parseError("request_route {\n  $var(x) 1;\n}") == "t.cfg:2:11: expected '=' or ':=' after '$var(x)', found '1'")
        #expect(ScriptTestSupport.parseError("request_route {\n  exit;\n") == "t.cfg:2:8: expected '}' to close the block, found end of file")
        #expect(ScriptTestSupport.parseError("failure_route { exit; }") == "t.cfg:1:15: expected '[NAME]' after 'failure_route', found '{'")
        #expect(ScriptTestSupport.parseError("foo(1);") == "t.cfg:1:1: expected a route block, 'loadmodule', 'modparam' or 'name = value', found 'foo'")
        #expect(ScriptTestSupport.parseError("request_route { $x = \"abc; }") == "t.cfg:1:22: expected closing \" of the string")
        #expect(ScriptTestSupport.parseError("request_route { switch ($x) { foo: } }") == "t.cfg:1:31: expected 'case', 'default' or '}' in switch, found 'foo'")
    }

    @Test("errors in included files point at the included file")
    func errorInInclude() throws {
        let dir = try ScriptTestSupport.tempDir(["m.cfg": "debug=1\ninclude_file \"r.cfg\"\n", "r.cfg": "request_route {\n exit\n}\n"])
        do {
            _ = try ScriptFrontEnd.parse(path: dir + "/m.cfg")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(dir)/r.cfg:3:1: expected ';' after statement, found '}'")
        }
    }

    @Test("random bytes and truncated scripts never crash the front end")
    func fuzz() throws {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("{}()[];,$\"'#!/*=<>|&^~+-. \n\tabcif0x9_:".utf8)
        for _ in 0..<400 {
            let n = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<n).map { _ in Bool.random(using: &rng) ? alphabet.randomElement(using: &rng) ?? 0 : UInt8.random(in: 0...255, using: &rng) }
            _ = ScriptTestSupport.parse(String(decoding: bytes, as: UTF8.self))
        }
        let ref = try String(contentsOfFile: ScriptTestSupport.fixture("ref.cfg"), encoding: .utf8)
        let chars = Array(ref)
        for cut in stride(from: 0, to: chars.count, by: 97) {
            _ = ScriptTestSupport.parse(String(chars[..<cut]))
        }
        _ = ScriptTestSupport.parse(String(repeating: "request_route { if (", count: 1) + String(repeating: "(", count: 5000))
        _ = ScriptTestSupport.parse("request_route {" + String(repeating: "{", count: 5000))
    }
}
