import Foundation
import Testing
@testable import ScriptEngine

@Suite("Compiler and loader")
struct ScriptCompilerTests {
    private func err(_ body: String, routes: String = "", globals: String = "") -> String? {
        ScriptRunner.loadError("\(globals)loadmodule \"test.so\"\nrequest_route {\n\(body)\n}\n\(routes)")
    }

    @Test("a module that kamailiod does not have is an error at the loadmodule line")
    func unknownModule() {
        #expect(ScriptRunner.loadError("debug=1\nloadmodule \"/usr/lib/kamailio/nope.so\"\n")
            == "t.cfg:2:1: module 'nope' is not available in kamailiod")
    }

    @Test("unknown functions, wrong arity and undefined routes are errors with their location")
    func unknownNames() {
        #expect(err("  foo();") == "t.cfg:3:3: unknown function 'foo'")
        #expect(err("  ok(1);") == "t.cfg:3:3: function 'ok' takes 0 arguments, found 1")
        #expect(err("  two_or_three(1);") == "t.cfg:3:3: function 'two_or_three' takes 2 to 3 arguments, found 1")
        #expect(err("  route(NOPE);") == "t.cfg:3:9: route 'NOPE' is not defined")
        #expect(err("  if (route(NOPE)) exit;") == "t.cfg:3:13: route 'NOPE' is not defined")
        #expect(err("  if (has_totag) exit;") == "t.cfg:3:7: unknown function 'has_totag'")
    }

    @Test("a function of a module that is not loaded is unknown, and the error names the module")
    func notLoaded() {
        #expect(ScriptRunner.loadError("request_route {\n ok();\n}\n")
            == "t.cfg:2:2: unknown function 'ok' (module 'test' is not loaded)")
    }

    @Test("every missing module is reported at once, one line each, and nothing else")
    func allMissingModules() {
        let text = "loadmodule \"test.so\"\nloadmodule \"tmx.so\"\nloadmodule \"a/b/htable.so\"\n"
            + "request_route {\n  nosuch();\n}\n"
        #expect(ScriptRunner.loadError(text)
            == "t.cfg:2:1: module 'tmx' is not available in kamailiod\nt.cfg:3:1: module 'htable' is not available in kamailiod")
    }

    @Test("functions are refused in blocks of other families; route[] blocks count as request routes wherever called from, as on 5.6")
    func routeFamilies() {
        #expect(err("  req_only();", routes: "failure_route[F] {\n  req_only();\n}\n")
            == "t.cfg:6:3: function 'req_only' cannot be used in failure routes")
        #expect(err("  route(S);", routes: "route[S] {\n  req_only();\n}\nfailure_route[F] {\n  route(S);\n}\n")
            == nil)
        #expect(err("  route(S);", routes: "route[S] {\n  req_only();\n}\n") == nil)
    }

    @Test("fixups turn bad constant arguments into load-time errors at the argument")
    func fixups() {
        #expect(err("  ret(\"abc\");") == "t.cfg:3:7: expected an integer as argument 1 of 'ret', found \"abc\"")
        #expect(err("  arm_failure(\"NOPE\");") == "t.cfg:3:15: failure_route[NOPE] is not defined")
        #expect(err("  arm_failure(\"F\");", routes: "failure_route[F] { exit; }") == nil)
        #expect(err("  out(\"$nope\");") == "t.cfg:3:7: unknown pseudo-variable '$nope'")
        #expect(err("  setpv(\"$rm\", \"x\");") == "t.cfg:3:9: '$rm' cannot be assigned")
        #expect(err("  setpv(\"nopv\", \"x\");") == "t.cfg:3:9: expected a pseudo-variable as argument 1 of 'setpv'")
        #expect(err("  setpv(\"$(bad\", \"x\");") == "t.cfg:3:9: expected ')' to close '$(bad'")
        #expect(err("  setpv($var(a), \"$rU-$rd\"); setpv(\"$var(b)\", 1);") == nil)
    }

    @Test("pseudo-variables: unknown names, read-only assignment, bad transformations")
    func pseudoVariables() {
        #expect(err("  $foo = 1;") == "t.cfg:3:3: unknown pseudo-variable '$foo'")
        #expect(err("  $rm = 1;") == "t.cfg:3:3: '$rm' cannot be assigned")
        #expect(err("  $var(x) = $(rU{s.nope});") == "t.cfg:3:13: unknown transformation '{s.nope}' in '$(rU{s.nope})'")
        #expect(err("  $var(x) = $hdr();") == "t.cfg:3:13: $hdr needs a header name in '$hdr()'")
    }

    @Test("constant expressions of mixed type are refused as Kamailio does")
    func mixedConstants() {
        #expect(err("  $var(x) = 1 + \"2\";") == "t.cfg:3:13: invalid constant expression: type mismatch in '1 + \"2\"'")
        #expect(err("  if (0 == \"\") exit;") == "t.cfg:3:7: invalid constant expression: type mismatch in '0 == \"\"'")
        #expect(err("  if (\"a\" < \"b\") exit;") != nil)
        #expect(err("  if (!\"\") exit;") == "t.cfg:3:7: invalid constant expression: '!' needs an integer")
        #expect(err("  if (123 =~ \"x\") exit;") != nil)
        #expect(err("  if (0 == $null) exit;") != nil)
        #expect(err("  $var(x) = \"a\" + 1; if ($null == 0 && \"07\" == 7) exit;") == nil)
        #expect(err("  if ($rm =~ \"(\") exit;")?.hasPrefix("t.cfg:3:14: invalid regular expression '('") == true)
    }

    @Test("modparam: unloaded module, unknown parameter, wrong type, rejected value")
    func modparams() {
        let base = "loadmodule \"test.so\"\n"
        #expect(ScriptRunner.loadError(base + "modparam(\"tm\", \"x\", 1)\n") == "t.cfg:2:1: modparam for module 'tm', which is not loaded")
        #expect(ScriptRunner.loadError(base + "modparam(\"test\", \"nope\", 1)\n") == "t.cfg:2:1: module 'test' has no parameter 'nope'")
        #expect(ScriptRunner.loadError(base + "modparam(\"test\", \"count\", \"x\")\n")
            == "t.cfg:2:27: modparam 'test'/'count' expects an integer, found \"x\"")
        #expect(ScriptRunner.loadError(base + "modparam(\"test\", \"label\", 3)\n")
            == "t.cfg:2:27: modparam 'test'/'label' expects a string, found 3")
        #expect(ScriptRunner.loadError(base + "modparam(\"test\", \"count\", -2)\n")
            == "t.cfg:2:27: modparam 'test'/'count': must not be negative")
    }

    @Test("modparam values: integers, define expressions, yes/no words, strings; init runs after load")
    func modparamValues() throws {
        let services = ScriptTestServices()
        let module = ScriptTestModule(services: services)
        _ = try ScriptLoader.load(text: """
        #!define BASE 20
        loadmodule "test.so"
        modparam("test", "count", BASE * 2 + 1)
        modparam("test", "label", "hello")
        """, modules: [module])
        #expect(module.param("count") == .int(41))
        #expect(module.param("label") == .string("hello"))
        #expect(module.initialized)
        _ = try ScriptLoader.load(text: "loadmodule \"test.so\"\nmodparam(\"test\", \"count\", yes)\n", modules: [module])
        #expect(module.param("count") == .int(1))
    }

    @Test("the stock kamailio.cfg compiles against stub modules, with every feature define",
          .enabled(if: FileManager.default.fileExists(atPath: ScriptParserTests.stockConfigPath)))
    func stockCompiles() throws {
        let all = ["WITH_MYSQL", "WITH_AUTH", "WITH_USRLOCDB", "WITH_NAT", "WITH_PRESENCE", "WITH_TLS", "WITH_ANTIFLOOD",
                   "WITH_DEBUG", "WITH_ACCDB", "WITH_JSONRPC", "WITH_IPAUTH", "WITH_MSILO", "WITH_PSTN", "WITH_BLOCK3XX",
                   "WITH_BLOCK401407", "WITH_VOICEMAIL", "WITH_XHTTP", "WITH_SPEEDDIAL", "WITH_ALIASDB",
                   "WITH_MULTIDOMAIN", "WITH_NATSIPPING", "WITH_RTPENGINE"]
        for defines in [[], all] {
            let path = ScriptParserTests.stockConfigPath
            let modules = ScriptStubModules.make(for: try ScriptFrontEnd.parse(path: path, defines: defines))
            _ = try ScriptLoader.load(path: path, defines: defines, modules: modules)
        }
    }

    @Test("a modparam module name is a regular expression over the loaded modules")
    func modparamRegex() throws {
        let services = ScriptTestServices()
        let module = ScriptTestModule(services: services)
        _ = try ScriptLoader.load(text: "loadmodule \"test.so\"\nmodparam(\"nope|test\", \"count\", 4)\n", modules: [module])
        #expect(module.param("count") == .int(4))
        #expect(ScriptRunner.loadError("loadmodule \"test.so\"\nmodparam(\"nope|other\", \"count\", 4)\n")
            == "t.cfg:2:1: modparam for module 'nope|other', which is not loaded")
    }

    @Test("$sel(cfg_get.group.var) reads custom cfg variables; other selects are refused")
    func selects() throws {
        let (out, _) = try ScriptRunner.run("out(\"$sel(cfg_get.pstn.gw_ip)\");", routes: "", message: ScriptRunner.invite,
                                            script: try ScriptRunner.load("""
        pstn.gw_ip = "10.9.9.9" desc "gateway"
        loadmodule "test.so"
        request_route { out("$sel(cfg_get.pstn.gw_ip)|$(sel(cfg_get.pstn.gw_ip){s.len})"); }
        """))
        #expect(out == ["10.9.9.9|8"])
        #expect(err("  out(\"$sel(ruri.user)\");") == "t.cfg:3:7: only $sel(cfg_get.group.var) is supported in '$sel(ruri.user)'")
    }

    @Test("a route defined twice is an error")
    func duplicateRoute() {
        #expect(err("  exit;", routes: "route[A] { exit; }\nroute[A] { exit; }\n") == "t.cfg:6:1: route[A] is defined twice")
    }

    @Test("core modules are enabled without loadmodule")
    func coreModule() throws {
        final class Core: ScriptModule, @unchecked Sendable {
            let name = "core"
            var isCore: Bool { true }
            var parameters: [ScriptModuleParameter] { [] }
            var functions: [ScriptFunction] { [ScriptFunction("core_fn", arity: 0...0) { _, _ in 1 }] }
        }
        #expect(ScriptRunner.loadError("request_route { core_fn(); }", extra: [Core()]) == nil)
    }

    @Test("mutated real scripts never crash the loader")
    func fuzzLoader() throws {
        let path = ScriptTestSupport.fixture("ref.cfg")
        let modules = ScriptStubModules.make(for: try ScriptFrontEnd.parse(path: path))
        let original = Array(try String(contentsOfFile: path, encoding: .utf8).utf8)
        let alphabet = Array("{}()[];,$\"'#!=<>|&^~+-*/ \nabcif0x9_:.@".utf8)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[at] = alphabet.randomElement(using: &rng) ?? 0x20
            }
            _ = try? ScriptLoader.load(text: String(decoding: bytes, as: UTF8.self), name: "ref.cfg", modules: modules)
        }
        let extremes = ["0x8000000000000000", "-0x8000000000000000", "99999999999999999999", "$(rU{s.substr,9223372036854775807,9223372036854775807})"]
        for e in extremes {
            _ = try? ScriptRunner.run("$var(x) = \(e); out(\"$var(x)\"); switch ($var(x)) { case -0x8000000000000000: exit; }")
        }
    }

    @Test("the real scripts compile against modules declaring the functions they use",
          arguments: ScriptTestSupport.sharedScripts)
    func realScriptsCompile(name: String) throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture(name))
        let modules = ScriptStubModules.make(for: tree)
        let script = try ScriptLoader.load(path: ScriptTestSupport.fixture(name), modules: modules)
        #expect(script.hasRoute(.request))
        if name == "ref.cfg" {
            #expect(script.hasRoute(.failure, "MANAGE_FAILURE"))
            #expect(script.hasRoute(.event, "htable:mod-init"))
            #expect(!script.hasRoute(.onreply))
            #expect(script.core.children == 2)
        }
    }
}

