import Foundation
@testable import Shared

/// Fixture access: the files under `Fixtures/` are copies of the spec's `rpc-examples/`.
enum Fixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ relative: String) -> URL { directory.appendingPathComponent(relative) }

    static func bytes(_ relative: String) throws -> [UInt8] { Array(try Data(contentsOf: url(relative))) }

    static func text(_ relative: String) throws -> String { String(decoding: try bytes(relative), as: UTF8.self) }

    static func names(in folder: String, suffix: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(folder).path)
            .filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// Parses a fixture JSON file with our own parser (keeps order and duplicates).
    static func json(_ relative: String) throws -> RPCValue { try RPCJSONParser.parse(try bytes(relative), maxDepth: 200) }
}

/// A record as the `.hex` annotations describe it.
enum AnnotatedRecord: Equatable, CustomStringConvertible {
    case structStart, structEnd
    case name(String)
    case str(String)
    /// A string the annotation shortened with `...`: only its start is known.
    case strPrefix(String)
    case int(Int)
    case double(Double)

    var description: String {
        switch self {
        case .structStart: return "{"
        case .structEnd: return "}"
        case .name(let n): return "name(\(n))"
        case .str(let s): return "str(\(s))"
        case .strPrefix(let s): return "str(\(s)...)"
        case .int(let i): return "int(\(i))"
        case .double(let d): return "double(\(d))"
        }
    }

    func matches(_ other: AnnotatedRecord) -> Bool {
        switch (self, other) {
        case (.strPrefix(let p), .str(let s)), (.str(let s), .strPrefix(let p)): return s.hasPrefix(p)
        default: return self == other
        }
    }
}

/// One annotated packet of a `.hex` file.
struct AnnotatedPacket {
    var type = -1
    var lengthWidth = 0
    var cookieWidth = 0
    var bodyLength = -1
    var cookie: UInt32 = 0
    var records: [AnnotatedRecord] = []
}

/// One `== REQUEST` / `== RESPONSE` section of a `.hex` file.
struct HexSection {
    var title: String
    var bytes: [UInt8] = []
    var packets: [AnnotatedPacket] = []
}

/// Reads the annotated dumps: hex lines give the bytes, `-- decoded` lines the meaning.
enum HexDump {
    static func sections(_ text: String) -> [HexSection] {
        var sections: [HexSection] = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(rawLine)
            if line.hasPrefix("== ") {
                sections.append(HexSection(title: line))
                continue
            }
            guard !sections.isEmpty, !line.hasPrefix("#"), !line.hasPrefix("--"), !line.isEmpty else { continue }
            let idx = sections.count - 1
            if isHexLine(line) {
                let hexPart = line.dropFirst(6).prefix(while: { $0 != "|" })
                sections[idx].bytes += hexPart.split(separator: " ").compactMap { UInt8($0, radix: 16) }
                continue
            }
            let desc = String(line.dropFirst(41)).trimmingCharacters(in: .whitespaces)
            if desc.hasPrefix("magic") {
                sections[idx].packets.append(AnnotatedPacket())
                continue
            }
            guard !sections[idx].packets.isEmpty else { continue }
            let p = sections[idx].packets.count - 1
            apply(desc, to: &sections[idx].packets[p])
        }
        return sections
    }

    private static func isHexLine(_ line: String) -> Bool {
        let head = line.prefix(6)
        return head.count == 6 && head.prefix(4).allSatisfy(\.isHexDigit) && head.hasSuffix("  ")
    }

    private static func numbers(_ s: String) -> [Int] {
        s.split(whereSeparator: { !$0.isNumber && $0 != "-" }).compactMap { Int($0) }
    }

    private static func quoted(_ desc: String) -> String {
        guard let first = desc.firstIndex(of: "'"), let end = desc.range(of: "' (NUL-terminated)") else { return "" }
        return String(desc[desc.index(after: first)..<end.lowerBound])
    }

    private static func apply(_ desc: String, to packet: inout AnnotatedPacket) {
        if desc.hasPrefix("packet type") {
            let n = numbers(desc)
            packet.type = n[0]
            packet.lengthWidth = n[1]
            packet.cookieWidth = n[3]
        } else if desc.hasPrefix("body length") {
            packet.bodyLength = numbers(desc)[0]
        } else if desc.hasPrefix("cookie 0x") {
            let hex = desc.dropFirst("cookie 0x".count).prefix(while: \.isHexDigit)
            packet.cookie = UInt32(hex, radix: 16) ?? 0
        } else if desc == "STRUCT start" {
            packet.records.append(.structStart)
        } else if desc == "STRUCT end" {
            packet.records.append(.structEnd)
        } else if desc.hasPrefix("AVP(name)") {
            packet.records.append(.name(quoted(desc)))
        } else if desc.hasPrefix("STR ") {
            let s = quoted(desc)
            packet.records.append(s.hasSuffix("...") ? .strPrefix(String(s.dropLast(3))) : .str(s))
        } else if desc.hasPrefix("INT ") {
            packet.records.append(.int(numbers(desc)[0]))
        } else if desc.hasPrefix("DOUBLE ") {
            let text = desc.dropFirst(7).prefix(while: { $0 != " " })
            packet.records.append(.double(Double(text) ?? .nan))
        }
    }

    /// Our decoded packet flattened into the same record list the annotations use.
    static func records(of packet: BinrpcPacket) -> [AnnotatedRecord] {
        var out: [AnnotatedRecord] = []
        func flatten(_ v: RPCValue) {
            switch v {
            case .int(let i): out.append(.int(i))
            case .double(let d): out.append(.double(d))
            case .string(let s): out.append(.str(s))
            case .struct(let members):
                out.append(.structStart)
                for m in members {
                    if let n = m.name { out.append(.name(n)) }
                    flatten(m.value)
                }
                out.append(.structEnd)
            default: out.append(.str("<unexpected \(v)>"))
            }
        }
        switch packet.body {
        case .request(let method, let params):
            out.append(.str(method))
            params.forEach(flatten)
        case .reply(let values): values.forEach(flatten)
        case .fault(let f):
            out.append(.int(f.code))
            out.append(.str(f.message))
        }
        return out
    }
}

/// Deterministic random numbers for fuzz loops (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RPCValue {
    /// Number of nodes plus payload bytes: a bound on what decoding this value allocated.
    var footprint: Int {
        switch self {
        case .string(let s): return 1 + s.utf8.count
        case .bytes(let b): return 1 + b.count
        case .struct(let m): return 1 + m.reduce(0) { $0 + 1 + ($1.name?.utf8.count ?? 0) + $1.value.footprint }
        case .array(let e): return 1 + e.reduce(0) { $0 + $1.footprint }
        default: return 1
        }
    }
}
