import SIPTransport
import Testing
@testable import ScriptEngine

@Suite("Core parameters")
struct ScriptCoreParamsTests {
    private func core(_ text: String, defines: [String] = []) throws -> ScriptCoreConfig {
        try ScriptCoreParams.build(try ScriptTestSupport.parse(text, defines: defines).get().globals)
    }

    @Test("ref.cfg's global section resolves to typed values")
    func refGlobals() throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture("ref.cfg"), defines: ["SIP_PORT=5999"])
        let c = try ScriptCoreParams.build(tree.globals)
        #expect(c.debug == 2)
        #expect(c.children == 2)
        #expect(c.disableTCP)
        #expect(!c.autoAliases)
        #expect(!c.logStderror)
        #expect(c.logFacility == "LOG_LOCAL0")
        #expect(c.logPrefix == "{$mt $hdr(CSeq) $ci} ")
        #expect(c.listens == [ListenSpec(proto: .udp, host: "127.0.0.1", port: 5999)])
        #expect(c.aliases == [ScriptAlias(proto: nil, host: "sip.test", port: nil, quoted: false)])
        #expect(c.serverHeader == "Server: kamailiod-harness")
        #expect(c.userAgentHeader == "User-Agent: kamailiod-harness")
        #expect(!c.sipWarning)
        #expect(c.memdbg == 5)
    }

    @Test("negative numbers, on/off and defines as values")
    func benchGlobals() throws {
        let tree = try ScriptFrontEnd.parse(path: ScriptTestSupport.fixture("bench-stateless.cfg"), defines: ["BENCH_CHILDREN=6"])
        let c = try ScriptCoreParams.build(tree.globals)
        #expect(c.debug == -1)
        #expect(c.children == 6)
        #expect(c.maxBuffer == 4_194_304)
        #expect(!c.useDNSCache)
        #expect(c.fork)
        #expect(c.logStderror)
    }

    @Test("listen forms: IPv6, advertise, no transport, default port")
    func listens() throws {
        let c = try core("""
        port=5070
        listen=tcp:[::1]:5061
        listen=udp:1.2.3.4:5060 advertise 5.6.7.8:5080
        listen=10.0.0.1
        listen=tls:host.example
        """)
        #expect(c.listens == [
            ListenSpec(proto: .tcp, host: "::1", port: 5061),
            ListenSpec(proto: .udp, host: "1.2.3.4", port: 5060, advertiseHost: "5.6.7.8", advertisePort: 5080),
            ListenSpec(proto: .udp, host: "10.0.0.1", port: 5070),
            ListenSpec(proto: .tcp, host: "10.0.0.1", port: 5070),
            ListenSpec(proto: .tls, host: "host.example", port: 5061),
        ])
    }

    @Test("disable_tcp after a transport-less listen still applies")
    func listenOrder() throws {
        let c = try core("listen=10.0.0.1:5060\ndisable_tcp=yes\n")
        #expect(c.listens == [ListenSpec(proto: .udp, host: "10.0.0.1", port: 5060)])
    }

    @Test("quoted aliases with a port are told apart; a quoted plain host is like an unquoted one")
    func aliases() throws {
        let c = try core("alias=\"a.example:5999\"\nalias=udp:b.example:5060\nalias=\"c.example\"\n")
        #expect(c.aliases == [ScriptAlias(proto: nil, host: "a.example", port: 5999, quoted: true),
                              ScriptAlias(proto: .udp, host: "b.example", port: 5060, quoted: false),
                              ScriptAlias(proto: nil, host: "c.example", port: nil, quoted: false)])
    }

    @Test("custom cfg variables keep value and description")
    func customVars() throws {
        let c = try core("app.limit = 5 desc \"the limit\"\napp.name = \"x\"\n")
        #expect(c.customVars.map(\.group) == ["app", "app"])
        #expect(c.customVars.map(\.name) == ["limit", "name"])
        #expect(c.customVars.map(\.value) == [.int(5), .string("x")])
        #expect(c.customVars.first?.description == "the limit")
    }

    @Test("unknown parameters and wrong types are errors at the line")
    func errors() throws {
        #expect(throws: ScriptError("unknown core parameter 'childrn'", at: ScriptSourceLocation(file: "t.cfg", line: 2, column: 1))) {
            _ = try core("debug=1\nchildrn=4\n")
        }
        #expect(throws: ScriptError("expected an integer, found \"x\" for core parameter 'children'",
                                    at: ScriptSourceLocation(file: "t.cfg", line: 1, column: 10))) {
            _ = try core("children=\"x\"\n")
        }
        #expect(throws: ScriptError("invalid port '99999' for core parameter 'listen'",
                                    at: ScriptSourceLocation(file: "t.cfg", line: 1, column: 8))) {
            _ = try core("listen=udp:1.2.3.4:99999\n")
        }
    }
}