/// Stub modules built from a script's own `loadmodule`/`modparam` lines and function
/// calls, so the compiler can be run over real scripts before the real modules exist.
enum ScriptStubModules {
    final class Stub: ScriptModule, @unchecked Sendable {
        let name: String
        let parameters: [ScriptModuleParameter]
        let functions: [ScriptFunction]
        let pseudoVariables: [ScriptPVDefinition]
        init(name: String, parameters: [ScriptModuleParameter], functions: [ScriptFunction], pvs: [ScriptPVDefinition]) {
            self.name = name
            self.parameters = parameters
            self.functions = functions
            self.pseudoVariables = pvs
        }
    }

    static func make(for tree: ScriptSyntaxTree) -> [any ScriptModule] {
        var calls: Set<String> = []
        func walk(_ e: ScriptExpression) {
            switch e.kind {
            case .call(let c): calls.insert(c.name); c.arguments.forEach(walk)
            case .unary(_, let x): walk(x)
            case .binary(_, let a, let b): walk(a); walk(b)
            default: break
            }
        }
        func walk(_ s: [ScriptStatement]) {
            for st in s {
                switch st.kind {
                case .call(let c): calls.insert(c.name)
                case .assign(_, let e, _): walk(e)
                case .ifElse(let c, let t, let e): walk(c); walk(t); walk(e ?? [])
                case .switchCase(let e, let cases): walk(e); cases.forEach { walk($0.body) }
                case .whileLoop(let c, let b): walk(c); walk(b)
                case .returnValue(let e): if let e { walk(e) }
                case .block(let b): walk(b)
                default: break
                }
            }
        }
        tree.routes.forEach { walk($0.body) }
        calls.remove("route")
        let names = tree.loadModules.map { ScriptLoader.moduleName($0.path) }
        var out: [any ScriptModule] = []
        for (i, n) in names.enumerated() {
            let params = tree.modParams.filter { $0.module.split(separator: "|").contains(Substring(n)) }.map { p -> ScriptModuleParameter in
                var kind = ScriptModuleParameter.Kind.int
                if case .string = p.value.kind { kind = .string }
                return ScriptModuleParameter(p.name, kind) { _ in }
            }
            let fns = i == 0 ? calls.map { ScriptFunction($0, arity: 0...6) { _, _ in 1 } } : []
            let pvs = i == 0 ? ["sht", "shtinc", "dlg_var", "T_branch_idx", "T_reply_code", "hu"].map { n in
                ScriptPVDefinition(n) { _, _ throws(ScriptError) in ScriptPVAccessor(get: { _ in .null }, set: { _, _, _ in }) }
            } : []
            out.append(Stub(name: n, parameters: params, functions: fns, pvs: pvs))
        }
        return out
    }
}
