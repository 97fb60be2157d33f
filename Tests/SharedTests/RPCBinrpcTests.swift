import Foundation
import Testing
@testable import Shared

/// Decodes every packet of a section with the streaming decoder.
private func decodeAll(_ bytes: [UInt8]) -> [BinrpcStreamEvent] {
    var decoder = BinrpcStreamDecoder()
    decoder.append(bytes)
    var events: [BinrpcStreamEvent] = []
    while true {
        let e = decoder.next()
        events.append(e)
        switch e {
        case .packet, .malformed: continue
        case .needMoreData, .corrupt: return events
        }
    }
}

private func packets(_ events: [BinrpcStreamEvent]) -> [BinrpcPacket] {
    events.compactMap { if case .packet(let p) = $0 { return p } else { return nil } }
}

private let hexFixtures: [String] = (try? Fixture.names(in: "binrpc", suffix: ".hex")) ?? []

@Suite("binrpc codec")
struct RPCBinrpcTests {
    @Test("the fixture folder holds the annotated captures")
    func fixturesPresent() {
        #expect(hexFixtures.count >= 15)
    }

    @Test("every annotated capture decodes to the values its annotation states", arguments: hexFixtures)
    func decodesAnnotatedCaptures(_ name: String) throws {
        let sections = HexDump.sections(try Fixture.text("binrpc/" + name))
        #expect(!sections.isEmpty)
        for section in sections where !section.packets.isEmpty {
            let decoded = packets(decodeAll(section.bytes))
            try #require(decoded.count == section.packets.count, "\(section.title)")
            for (ours, annotated) in zip(decoded, section.packets) {
                #expect(Int(ours.type.rawValue) == annotated.type, "\(section.title)")
                #expect(ours.cookie == annotated.cookie, "\(section.title)")
                let got = HexDump.records(of: ours)
                #expect(got.count == annotated.records.count, "\(section.title): \(got) vs \(annotated.records)")
                for (g, a) in zip(got, annotated.records) {
                    #expect(g.matches(a), "\(section.title): \(g) vs \(a)")
                }
            }
        }
    }

    @Test("re-encoding the decoded packets gives back the captured bytes", arguments: hexFixtures)
    func reencodesAnnotatedCaptures(_ name: String) throws {
        for section in HexDump.sections(try Fixture.text("binrpc/" + name)) where !section.packets.isEmpty {
            let decoded = packets(decodeAll(section.bytes))
            #expect(decoded.flatMap { $0.encoded() } == section.bytes, "\(section.title)")
            // Header widths follow the minimal rule the annotations spell out.
            for (p, a) in zip(decoded, section.packets) {
                let header = BinrpcPacket.header(type: p.type, bodyLength: a.bodyLength, cookie: p.cookie)
                #expect(header.count == 2 + a.lengthWidth + a.cookieWidth)
            }
        }
    }

