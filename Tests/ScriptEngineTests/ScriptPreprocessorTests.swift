import Foundation
import Testing
@testable import ScriptEngine

@Suite("Preprocessor")
struct ScriptPreprocessorTests {
    @Test("a define replaces whole identifiers but not text inside strings or pseudo-variables")
    func defineSubstitution() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!define PORT 5072
        #!define X 2 + 3
        a = PORT; b = "PORT"; c = $var(PORT); d = PORTS; e = X * 2
        """)
        #expect(out.map(\.0) == [#"a = 5072; b = "PORT"; c = $var(PORT); d = PORTS; e = 2 + 3 * 2"#])
        #expect(out[0].2 == 3)
    }

    @Test("command-line defines set flags and quoted values")
    func commandLineDefines() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!ifdef WITH_X
        x = DBURL
        #!endif
        """, defines: ["WITH_X", #"DBURL="sqlite:////tmp/a.db""#])
        #expect(out.map(\.0) == [#"x = "sqlite:////tmp/a.db""#])
    }

    @Test("nested ifdef, ifndef and else keep only the active branches")
    func nestedConditions() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!define A
        #!ifdef A
        one
        #!ifndef B
        two
        #!else
        three
        #!endif
        #!else
        four
        #!ifdef A
        five
        #!endif
        #!endif
        six
        """)
        #expect(out.map(\.0) == ["one", "two", "six"])
        #expect(out.map(\.2) == [3, 5, 15])
    }

    @Test("trydef does not override and redefine does; define twice is an error")
    func trydefRedefine() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!define A 1
        #!trydef A 2
        #!trydef B 3
        x A B
        #!redefine A 4
        y A
        """)
        #expect(out.map(\.0) == ["x 1 3", "y 4"])
        #expect(throws: ScriptError("'A' is already defined", at: ScriptSourceLocation(file: "main.cfg", line: 2))) {
            _ = try ScriptTestSupport.preprocess("#!define A 1\n#!define A 2\n")
        }
    }

    @Test("unmatched endif, else and a missing endif are errors with file and line")
    func unmatchedConditions() {
        #expect(ScriptTestSupport.parseError("a=1\n#!endif\n") == "t.cfg:2:1: #!endif without matching #!ifdef/#!ifndef")
        #expect(ScriptTestSupport.parseError("#!else\n") == "t.cfg:1:1: #!else without matching #!ifdef/#!ifndef")
        #expect(ScriptTestSupport.parseError("\n#!ifdef X\n") == "t.cfg:2:1: missing #!endif for the #!ifdef/#!ifndef opened here")
    }

    @Test("comments of all three kinds are removed but not inside strings")
    func comments() throws {
        let out = try ScriptTestSupport.preprocess("""
        a # hash
        b // slashes
        c /* block */ d
        e /* multi
        line */ f "g # // /* h"
        """)
        #expect(out.map(\.0) == ["a", "b", "c             d", "e", #"f "g # // /* h""#])
        #expect(out.last?.2 == 5)
    }

    @Test("substdef replaces inside strings and defines the name")
    func substdef() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!substdef "!SIP_DOMAIN!sip.test!g"
        alias=SIP_DOMAIN
        if ($td != "SIP_DOMAIN" + "@SIP_DOMAIN") {}
        """)
        #expect(out.map(\.0) == ["alias=sip.test", #"if ($td != "sip.test" + "@sip.test") {}"#])
    }

    @Test("subst with groups and without the g flag replaces once")
    func substGroups() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!subst "/a(b+)/<\\1>/"
        x abb abbb
        """)
        #expect(out.map(\.0) == ["x <bb> abbb"])
    }

    @Test("include_file is relative to the including file and maps lines to the included file")
    func includeRelative() throws {
        let dir = try ScriptTestSupport.tempDir([
            "main.cfg": "a=1\ninclude_file \"sub/part.cfg\"\nb=2\n",
            "sub/part.cfg": "\n#!define Z 9\nc=Z\ninclude_file \"leaf.cfg\"\n",
            "sub/leaf.cfg": "d=4\n",
        ])
        var pp = ScriptPreprocessor(defines: [])
        let out = try pp.run(path: dir + "/main.cfg")
        let pairs = zip(out.lines, out.origins).compactMap { l, o in
            l.isEmpty ? nil : (String(decoding: l, as: UTF8.self), (o.file as NSString).lastPathComponent, o.line)
        }
        #expect(pairs.map(\.0) == ["a=1", "c=9", "d=4", "b=2"])
        #expect(pairs.map(\.1) == ["main.cfg", "part.cfg", "leaf.cfg", "main.cfg"])
        #expect(pairs.map(\.2) == [1, 3, 1, 3])
    }

    @Test("an include loop and a missing include_file are errors; a missing import_file is not")
    func includeErrors() throws {
        let dir = try ScriptTestSupport.tempDir([
            "a.cfg": "include_file \"b.cfg\"\n",
            "b.cfg": "x=1\n#!include_file \"a.cfg\"\n",
            "c.cfg": "import_file \"nope.cfg\"\ninclude_file \"nope.cfg\"\n",
        ])
        var pp = ScriptPreprocessor(defines: [])
        #expect(throws: ScriptError.self) { _ = try pp.run(path: dir + "/a.cfg") }
        do {
            _ = try pp.run(path: dir + "/a.cfg")
        } catch {
            #expect(error.description == "\(dir)/b.cfg:2:1: include loop: 'a.cfg' is already being included")
        }
        do {
            _ = try pp.run(path: dir + "/c.cfg")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "\(dir)/c.cfg:2:1: cannot open included file 'nope.cfg'")
        }
    }

    @Test("define continuation lines keep the line numbering")
    func continuation() throws {
        let out = try ScriptTestSupport.preprocess("#!define LONG 1 + \\\n 2\nx = LONG\n")
        #expect(out.map(\.0) == ["x = 1 +  2"])
        #expect(out.map(\.2) == [3])
    }

    @Test("defenv defines from the environment, quoted with defenvs; a missing variable defines nothing")
    func defenv() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let out = try ScriptTestSupport.preprocess("""
        #!defenv PATH
        #!defenvs P2=PATH
        #!defenv NOPE=KAMAILIOD_TEST_UNSET_VARIABLE
        #!ifdef NOPE
        wrong
        #!endif
        a PATH
        b P2
        """)
        #expect(out.map(\.0) == ["a \(path)", "b \"\(path)\""])
    }

    @Test("strings may span lines: comments, directives and defines inside them are text")
    func multiLineStrings() throws {
        let out = try ScriptTestSupport.preprocess("""
        #!define X 1
        a = "one # two
        #!define Y 2
        X // three" X
        $(ru{re.subst,/;transport=[a-z]*//g}) // gone
        """)
        #expect(out.map(\.0) == [#"a = "one # two"#, "#!define Y 2", #"X // three" 1"#, "$(ru{re.subst,/;transport=[a-z]*//g})"])
    }
}
