#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// More string and parameter transformations: `{s.md5}`, `{s.stripto,c}`, `{s.ftime,fmt}`,
/// `{s.unquote}`, `{s.unbracket}`, `{param.count}`, `{param.name,i}`.
enum ScriptTransformsMore {
    private static let empty = ScriptValue.str([])

    static let table: [String: ScriptTransforms.Factory] = [
        // The engine has no crypto library, and MD5 is small: computed here.
        "s.md5": { _ throws(ScriptFixupError) in { v in
            let digits = Array("0123456789abcdef".utf8)
            return .str(md5(v.bytes).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
        } },
        // {s.stripto,c}: drop everything before the first c (c stays); unchanged without c
        "s.stripto": { p throws(ScriptFixupError) in
            guard p.count == 1, let c = p[0].utf8.first else { throw ScriptFixupError("{s.stripto,char} needs a character") }
            return { v in
                let b = v.bytes
                guard let i = b.firstIndex(of: c) else { return v }
                return .str(Array(b[i...]))
            }
        },
        // {s.ftime,format}: the value as a Unix time, formatted by strftime in local time
        "s.ftime": { p throws(ScriptFixupError) in
            guard p.count == 1 else { throw ScriptFixupError("{s.ftime,format} needs a format") }
            let format = p[0]
            return { v in
                var t = time_t(v.intValue)
                var parts = tm()
                guard localtime_r(&t, &parts) != nil else { return empty }
                var buf = [CChar](repeating: 0, count: 256)
                let n = strftime(&buf, buf.count, format, &parts)
                return .str(buf.prefix(n).map { UInt8(bitPattern: $0) })
            }
        },
        "s.unquote": { _ throws(ScriptFixupError) in { v in
            let b = v.bytes
            guard b.count >= 2, let f = b.first, f == b.last, f == 0x22 || f == 0x27 else { return v }
            return .str(Array(b.dropFirst().dropLast()))
        } },
        "s.unbracket": { _ throws(ScriptFixupError) in { v in
            let b = v.bytes
            guard b.count >= 2, let f = b.first, let l = b.last,
                  (f == UInt8(ascii: "<") && l == UInt8(ascii: ">")) || (f == UInt8(ascii: "(") && l == UInt8(ascii: ")"))
                  || (f == UInt8(ascii: "[") && l == UInt8(ascii: "]")) || (f == UInt8(ascii: "{") && l == UInt8(ascii: "}"))
            else { return v }
            return .str(Array(b.dropFirst().dropLast()))
        } },
        // {param.count[,sep]}: how many parameters a "a=1;b=2" list has
        "param.count": { p throws(ScriptFixupError) in
            let sep = p.first?.utf8.first ?? UInt8(ascii: ";")
            return { v in
                let items = v.bytes.split(separator: sep, omittingEmptySubsequences: false)
                    .filter { !$0.allSatisfy { $0 == 32 || $0 == 9 } }
                return .int(Int32(items.count))
            }
        },
        // {param.name,index[,sep]}: the name of the parameter at index
        "param.name": { p throws(ScriptFixupError) in
            guard !p.isEmpty, let idx = Int(p[0]) else { throw ScriptFixupError("{param.name,index[,separator]} needs an index") }
            let sep = p.count > 1 ? (p[1].utf8.first ?? UInt8(ascii: ";")) : UInt8(ascii: ";")
            return { v in
                let items = v.bytes.split(separator: sep, omittingEmptySubsequences: true)
                guard idx >= 0, idx < items.count else { return empty }
                let name = items[idx].prefix { $0 != UInt8(ascii: "=") }
                return .str(Array(name.drop { $0 == 32 || $0 == 9 }).reversed().drop { $0 == 32 || $0 == 9 }.reversed())
            }
        },
    ]

    /// RFC 1321 MD5 of `message`.
    static func md5(_ message: [UInt8]) -> [UInt8] {
        let s: [UInt32] = [7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                           5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
                           4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                           6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21]
        // K[i] = floor(2^32 * abs(sin(i + 1)))
        let k: [UInt32] = (0..<64).map { UInt32(truncatingIfNeeded: Int64(4_294_967_296 * abs(sin(Double($0 + 1))))) }
        var a0: UInt32 = 0x6745_2301, b0: UInt32 = 0xefcd_ab89, c0: UInt32 = 0x98ba_dcfe, d0: UInt32 = 0x1032_5476
        var data = message
        let bitLength = UInt64(message.count) &* 8
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }
        var m = [UInt32](repeating: 0, count: 16)
        for chunk in stride(from: 0, to: data.count, by: 64) {
            for i in 0..<16 {
                let o = chunk + 4 * i
                m[i] = UInt32(data[o]) | UInt32(data[o + 1]) << 8 | UInt32(data[o + 2]) << 16 | UInt32(data[o + 3]) << 24
            }
            var a = a0, b = b0, c = c0, d = d0
            for i in 0..<64 {
                var f: UInt32
                let g: Int
                switch i {
                case 0..<16: f = (b & c) | (~b & d); g = i
                case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
                case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
                default: f = c ^ (b | ~d); g = (7 * i) % 16
                }
                f = f &+ a &+ k[i] &+ m[g]
                a = d
                d = c
                c = b
                b = b &+ (f << s[i] | f >> (32 - s[i]))
            }
            a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
        }
        var out: [UInt8] = []
        for w in [a0, b0, c0, d0] { for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) } }
        return out
    }
}