    @Test("core.uptime decodes to one struct with now, up_since and uptime")
    func uptimeValues() throws {
        let section = HexDump.sections(try Fixture.text("binrpc/core.uptime.hex"))[1]
        let packet = try BinrpcPacket.decode(section.bytes)
        #expect(packet.cookie == 0x2791_0155)
        #expect(packet.body == .reply([.object([
            "now": "Fri Nov 27 13:49:49 2026",
            "up_since": "Fri Nov 27 13:45:38 2026",
            "uptime": 251,
        ])]))
    }

    @Test("a request built from values encodes to kamcmd's bytes")
    func encodesRequestFromValues() throws {
        let section = HexDump.sections(try Fixture.text("binrpc/cfg.seti.hex"))
        let request = BinrpcPacket.request("cfg.seti", ["maxfwd", "max_limit", 70], cookie: 0x46c3d1)
        #expect(request.encoded() == section[0].bytes)
        let reply = BinrpcPacket(cookie: 0x46c3d1, body: .reply([]))
        #expect(reply.encoded() == [0xa1, 0x12, 0x00, 0x46, 0xc3, 0xd1])
        let echo = HexDump.sections(try Fixture.text("binrpc/core.echo-param-types.hex"))
        #expect(BinrpcPacket.request("core.echo", ["12", "abcdefghij", 1.5, -5], cookie: 0x1db805a4).encoded() == echo[0].bytes)
    }

    @Test("command-line arguments are typed as kamcmd typed them in the captures")
    func kamcmdArgumentTyping() throws {
        let types = HexDump.sections(try Fixture.text("binrpc/core.echo-param-types.hex"))[0]
        let typed = ["s:12", "abcdefghij", "1.5", "-5"].map(RPCValue.init(kamcmdArgument:))
        #expect(BinrpcPacket.request("core.echo", typed, cookie: 0x1db805a4).encoded() == types.bytes)
        let sizes = HexDump.sections(try Fixture.text("binrpc/core.echo-int-sizes.hex"))[0]
        let ints = ["s:x", "300", "70000", "-1"].map(RPCValue.init(kamcmdArgument:))
        #expect(BinrpcPacket.request("core.echo", ints, cookie: 0x553464a1).encoded() == sizes.bytes)
        #expect(RPCValue(kamcmdArgument: "inf") == "inf")
        #expect(RPCValue(kamcmdArgument: "1e3") == 1000.0)
        #expect(RPCValue(kamcmdArgument: "4294967296") == 4_294_967_296.0)
        #expect(RPCValue(kamcmdArgument: "") == "")
        #expect(RPCValue(kamctlArgument: "counter") == "counter")
        #expect(RPCValue(kamctlArgument: "7") == 7)
        #expect(RPCValue(kamctlArgument: "s:7") == "7")
        #expect(RPCValue(kamctlArgument: "i:42") == 42)
    }

    @Test("repeated member names and bare values inside structs survive decoding")
    func repeatedNamesAndBareValues() throws {
        let dump = HexDump.sections(try Fixture.text("binrpc/ul.dump-brief.hex"))[1]
        let packet = try BinrpcPacket.decode(dump.bytes)
        guard case .reply(let values) = packet.body, let aors = values.first?["Domains"]?["Domain"]?["AoRs"]?.members else {
            Issue.record("unexpected shape \(packet)")
            return
        }
        #expect(aors.count >= 2)
        #expect(aors.allSatisfy { $0.name == "AoR" })

        let htable = HexDump.sections(try Fixture.text("binrpc/htable.dump.hex"))[1]
        guard case .reply(let slots) = try BinrpcPacket.decode(htable.bytes).body else { return }
        #expect(slots.count == 2)
        let slot = slots[0]["slot"]?.members
        #expect(slot?.count == 1)
        #expect(slot?.first?.name == nil)
        #expect(slot?.first?.value["name"] == "last_invite")
    }

    @Test("the integer and string size table of the spec encodes exactly")
    func recordSizeTable() throws {
        let table: [(RPCValue, [UInt8])] = [
            (0, [0x00]), (7, [0x10, 0x07]), (300, [0x20, 0x01, 0x2c]), (70000, [0x30, 0x01, 0x11, 0x70]),
            (67_108_864, [0x40, 0x04, 0x00, 0x00, 0x00]), (-1, [0x40, 0xff, 0xff, 0xff, 0xff]),
            (-5, [0x40, 0xff, 0xff, 0xff, 0xfb]), ("", [0x11, 0x00]), ("x", [0x21, 0x78, 0x00]),
            ("abcdefg", [0x91, 0x08, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x00]),
            (1.5, [0x22, 0x05, 0xdc]), (0.5, [0x22, 0x01, 0xf4]), (.struct([]), [0x03, 0x83]),
            (.object(["uptime": 11]), [0x03, 0x75, 0x75, 0x70, 0x74, 0x69, 0x6d, 0x65, 0x00, 0x10, 0x0b, 0x83]),
            (.bytes([1, 2]), [0x26, 0x01, 0x02]), ([1, "a"], [0x04, 0x10, 0x01, 0x21, 0x61, 0x00, 0x84]),
            (4_294_967_295, [0x40, 0xff, 0xff, 0xff, 0xff]),
        ]
        for (value, bytes) in table {
            var writer = BinrpcRecordWriter()
            writer.append(value)
            #expect(writer.bytes == bytes, "\(value)")
        }
        for (value, bytes) in table.dropLast() {
            #expect(try BinrpcRecordReader.read(bytes[...]) == [value], "\(value)")
        }
        // Unsigned values arrive negative, as kamcmd shows `Methods: -1`.
        #expect(try BinrpcRecordReader.read([0x40, 0xff, 0xff, 0xff, 0xff][...]) == [-1])
        // A 3-byte INT with its high bit set is still positive: negatives always take 4 bytes.
        #expect(try BinrpcRecordReader.read([0x30, 0x80, 0x00, 0x00][...]) == [8_388_608])
    }

    @Test("length and cookie use the fewest bytes that hold them")
    func headerWidths() {
        #expect(BinrpcPacket.header(type: .request, bodyLength: 14, cookie: 0x2791_0155) == [0xa1, 0x03, 0x0e, 0x27, 0x91, 0x01, 0x55])
        #expect(BinrpcPacket.header(type: .reply, bodyLength: 573, cookie: 0x282b_8c4d) == [0xa1, 0x17, 0x02, 0x3d, 0x28, 0x2b, 0x8c, 0x4d])
        #expect(BinrpcPacket.header(type: .fault, bodyLength: 35, cookie: 0) == [0xa1, 0x30, 0x23, 0x00])
        #expect(BinrpcPacket.header(type: .reply, bodyLength: 70000, cookie: 0x22) == [0xa1, 0x18, 0x01, 0x11, 0x70, 0x22])
    }

    @Test("faults encode as INT code and STR message, as the server sends them")
    func faults() throws {
        let unknown = HexDump.sections(try Fixture.text("binrpc/fault-unknown-method.hex"))
        let fault = BinrpcPacket(cookie: 0x3f77fdb6, body: .fault(.commandNotFound("no.such.method")))
        #expect(fault.encoded() == unknown[1].bytes)
        let fromMethod = HexDump.sections(try Fixture.text("binrpc/fault-from-method.hex"))
        let decoded = try BinrpcPacket.decode(fromMethod[1].bytes)
        #expect(decoded.body == .fault(RPCFault(code: 500, message: "Not enough parameters (htable name and key name)")))
        #expect(RPCFault.parameter(1, expected: .string, .endOfPacket).message
            == "error at parameter 1: expected string type but end of packet encountered")
        // A fault body that is not code + message is reported, not guessed at.
        var d = BinrpcStreamDecoder()
        d.append([0xa1, 0x30, 0x02, 0x05, 0x10, 0x01])
        #expect(d.next() == .malformed(cookie: 5, type: .fault, error: BinrpcError(.badFaultBody, at: 4)))
    }

    @Test("pipelined requests decode in order and a corrupt packet gets the cookie-0 fault")
    func pipeliningAndCorruptPacket() throws {
        let sections = HexDump.sections(try Fixture.text("binrpc/pipelining-and-corrupt-packet.hex"))
        #expect(sections.count == 4)
        let requests = packets(decodeAll(sections[0].bytes))
        #expect(requests == [
            .request("core.version", cookie: 0x1111_1111),
            .request("core.printi", [7], cookie: 0x22),
        ])
        // The same bytes fed one at a time give the same packets.
        var decoder = BinrpcStreamDecoder()
        var trickled: [BinrpcPacket] = []
        for b in sections[0].bytes {
            decoder.append([b])
            while case .packet(let p) = decoder.next() { trickled.append(p) }
        }
        #expect(trickled == requests)
        #expect(decoder.bufferedByteCount == 0)

        let replies = packets(decodeAll(sections[1].bytes))
        #expect(replies.map(\.cookie) == [0x1111_1111, 0x22])
        #expect(replies.last?.body == .reply([7]))

        // Corrupt magic: typed error right away, and the decoder stays failed.
        var corrupt = BinrpcStreamDecoder()
        corrupt.append(sections[2].bytes)
        guard case .corrupt(let error) = corrupt.next() else {
            Issue.record("corrupt packet accepted")
            return
        }
        #expect(error.kind == .badMagic(0xb))
        #expect(error.isFraming)
        corrupt.append(sections[0].bytes)
        #expect(corrupt.next() == .corrupt(error))
        #expect(BinrpcPacket(cookie: 0, body: .fault(.corruptedPacket)).encoded() == sections[3].bytes)
    }

    @Test("damaged packets give typed errors")
    func typedErrors() {
        func body(_ bytes: [UInt8]) -> BinrpcError.Kind? {
            do {
                _ = try BinrpcRecordReader.read(bytes[...])
                return nil
            } catch {
                return error.kind
            }
        }
        #expect(body([0x03, 0x10, 0x01]) == .unterminatedContainer)
        #expect(body([0x83]) == .unexpectedContainerEnd)
        #expect(body([0x04, 0x83]) == .unexpectedContainerEnd)
        #expect(body([0x21, 0x61, 0x00, 0x25, 0x61, 0x00]) == .memberNameOutsideStruct)
        #expect(body([0x03, 0x25, 0x61, 0x00, 0x83]) == .memberWithoutValue)
        #expect(body([0x03, 0x25, 0x61, 0x00, 0x25, 0x62, 0x00, 0x00, 0x83]) == .memberWithoutValue)
        #expect(body([0x50, 1, 2, 3, 4, 5]) == .integerTooWide(5))
        #expect(body([0x07]) == .unknownRecordType(7))
        #expect(body([0x91]) == .truncated)
        #expect(body([0x91, 0x20, 0x61]) == .truncated)
        #expect(body([0x81, 0x00]) == .badRecordSize)
        #expect(body([0xd1, 1, 2, 3, 4, 5]) == .badRecordSize)
        #expect(body([0x13]) == .badRecordSize)
        #expect(body(Array(repeating: 0x03, count: 100)) == .nestingTooDeep(limit: 64))
        // Header-level damage.
        var d = BinrpcStreamDecoder()
        d.append([0xa2])
        #expect(d.next() == .corrupt(BinrpcError(.badVersion(2), at: 0)))
        d = BinrpcStreamDecoder()
        d.append([0xa1, 0x20])
        #expect(d.next() == .corrupt(BinrpcError(.unknownPacketType(2), at: 1)))
        // A request that is not a method name first keeps the stream usable.
        d = BinrpcStreamDecoder()
        d.append([0xa1, 0x00, 0x02, 0x09, 0x10, 0x01] + BinrpcPacket.request("a", cookie: 1).encoded())
        #expect(d.next() == .malformed(cookie: 9, type: .request, error: BinrpcError(.missingMethodName, at: 4)))
        #expect(d.next() == .packet(.request("a", cookie: 1)))
        #expect(throws: BinrpcError(.trailingBytes(1), at: 4)) {
            try BinrpcPacket.decode([0xa1, 0x10, 0x00, 0x01, 0x00])
        }
    }

    @Test("a header announcing a huge body is refused before any of it is buffered")
    func bodyLimit() {
        var d = BinrpcStreamDecoder(maxBodySize: 65535)
        d.append([0xa1, 0x0c, 0xff, 0xff, 0xff, 0xff, 0x01])
        #expect(d.next() == .corrupt(BinrpcError(.bodyTooLarge(announced: 0xffff_ffff, limit: 65535), at: 2)))
    }

    @Test("every truncation of a real packet asks for more data and never yields a packet")
    func truncations() throws {
        for name in hexFixtures {
            for section in HexDump.sections(try Fixture.text("binrpc/" + name)) where !section.packets.isEmpty {
                let first = packets(decodeAll(section.bytes))[0].encoded()
                for cut in 0..<first.count {
                    var d = BinrpcStreamDecoder()
                    d.append(first[..<cut])
                    #expect(d.next() == .needMoreData, "\(name) cut at \(cut)")
                    #expect(throws: BinrpcError.self) { try BinrpcPacket.decode(first[..<cut]) }
                }
            }
        }
    }

    @Test("random and mutated bytes never crash and never decode to more than the input holds")
    func fuzz() throws {
        var rng = SeededGenerator(seed: 0x5EED_B1)
        var corpus: [[UInt8]] = []
        for name in hexFixtures {
            for section in HexDump.sections(try Fixture.text("binrpc/" + name)) { corpus.append(section.bytes) }
        }
        var outcomes = [0, 0, 0, 0]
        for round in 0..<6000 {
            var input: [UInt8]
            switch round % 3 {
            case 0:
                // Pure noise, often behind a valid magic so the body reader gets exercised.
                input = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) && input.count > 2 {
                    input[0] = 0xa1
                    input[1] &= 0x3f
                }
            case 1:
                // A real packet with a few bytes flipped.
                input = corpus[Int.random(in: 0..<corpus.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) where !input.isEmpty {
                    input[Int.random(in: 0..<input.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            default:
                // A valid header around a random body.
                let body = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                input = BinrpcPacket.header(type: [.request, .reply, .fault][round % 3 == 2 ? Int.random(in: 0...2, using: &rng) : 0],
                                            bodyLength: body.count, cookie: UInt32.random(in: 0...UInt32.max, using: &rng)) + body
            }
            var decoder = BinrpcStreamDecoder(maxBodySize: 65535)
            var offset = 0
            var footprint = 0
            loop: while true {
                switch decoder.next() {
                case .packet(let p):
                    outcomes[0] += 1
                    switch p.body {
                    case .request(let m, let params): footprint += m.utf8.count + params.reduce(0) { $0 + $1.footprint }
                    case .reply(let values): footprint += values.reduce(0) { $0 + $1.footprint }
                    case .fault(let f): footprint += f.message.utf8.count
                    }
                case .malformed: outcomes[1] += 1
                case .corrupt:
                    outcomes[2] += 1
                    break loop
                case .needMoreData:
                    guard offset < input.count else {
                        outcomes[3] += 1
                        break loop
                    }
                    let n = Int.random(in: 1...64, using: &rng)
                    decoder.append(input[offset..<min(input.count, offset + n)])
                    offset = min(input.count, offset + n)
                }
                #expect(decoder.bufferedByteCount <= input.count)
            }
            // Lossy UTF-8 repair may triple a byte; anything beyond that would be invented.
            #expect(footprint <= 4 * input.count + 4)
        }
        // The loop really reached every outcome.
        #expect(outcomes.allSatisfy { $0 > 0 }, "\(outcomes)")
    }

    @Test("arrays and JSON-only values are shaped like Kamailio's ctl output")
    func binrpcShaping() {
        let json: RPCValue = .object([
            "Contacts": [.object(["Contact": .object(["Q": 0.5])])],
            "profiles": [.object(["caller": "sipp"]), "inbound"],
            "flag": true,
            "none": nil,
        ])
        #expect(json.binrpcShaped == .object([
            "Contacts": .object(["Contact": .object(["Q": 0.5])]),
            "profiles": .struct([RPCMember("caller", "sipp"), RPCMember(nil, "inbound")]),
            "flag": 1,
            "none": "<null string>",
        ]))
    }
}

