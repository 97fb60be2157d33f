import Testing
@testable import SIPCore

@Suite("Robustness")
struct SIPRobustnessTests {
    /// Deterministic generator so a failure reproduces.
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// Touches every accessor, edits and serializes, and builds a reply; whatever
    /// is thrown is fine, a trap is not.
    static func exercise(_ bytes: [UInt8]) {
        guard let m = try? SIPMessage(bytes: bytes) else { return }
        let valid = (try? m.validateForProcessing()) != nil
        _ = try? m.requestURI
        _ = try? m.vias()
        _ = try? m.from()?.displayName
        _ = try? m.to()
        _ = try? m.cseq()
        _ = try? m.contacts()
        _ = try? m.routes()
        _ = try? m.recordRoutes()
        _ = try? m.maxForwards()
        _ = try? m.expires()
        _ = m.body
        for f in m.headers {
            _ = m.stringValue(of: f)
            _ = try? m.commaSeparatedValues(of: f)
        }
        if let top = try? m.topVia() { try? m.removeVia(top) }
        m.addHeader("X-Fuzz: 1")
        if m.isRequest { m.setRequestURI(Array("sip:x@y".utf8)) }
        m.replaceBody(Array("b".utf8))
        _ = m.serialize()
        var reply = SIPReplyBuilder(statusCode: valid ? 200 : 400, reason: "R")
        reply.sourceAddress = Array("192.0.2.1".utf8)
        reply.sourcePort = 5060
        reply.forceRport = true
        _ = reply.build(for: m)
        _ = try? m.responseRoute { _ in true }
    }

    @Test("mutated fixtures never trap in parse, validate, edit, serialize or reply")
    func mutations() {
        let seeds = Fixtures.manifest.map { Fixtures.bytes($0.file) }.filter { !$0.isEmpty && $0.count < 4000 }
        let interesting: [UInt8] = [13, 10, 32, 9, 58, 59, 44, 34, 60, 62, 91, 93, 37, 61, 0, 0xff, 92, 64, 47, 42]
        var rng = LCG(state: 4475)
        var rounds = 0
        for _ in 0..<3000 {
            var b = seeds[rng.below(seeds.count)]
            for _ in 0..<(1 + rng.below(4)) {
                switch rng.below(4) {
                case 0: b[rng.below(b.count)] = interesting[rng.below(interesting.count)]
                case 1: b = Array(b.prefix(rng.below(b.count + 1)))
                case 2:
                    let at = rng.below(b.count)
                    b.remove(at: at)
                default:
                    let at = rng.below(b.count)
                    b.insert(interesting[rng.below(interesting.count)], at: at)
                }
                if b.isEmpty { b = [13, 10] }
            }
            Self.exercise(b)
            rounds += 1
        }
        #expect(rounds == 3000)
    }

    @Test("every fixture, valid or not, goes through the whole pipeline")
    func fixturesPipeline() {
        for row in Fixtures.manifest { Self.exercise(Fixtures.bytes(row.file)) }
        #expect(SIPBytes.string([0xff, 0xfe]).count == 2)
        var d: [UInt8] = []
        SIPBytes.appendDecimal(Int.min, to: &d)
        #expect(str(d) == "-9223372036854775808")
    }
}
