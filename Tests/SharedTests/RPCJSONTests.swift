import Foundation
import Testing
@testable import Shared

private func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }

/// The `cases` array of a protocol fixture.
private func protocolCases(_ name: String) throws -> [RPCValue] {
    guard case .array(let cases)? = try Fixture.json("protocol/" + name)["cases"] else { return [] }
    return cases
}

private let methodCaptures: [String] = ((try? Fixture.names(in: ".", suffix: ".json")) ?? [])
    .filter { !["cfg-params.json", "method-flags.json", "system.methodHelp-all-methods.json"].contains($0) }

@Suite("JSON-RPC codec")
struct RPCJSONTests {
    @Test("FIFO protocol cases decode as jsonrpcs reads them")
    func fifoRequests() throws {
        let cases = try protocolCases("fifo-protocol-cases.json")
        #expect(cases.count == 11)
        var framer = JSONRPCFIFOFramer()
        var documents: [[UInt8]] = []
        for c in cases {
            let text = try #require(c["request_text"]?.stringValue)
            for event in framer.feed(utf8(text)) {
                guard case .document(let d) = event else {
                    Issue.record("unexpected \(event)")
                    continue
                }
                documents.append(d)
            }
        }
        // Two documents in one write give two; every other case one.
        #expect(documents.count == 12)
        let decoded = documents.map { d -> Result<JSONRPCRequest, JSONRPCRequestError> in
            Result { () throws(JSONRPCRequestError) in try JSONRPCRequest.decode(d) }
        }
        #expect(try decoded[0].get() == JSONRPCRequest(method: "core.version", id: .string("abc"), replyName: "rr_a"))
        #expect(try decoded[1].get().id == nil)
        #expect(try decoded[2].get().id == .null)
        #expect(try decoded[2].get().id?.echoed == .int(0))
        #expect(try decoded[3].get().params == ["demo", "counter"])
        #expect(try decoded[4].get().id == .int(5))
        #expect(try decoded[5].get().method == "core.uptime")
        #expect(throws: JSONRPCRequestError.badVersion(id: .int(7))) { try decoded[6].get() }
        #expect(try !JSONRPCRequest.isAcceptableReplyName(decoded[7].get().replyName ?? ""))
        #expect(try JSONRPCRequest.isAcceptableReplyName(decoded[8].get().replyName ?? ""))
        // A batch is cut at its first object's closing brace and fails to parse (no reply);
        // its `]` then sticks to the following bytes, as in Kamailio's framing.
        guard case .failure(.parse) = decoded[9] else {
            Issue.record("batch document parsed: \(decoded[9])")
            return
        }
        // The stray text sticks to the next document, which then fails to parse ...
        #expect(String(decoding: documents[10], as: UTF8.self).contains("garbage-without-braces\\n  then  {"))
        guard case .failure(.parse) = decoded[10] else {
            Issue.record("garbage document parsed: \(decoded[10])")
            return
        }
        // ... and the one after it works again.
        #expect(try decoded[11].get().id == .int(12))
    }

    @Test("FIFO and datagram reply texts re-encode byte for byte")
    func exactReplyTexts() throws {
        var checked = 0
        for file in ["fifo-protocol-cases.json", "dgram-protocol-cases.json"] {
            for c in try protocolCases(file) {
                guard let text = c["reply_text"]?.stringValue else { continue }
                // A reply FIFO may receive several replies back to back.
                var framer = JSONRPCFIFOFramer()
                var rebuilt: [UInt8] = []
                for case .document(let d) in framer.feed(utf8(text)) {
                    rebuilt += try JSONRPCReply.decode(d).encoded()
                    checked += 1
                }
                #expect(String(decoding: rebuilt, as: UTF8.self) == text)
            }
        }
        #expect(checked == 18)
    }