@Suite("binrpc 64-bit records")
struct BinrpcWideRecordTests {
    @Test("an extended DOUBLE with SSS=0 carries 8 value bytes, as Kamailio 5.6 sends an unset q")
    func wideDouble() throws {
        // struct { Q: -1 }: 0x03 opens a struct, 0x25 'Q\0' is a member name of 2 bytes,
        // 0x82 + 8 bytes is the 64-bit double (-1000 / 1000), 0x83 closes the struct.
        let body: [UInt8] = [0x03, 0x25, 0x51, 0x00, 0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfc, 0x18, 0x83]
        let values = try BinrpcRecordReader.read(body[...], baseOffset: 0, maxDepth: 8)
        #expect(values == [.struct([RPCMember("Q", .double(-1))])])
        // and the writer produces those bytes: a negative DOUBLE is the 64-bit record, a
        // positive one the short form (0.5 -> 22 01 f4)
        var writer = BinrpcRecordWriter()
        writer.append(.struct([RPCMember("Q", .double(-1))]))
        #expect(writer.bytes == body)
        var half = BinrpcRecordWriter()
        half.append(.double(0.5))
        #expect(half.bytes == [0x22, 0x01, 0xf4])
        let int64: [UInt8] = [0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]
        #expect(try BinrpcRecordReader.read(int64[...], baseOffset: 0, maxDepth: 8) == [.int(1 << 32)])
        #expect(throws: BinrpcError.self) { try BinrpcRecordReader.read([0x82, 0xff, 0xff][...], baseOffset: 0, maxDepth: 8) }
    }
}
