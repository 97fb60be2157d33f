/// The parsed first line of a message (RFC 3261 §7.1 Request-Line, §7.2 Status-Line).
struct SIPStartLine {
    var isRequest = true
    var method: Range<Int> = 0..<0
    var uri: Range<Int> = 0..<0
    var status = 0
    var reason: Range<Int> = 0..<0
    var unsupportedVersion = false

    /// Parses `line` (without its terminator). Elements are separated by exactly one
    /// SP (§25.1 Request-Line); RFC 4475 lwsstart (two spaces) is rejected, as the
    /// RFC allows.
    init(_ line: ArraySlice<UInt8>) throws(SIPParseError) {
        let lo = line.startIndex
        let hi = line.endIndex
        if line.count >= 8, SIPStartLine.isVersion(line[lo..<(lo + 7)]), line[lo + 7] == SIPASCII.sp {
            // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
            isRequest = false
            let code = lo + 8
            guard code + 3 <= hi,
                  let v = SIPBytes.parseUInt(line[code..<(code + 3)], max: 699), v >= 100 else {
                throw SIPParseError("Malformed status line", offset: lo)
            }
            status = Int(v)
            if code + 3 == hi {
                reason = hi..<hi  // tolerate a missing SP + empty reason
            } else {
                guard line[code + 3] == SIPASCII.sp else { throw SIPParseError("Malformed status line", offset: lo) }
                reason = (code + 4)..<hi
            }
            return
        }
        var p = lo
        while p < hi, SIPASCII.isToken(line[p]) { p += 1 }
        guard p > lo, p < hi, line[p] == SIPASCII.sp else {
            throw SIPParseError("Malformed request line", offset: lo)
        }
        method = lo..<p
        p += 1
        let uriStart = p
        while p < hi, line[p] != SIPASCII.sp, line[p] != SIPASCII.htab { p += 1 }
        guard p > uriStart else { throw SIPParseError("Missing Request-URI", offset: uriStart) }
        uri = uriStart..<p
        guard p < hi, line[p] == SIPASCII.sp else { throw SIPParseError("Malformed request line", offset: lo) }
        let version = line[(p + 1)..<hi]
        if !SIPStartLine.isVersion(version) {
            // A well-formed other version (`SIP/7.0`, RFC 4475 badvers) parses, so a
            // 505 can be built; validateForProcessing reports it. Anything else is
            // malformed.
            guard SIPStartLine.isOtherVersion(version) else { throw SIPParseError("Malformed request line", offset: lo) }
            unsupportedVersion = true
        }
    }

    /// `SIP/` 1*DIGIT `.` 1*DIGIT (§25.1 SIP-Version), any version number.
    static func isOtherVersion(_ s: ArraySlice<UInt8>) -> Bool {
        guard s.count >= 7, SIPBytes.equalsLower(s.prefix(4), "sip/") else { return false }
        let rest = s.dropFirst(4)
        guard let dot = rest.firstIndex(of: SIPASCII.dot) else { return false }
        let major = rest[rest.startIndex..<dot]
        let minor = rest[(dot + 1)...]
        return !major.isEmpty && !minor.isEmpty && major.allSatisfy(SIPASCII.isDigit) && minor.allSatisfy(SIPASCII.isDigit)
    }

    /// `SIP/2.0`, compared case-insensitively (§7.1: the version string is
    /// case-insensitive, though implementations must send upper case).
    static func isVersion(_ s: ArraySlice<UInt8>) -> Bool {
        SIPBytes.equalsLower(s, "sip/2.0")
    }
}