    @Test("replies built from values match the captured texts")
    func buildsReplies() throws {
        let version: RPCValue = "kamailio 5.6.3 (x86_64/linux) "
        let nullID = JSONRPCRequest(method: "core.version", id: .null, replyName: "rr_c")
        #expect(JSONRPCReply(.result(version), replyingTo: nullID).text()
            == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"kamailio 5.6.3 (x86_64/linux) \",\n\t\"id\":\t0\n}")
        #expect(JSONRPCReply(.result(version), replyingTo: JSONRPCRequest(method: "core.version")).text()
            == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t\"kamailio 5.6.3 (x86_64/linux) \"\n}")
        #expect(JSONRPCReply(.error(.methodNotFound), id: .int(9)).text()
            == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"error\":\t{\n\t\t\"code\":\t500,\n\t\t\"message\":\t\"Method Not Found\"\n\t},\n\t\"id\":\t9\n}")
        let empty = JSONRPCReply.result(of: [], arrayReturning: false)
        #expect(JSONRPCReply(.result(empty), id: .int(4)).text() == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t{\n\t},\n\t\"id\":\t4\n}")
        #expect(JSONRPCReply.result(of: [], arrayReturning: true) == .array([]))
        #expect(JSONRPCReply.result(of: ["a", "b"], arrayReturning: false) == "b")
        #expect(JSONRPCReply.result(of: ["a", "b"], arrayReturning: true) == ["a", "b"])
    }

    @Test("kamctl's request line and reply are reproduced exactly")
    func kamctlExchange() throws {
        let lines = try Fixture.text("protocol/kamctl-rpc-over-fifo.txt").split(separator: "\n").map(String.init)
        let write = try #require(lines.first { $0.hasPrefix("write: ") })
        let sent = String(write.dropFirst("write: ".count).dropLast(2))  // the `\n` is shown escaped
        let request = JSONRPCRequest(method: "htable.get", params: ["demo", "counter"], id: .int(518),
                                     replyName: "kamailio_receiver_518")
        #expect(String(decoding: request.encoded(), as: UTF8.self) == sent)
        #expect(try JSONRPCRequest.decode(utf8(sent)) == request)
        let shown = try #require(lines.first { $0.hasPrefix("{\\n") })
        let reply = shown.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\t", with: "\t")
        let item = RPCValue.object(["item": .object(["name": "counter", "value": 7, "flags": 0, "expire": "NEVER"])])
        #expect(JSONRPCReply(.result(item), replyingTo: request).text() == reply)
        #expect(reply.utf8.count == 139)
    }

    @Test("duplicate keys in captured raw replies survive a round trip exactly")
    func duplicateKeys() throws {
        var raws: [String] = []
        for file in ["tm.list.json", "mod.stats.json"] {
            guard case .array(let exchanges)? = try Fixture.json(file)["exchanges"] else { continue }
            raws += exchanges.compactMap { $0["reply"]?["__raw_text_with_duplicate_keys__"]?.stringValue }
        }
        #expect(raws.count >= 2)
        for raw in raws {
            let reply = try JSONRPCReply.decode(utf8(raw))
            #expect(reply.text() == raw)
        }
        let tm = try JSONRPCReply.decode(utf8(raws[0]))
        guard case .result(.array(let buckets)) = tm.outcome, let first = buckets.first?.members else {
            Issue.record("tm.list shape")
            return
        }
        #expect(first.filter { $0.name == "cell" }.count == 2)
    }

    @Test("every captured exchange decodes and its reply survives pretty re-encoding", arguments: methodCaptures)
    func capturedExchanges(_ file: String) throws {
        guard case .array(let exchanges)? = try Fixture.json(file)["exchanges"] else { return }
        for exchange in exchanges {
            if let request = exchange["request"], case .struct = request {
                let text = RPCJSONWriter.encode(request, style: .compact)
                let decoded = try JSONRPCRequest.decode(text)
                #expect(decoded.method == request["method"]?.stringValue)
            }
            guard let reply = exchange["reply"], reply["__raw_text_with_duplicate_keys__"] == nil, case .struct = reply else {
                continue
            }
            let text = RPCJSONWriter.encode(reply, style: .pretty)
            #expect(try RPCJSONParser.parse(text, maxDepth: 200) == reply, "\(file)")
            #expect(!text.contains(0x0A) || text.last == UInt8(ascii: "}"))
            _ = try JSONRPCReply.decode(text)
        }
    }

    @Test("the pretty layout nests objects in arrays the way jsonrpcs prints them")
    func prettyLayout() {
        let tables: RPCValue = [.object(["name": "gw", "dmqreplicate": 0]), .object(["name": "demo"])]
        let text = JSONRPCReply(.result(tables), id: .int(17761)).text()
        #expect(text == "{\n\t\"jsonrpc\":\t\"2.0\",\n\t\"result\":\t[{\n\t\t\t\"name\":\t\"gw\",\n\t\t\t\"dmqreplicate\":\t0\n\t\t}, {\n\t\t\t\"name\":\t\"demo\"\n\t\t}],\n\t\"id\":\t17761\n}")
        #expect(RPCJSONWriter.string(["a", 1, [2]], style: .pretty) == "[\"a\", 1, [2]]")
        #expect(RPCJSONWriter.string(.object(["a": [1, 2], "b": .object([:])]), style: .compact) == "{\"a\":[1,2],\"b\":{}}")
        #expect(RPCJSONWriter.string(.struct([]), style: .pretty) == "{\n}")
        // A struct with bare members (binrpc's arrays) becomes an array of one-member objects.
        let profiles = RPCValue.struct([RPCMember("caller", "sipp"), RPCMember(nil, "inbound")])
        #expect(RPCJSONWriter.string(profiles, style: .compact) == "[{\"caller\":\"sipp\"},\"inbound\"]")
    }

    @Test("numbers print the way Kamailio's printer does")
    func numbers() throws {
        #expect(RPCJSONWriter.formatNumber(0.5) == "0.500000")
        #expect(RPCJSONWriter.formatNumber(-1) == "-1")
        #expect(RPCJSONWriter.formatNumber(0) == "0")
        #expect(RPCJSONWriter.formatNumber(4_294_967_295) == "4294967295")
        #expect(RPCJSONWriter.formatNumber(1e-7) == "1.000000e-07")
        #expect(RPCJSONWriter.formatNumber(12_345_678_901.5) == "1.234568e+10")
        #expect(RPCJSONWriter.formatNumber(.nan) == "null")
        #expect(RPCJSONWriter.string(4_294_967_296) == "4294967296")
        #expect(try RPCJSONParser.parse("4294967296") == 4_294_967_296)
        #expect(try RPCJSONParser.parse("-0.25e1") == -2.5)
        #expect(try RPCJSONParser.parse("99999999999999999999") == .double(1e20))
    }

    @Test("error objects carry Kamailio's codes and texts")
    func errorObjects() throws {
        #expect(RPCFault(code: 0, message: "boom").jsonRPCError == RPCFault(code: -32000, message: "Execution Error"))
        #expect(RPCFault(code: -32601, message: "x").jsonRPCError == RPCFault(code: -32601, message: "Method Not Found"))
        #expect(RPCFault(code: 404, message: "Dialog not found").jsonRPCError == RPCFault(code: 404, message: "Dialog not found"))
        #expect(RPCFault.binrpcOnly.jsonRPCError.code == 606)
        let reply = JSONRPCReply(.error(RPCFault(code: 0, message: "ignored")), id: .string("x"))
        #expect(try JSONRPCReply.decode(reply.encoded()) == JSONRPCReply(.error(RPCFault(code: -32000, message: "Execution Error")), id: .string("x")))
        guard case .array(let exchanges)? = try Fixture.json("_errors.json")["exchanges"] else { return }
        for e in exchanges {
            let reply = try #require(e["reply"])
            let decoded = try JSONRPCReply.decode(RPCJSONWriter.encode(reply))
            #expect(decoded.jsonValue == reply)
        }
    }

    @Test("datagram protocol cases: validation failures keep the id they could read")
    func datagramRequests() throws {
        let cases = try protocolCases("dgram-protocol-cases.json")
        func decode(_ i: Int) throws -> Result<JSONRPCRequest, JSONRPCRequestError> {
            let text = try #require(cases[i]["request_text"]?.stringValue)
            let (first, _) = try RPCJSONParser.parseFirst(utf8(text))
            return Result { () throws(JSONRPCRequestError) in try JSONRPCRequest.decode(first) }
        }
        #expect(throws: JSONRPCRequestError.badVersion(id: .int(4))) { try decode(3).get() }
        #expect(throws: JSONRPCRequestError.badParams(id: .int(5))) { try decode(4).get() }
        #expect(throws: JSONRPCRequestError.batchNotSupported) { try decode(5).get() }
        #expect(try decode(6).get().id == .int(7))  // only the first document counts
        #expect(try decode(8).get().params == ["demo", "big", 4_294_967_296])
        #expect(try decode(10).get().params == ["a", true, nil, [1], .object(["x": 1])])
        #expect(throws: RPCJSONParseError.self) { try RPCJSONParser.parse(utf8(cases[6]["request_text"]?.stringValue ?? "")) }
    }

    @Test("unicode escapes decode, surrogates pair up, and control bytes are escaped on output")
    func unicode() throws {
        #expect(try RPCJSONParser.parse(#""caf\u00e9 \u20ac \ud83d\ude00""#) == "café € 😀")
        #expect(try RPCJSONParser.parse(#""\ud800x""#) == "\u{FFFD}x")
        #expect(try RPCJSONParser.parse(#""\udc00""#) == "\u{FFFD}")
        #expect(try RPCJSONParser.parse(#""\ud800\u0041""#) == "\u{FFFD}A")
        #expect(try RPCJSONParser.parse(#""\"\\\/\b\f\n\r\t""#) == "\"\\/\u{8}\u{c}\n\r\t")
        #expect(RPCJSONWriter.string("a\u{1}\r\n\"é/") == #""a\u0001\r\n\"é/""#)
        #expect(throws: RPCJSONParseError(.badEscape, at: 1)) { try RPCJSONParser.parse(#""\x""#) }
        #expect(throws: RPCJSONParseError(.badEscape, at: 5)) { try RPCJSONParser.parse(#""\u12g4""#) }
        // Invalid UTF-8 is repaired, not fatal.
        #expect(try RPCJSONParser.parse([0x22, 0xff, 0x22]) == "\u{FFFD}")
    }

    @Test("nesting deeper than the limit is refused without exhausting the stack")
    func nestingLimit() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try RPCJSONParser.parse(ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: RPCJSONParseError(.nestingTooDeep(limit: 64), at: 64)) { try RPCJSONParser.parse(deep) }
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        #expect(throws: RPCJSONParseError.self) { try RPCJSONParser.parse(hostile) }
    }

    @Test("syntax errors name the offset")
    func syntaxErrors() {
        #expect(throws: RPCJSONParseError(.unexpectedEnd, at: 7)) { try RPCJSONParser.parse("{\"a\": 1") }
        #expect(throws: RPCJSONParseError(.unexpectedByte(UInt8(ascii: "}")), at: 6)) { try RPCJSONParser.parse("{\"a\": }") }
        #expect(throws: RPCJSONParseError(.trailingGarbage, at: 3)) { try RPCJSONParser.parse("{} x") }
        #expect(throws: RPCJSONParseError(.badNumber, at: 0)) { try RPCJSONParser.parse("-x") }
        #expect(throws: RPCJSONParseError(.badNumber, at: 0)) { try RPCJSONParser.parse("1.") }
        #expect(throws: RPCJSONParseError(.unexpectedByte(UInt8(ascii: "x")), at: 1)) { try RPCJSONParser.parse("tx") }
        #expect(throws: JSONRPCRequestError.batchNotSupported) {
            try JSONRPCRequest.decode(utf8(#"[{"jsonrpc":"2.0","method":"core.version","id":6}]"#))
        }
        #expect(throws: JSONRPCRequestError.notAnObject) { try JSONRPCRequest.decode(utf8("\"x\"")) }
        #expect(throws: JSONRPCRequestError.missingMethod(id: .int(1))) { try JSONRPCRequest.decode(utf8(#"{"jsonrpc":"2.0","id":1}"#)) }
        #expect(throws: JSONRPCReplyError.notAReply) { try JSONRPCReply.decode(utf8(#"{"jsonrpc":"2.0","id":1}"#)) }
    }

    @Test("the FIFO framer ignores braces in strings and bounds document size")
    func fifoFraming() {
        var framer = JSONRPCFIFOFramer(maxDocumentSize: 64)
        #expect(framer.feed(utf8(#"  {"a":"}{","b":'}'"#)) == [])
        #expect(framer.feed(utf8(#","c":"\"}"}  {"x":1}"#)) == [
            .document(utf8(#"{"a":"}{","b":'}',"c":"\"}"}"#)), .document(utf8(#"{"x":1}"#)),
        ])
        #expect(framer.feed(utf8("{" + String(repeating: "x", count: 100))) == [.tooLong])
        // The rest of the overlong document is skipped up to its closing brace.
        #expect(framer.feed(utf8("\"}\"} {\"ok\":1}")) == [.document(utf8("{\"ok\":1}"))])
        #expect(JSONRPCRequest.isAcceptableReplyName("kamailio_receiver_518"))
        #expect(!JSONRPCRequest.isAcceptableReplyName("kamailio_rpc_reply.fifo"))
        #expect(!JSONRPCRequest.isAcceptableReplyName("a/b"))
        #expect(!JSONRPCRequest.isAcceptableReplyName(String(repeating: "a", count: 123)))
    }

    @Test("random bytes never crash the JSON parser or the framer")
    func fuzz() throws {
        var rng = SeededGenerator(seed: 0x15_0F)
        let alphabet = utf8("{}[]\":,\\ u0123456789abcdefEe.-+tnrl'\n\t") + [0xff, 0xc3, 0x00]
        for _ in 0..<4000 {
            let input = (0..<Int.random(in: 0...120, using: &rng)).map { _ in
                alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
            }
            if let value = try? RPCJSONParser.parse(input) {
                // Whatever parsed re-encodes to text that is a fixpoint of parse + encode
                // (doubles like 1.0 legitimately come back as ints).
                let text = RPCJSONWriter.encode(value)
                #expect(try RPCJSONWriter.encode(RPCJSONParser.parse(text)) == text)
            }
            var framer = JSONRPCFIFOFramer(maxDocumentSize: 50)
            for case .document(let d) in framer.feed(input) {
                #expect(d.count <= 51)
                _ = try? JSONRPCRequest.decode(d)
            }
        }
    }
}
