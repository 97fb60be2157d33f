import Foundation
import Testing
@testable import Shared

/// The values a method's JSON capture holds, as binrpc would deliver them: array-returning
/// methods add each element as its own top-level value.
private func capturedValues(_ method: String, exchange: Int) throws -> [RPCValue] {
    guard case .array(let exchanges)? = try Fixture.json(method + ".json")["exchanges"],
          let result = exchanges[exchange]["reply"]?["result"] else {
        Issue.record("no result in \(method) exchange \(exchange)")
        return []
    }
    if case .array(let elements) = result { return elements }
    return [result]
}

/// Captures taken in the same session as the kamcmd printouts, so the data agrees.
private let sameSession: [(method: String, exchange: Int, text: String)] = [
    ("core.ps", 0, "core.ps.txt"), ("core.psx", 0, "core.psx.txt"), ("core.info", 0, "core.info.txt"),
    ("core.version", 0, "core.version.txt"), ("cfg.list", 0, "cfg.list.txt"),
    ("ul.dump", 1, "ul.dump-brief.txt"), ("tm.stats", 0, "tm.stats.txt"),
    ("htable.dump", 3, "htable.dump.txt"), ("system.listMethods", 0, "system.listMethods.txt"),
]

@Suite("kamcmd rendering")
struct RPCTextRenderTests {
    @Test("replies print exactly as kamcmd printed the same data", arguments: sameSession.indices)
    func matchesKamcmd(_ index: Int) throws {
        let c = sameSession[index]
        let values = try capturedValues(c.method, exchange: c.exchange)
        #expect(!values.isEmpty)
        #expect(RPCTextRender.render(values) == (try Fixture.text("kamcmd/" + c.text)), "\(c.method)")
    }

    @Test("faults print as kamcmd's error line")
    func faults() throws {
        #expect(RPCTextRender.render(.commandNotFound("no.such.method")) == (try Fixture.text("kamcmd/error-unknown-method.txt")))
        #expect(RPCTextRender.render(.parameter(1, expected: .string, .endOfPacket))
            == (try Fixture.text("kamcmd/error-missing-param.txt")))
    }

    @Test("a binrpc reply with anonymous structs prints bare braces")
    func binrpcReply() throws {
        let section = HexDump.sections(try Fixture.text("binrpc/htable.dump.hex"))[1]
        guard case .reply(let values) = try BinrpcPacket.decode(section.bytes).body else { return }
        #expect(RPCTextRender.render(values) == """
            {
            \tentry: 6
            \tsize: 1
            \tslot: {
            \t\t{
            \t\t\tname: last_invite
            \t\t\tvalue: rpccancel1@127.0.0.1
            \t\t\ttype: str
            \t\t}
            \t}
            }
            {
            \tentry: 9
            \tsize: 1
            \tslot: {
            \t\t{
            \t\t\tname: counter
            \t\t\tvalue: 7
            \t\t\ttype: int
            \t\t}
            \t}
            }

            """)
        let version = HexDump.sections(try Fixture.text("binrpc/pipelining-and-corrupt-packet.hex"))[1]
        var decoder = BinrpcStreamDecoder()
        decoder.append(version.bytes)
        guard case .packet(let p) = decoder.next(), case .reply(let v) = p.body else { return }
        #expect(RPCTextRender.render(v) == (try Fixture.text("kamcmd/core.version.txt")))
        #expect(RPCTextRender.render([]) == "")
    }

    @Test("duplicate members and embedded line breaks print raw, as in tm.list")
    func tmListSameBucket() throws {
        guard case .array(let exchanges)? = try Fixture.json("tm.list.json")["exchanges"],
              let raw = exchanges[1]["reply"]?["__raw_text_with_duplicate_keys__"]?.stringValue,
              case .result(.array(let buckets)) = try JSONRPCReply.decode(Array(raw.utf8)).outcome else {
            Issue.record("tm.list capture")
            return
        }
        let printed = RPCTextRender.render(buckets)
        #expect(printed.contains("\r\n"))
        // The stored printout has its CR bytes stripped by the capture; compare without them.
        let want = try Fixture.text("kamcmd/tm.list-same-bucket.txt")
        #expect(printed.replacingOccurrences(of: "\r\n", with: "\n") == want)
    }

    @Test("doubles print as integers when whole and with six decimals otherwise")
    func doubles() {
        #expect(RPCTextRender.render([.object(["Q": 0.5, "R": -1.0, "S": 3])]) == "{\n\tQ: 0.500000\n\tR: -1\n\tS: 3\n}\n")
        #expect(RPCTextRender.render([.object(["bool": true, "null": nil, "list": ["a", .object(["b": 1])]])])
            == "{\n\tbool: 1\n\tnull: <null string>\n\tlist: {\n\t\ta\n\t\tb: 1\n\t}\n}\n")
    }

    @Test("-f formats substitute %v with successive values and restart")
    func formats() throws {
        let ps = try capturedValues("core.ps", exchange: 0)
        let lines = RPCTextRender.render(ps, format: "%v\\t%v\\n").split(separator: "\n")
        #expect(lines.count == ps.count / 2)
        #expect(lines.first == "5713\tmain process - attendant")
        let who: [RPCValue] = ["binrpc", "unix_stream", "<anonymous unix socket>", "", "/run/kamailio/kamailio_ctl", ""]
        #expect(RPCTextRender.render(who, format: "[%v] %v: %v %v -> %v %v\\n")
            == "[binrpc] unix_stream: <anonymous unix socket>  -> /run/kamailio/kamailio_ctl \n")
        #expect(RPCTextRender.render([.object(["a": 1, "b": 2])], format: "%v,") == "1,2,")
        #expect(RPCTextRender.render([1, 2, 3], format: "%v %v\\n") == "1 2\n3 ")
    }
}
