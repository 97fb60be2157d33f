import Testing
import ScriptEngine
@testable import BuiltinModules

/// The `X-R` lines a script queued with `append_to_reply`, values only.
func replyValues(_ ctx: ScriptContext) -> [String] {
    ctx.core.replyHeaders.map { String(decoding: $0, as: UTF8.self) }.map { line in
        line.hasPrefix("X-R: ") ? String(line.dropFirst(5)) : line
    }
}

@Suite("htable")
struct HTableModuleTests {
    private func harness(_ body: String, tables: [String] = ["t=>size=4;"], routes: String = "") throws -> ModuleHarness {
        let defs = tables.map { "modparam(\"htable\", \"htable\", \"\($0)\")\n" }.joined()
        return try ModuleHarness("loadmodule \"htable.so\"\nloadmodule \"textops.so\"\nloadmodule \"pv.so\"\n\(defs)"
            + "request_route {\n\(body)\n}\n\(routes)")
    }

    @Test("values as observed on 5.6: increments, initval, null removal, dynamic keys")
    func values() throws {
        // expectations recorded from Kamailio 5.6.3 with the same statements
        let h = try harness("""
            $sht(t=>a) = 5; $var(x) = $shtinc(t=>a);
            $var(m) = $shtinc(t=>miss);
            $sht(t=>s) = "abc"; $var(b) = $shtinc(t=>s);
            $var(k) = "dyn"; $sht(t=>x$var(k)y) = "E";
            $sht(t=>n) = 1; $sht(t=>n) = $null;
            $var(i) = $shtinc(u=>c); $var(d) = $shtdec(u=>d);
            append_to_reply("X-R: $var(x)|$sht(t=>a)|$var(m)|$sht(t=>miss)|$var(b)|$sht(t=>s)|$sht(t=>xdyny)|$sht(t=>n)\\r\\n");
            append_to_reply("X-R: $var(i)|$var(d)|$sht(u=>none)|$shtcn(t=>^x)\\r\\n");
            """, tables: ["t=>size=4;", "u=>size=2;initval=7"])
        let ctx = try h.run(request())
        #expect(replyValues(ctx) == ["6|6|0|<null>|0|abc|E|<null>", "8|6|7|1"])
    }

    @Test("autoexpire sets $shtex; writing $shtex changes it; sht_rm removes; sht_lock nests with access")
    func expiryAndLocks() throws {
        let h = try harness("""
            $sht(t=>a) = "x"; $var(e) = $shtex(t=>a);
            sht_lock("t=>a"); $sht(t=>a) = "y"; sht_lock("t=>a"); sht_unlock("t=>a"); sht_unlock("t=>a");
            $sht(t=>b) = 1; $shtex(t=>b) = 0;
            $sht(t=>c) = 2; sht_rm("t", "c");
            append_to_reply("X-R: $var(e)|$sht(t=>a)|$shtex(t=>b)|$sht(t=>c)|$shtex(t=>none)\\r\\n");
            """, tables: ["t=>size=3;autoexpire=60"])
        #expect(replyValues(try h.run(request())) == ["60|y|0|<null>|0"])
    }

    @Test("tables are shared: the mod-init event route fills them, later messages see and change them")
    func sharedAndModInit() throws {
        let h = try harness("$var(n) = $shtinc(t=>n); append_to_reply(\"X-R: $var(n) $sht(t=>who)\\r\\n\");",
                            tables: ["t=>size=4;initval=0"],
                            routes: "event_route[htable:mod-init] {\n $sht(t=>who) = \"me\"; $sht(t=>n) = 10;\n}\n")
        #expect(replyValues(try h.run(request())) == ["11 me"])
        #expect(replyValues(try h.run(request())) == ["12 me"])
        let table = try #require(h.modules.all.compactMap { $0 as? HTableModule }.first?.table("t"))
        #expect(table.get("n") == .int(12))
    }

    @Test("sht_rm_name_re and sht_rm_value_re remove matching items")
    func removeByRegex() throws {
        let h = try harness("""
            $sht(t=>a1) = "keep"; $sht(t=>a2) = "drop"; $sht(t=>b) = "x";
            sht_rm_name_re("t=>^a1$"); sht_rm_value_re("t=>^dr");
            append_to_reply("X-R: $sht(t=>a1)|$sht(t=>a2)|$sht(t=>b)\\r\\n");
            """)
        #expect(replyValues(try h.run(request())) == ["<null>|<null>|x"])
    }

    @Test("counting under contention: $shtinc from many threads loses no update")
    func concurrentIncrements() async throws {
        let table = HTable(try HTableDefinition(parsing: "c=>size=1;initval=0"))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { for _ in 0..<1000 { _ = table.add("k", 1) } } }
        }
        #expect(table.get("k") == .int(8000))
    }

    @Test("bad definitions and unknown tables are load errors")
    func errors() {
        func loadError(_ text: String) -> String? {
            do { _ = try ModuleHarness(text); return nil } catch { return "\(error)" }
        }
        #expect(loadError("loadmodule \"htable.so\"\nmodparam(\"htable\", \"htable\", \"t=>size=x\")\n")
            == "test.cfg:2:30: modparam 'htable'/'htable': 'size' needs a number, found 'x'")
        #expect(loadError("loadmodule \"htable.so\"\nrequest_route {\n $var(a) = $sht(nope=>k);\n}\n")?
            .contains("htable 'nope' is not defined") == true)
    }
}
