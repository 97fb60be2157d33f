import Testing
import SIPCore
import ScriptEngine
@testable import BuiltinModules

@Suite("rr module")
struct RRModuleTests {
    @Test("record_route_preset: lr, ftag and add_rr_param parameters given before or after it, at the top")
    func presetWithParams() throws {
        let h = try ModuleHarness("""
        loadmodule "rr.so"
        request_route { add_rr_param("did=12.ab"); record_route_preset("10.0.0.1:5080;transport=tcp"); }
        """)
        let ctx = try h.run(request("INVITE"))
        // the line waits for the request to be sent; a parameter added later still goes in
        #expect(!wire(ctx).contains("Record-Route"))
        ctx.rr.pendingParams += Array(";late=1".utf8)
        ctx.applyPendingEdits()
        let out = wire(ctx)
        // Kamailio writes lr last in the preset form
        #expect(out.contains("Record-Route: <sip:10.0.0.1:5080;transport=tcp;ftag=a1;did=12.ab;late=1;lr>\r\n"))
        // Kamailio puts a first Record-Route at the top of the header section
        #expect(out.hasPrefix("INVITE sip:bob@example.com SIP/2.0\r\nRecord-Route: "))
    }

    @Test("record_route_preset with two addresses: two Record-Routes, the first address on top, both with the parameters")
    func presetTwoAddresses() throws {
        let h = try ModuleHarness("""
        loadmodule "rr.so"
        request_route { add_rr_param(";foo=1"); record_route_preset("1.1.1.1:5060", "sip:2.2.2.2:5070;transport=tcp"); }
        """)
        let ctx = try h.run(request("INVITE"))
        ctx.applyPendingEdits()
        #expect(wire(ctx).contains("Record-Route: <sip:1.1.1.1:5060;ftag=a1;foo=1;lr>\r\n"
                                   + "Record-Route: <sip:2.2.2.2:5070;transport=tcp;ftag=a1;foo=1;lr>\r\n"))
    }

    @Test("$route_uri is the first Route's URI, null without one")
    func routeURI() throws {
        let h = try ModuleHarness("""
        loadmodule "rr.so"
        loadmodule "textops.so"
        request_route { if ($route_uri == $null) { append_hf("X-R: none\\r\\n"); } else { append_hf("X-R: $route_uri\\r\\n"); } }
        """)
        #expect(wire(try h.run(request(extra: ["Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>"]))).contains("X-R: sip:p1.example.com;lr\r\n"))
        #expect(wire(try h.run(request())).contains("X-R: none\r\n"))
    }

    @Test("loose_route sends to a foreign top Route and reports no Route as false")
    func looseRouteForeign() throws {
        let h = try ModuleHarness("""
        loadmodule "rr.so"
        request_route { if (loose_route()) { return 2; } return 3; }
        """)
        let ctx = try h.run(request(extra: ["Route: <sip:p1.example.com;lr>"]))
        #expect(h.lastResult?.code == 2)
        #expect(ctx.destinationURI.map { String(decoding: $0, as: UTF8.self) } == "sip:p1.example.com;lr")
        _ = try h.run(request())
        #expect(h.lastResult?.code == 3)
    }
}
