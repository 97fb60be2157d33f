#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX extended regular expression compiled once (at load time when the pattern
/// is constant) and matched per message without Foundation.
///
/// Kamailio's `=~` is POSIX extended and case-insensitive, so that is the default.
/// `regexec` on a compiled `regex_t` is thread-safe per POSIX, which is why the
/// class can be shared between workers.
public final class ScriptRegex: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<regex_t>
    /// The pattern as written, for messages and the debugger.
    public let pattern: String

    /// Compiles `pattern`; throws a message naming the pattern when it is invalid.
    /// `multiline` (REG_NEWLINE) lets `^`/`$` match at line ends and keeps `.` off line
    /// breaks, as textops' whole-message searches compile their patterns.
    public init(_ pattern: String, caseInsensitive: Bool = true, multiline: Bool = false) throws(ScriptRegexError) {
        // compile into a local first: a failed init must not leave a half-built regex
        // for deinit to free
        let compiled = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        var flags = REG_EXTENDED
        if caseInsensitive { flags |= REG_ICASE }
        if multiline { flags |= REG_NEWLINE }
        let rc = regcomp(compiled, pattern, flags)
        if rc != 0 {
            var buf = [CChar](repeating: 0, count: 256)
            regerror(rc, compiled, &buf, buf.count)
            let text = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            compiled.deallocate()
            throw ScriptRegexError(message: "invalid regular expression '\(pattern)': \(text)")
        }
        self.pattern = pattern
        storage = compiled
    }

    deinit {
        regfree(storage)
        storage.deallocate()
    }

    /// True when the pattern matches somewhere in `bytes`.
    public func matches(_ bytes: some Collection<UInt8>) -> Bool {
        withCString(bytes) { regexec(storage, $0, 0, nil, 0) == 0 }
    }

    /// The byte ranges of the whole match and its groups (`nil` for a group that did not
    /// take part), or nil when there is no match at or after `start`.
    public func firstMatch(in bytes: [UInt8], from start: Int = 0) -> [Range<Int>?]? {
        let groups = Int(storage.pointee.re_nsub) + 1
        var m = [regmatch_t](repeating: regmatch_t(), count: groups)
        let tail = bytes[min(start, bytes.count)...]
        let rc: Int32 = withCString(tail) { regexec(storage, $0, groups, &m, start > 0 ? REG_NOTBOL : 0) }
        guard rc == 0 else { return nil }
        return m.map { g in
            g.rm_so < 0 ? nil : (start + Int(g.rm_so))..<(start + Int(g.rm_eo))
        }
    }

    private func withCString<R>(_ bytes: some Collection<UInt8>, _ body: (UnsafePointer<CChar>) -> R) -> R {
        let n = bytes.count
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            var i = 0
            for b in bytes { buf[i] = CChar(bitPattern: b == 0 ? 0x20 : b); i += 1 }
            buf[n] = 0
            // capacity is at least 1, so the base address always exists
            guard let base = buf.baseAddress else { return body("") }
            return body(UnsafePointer(base))
        }
    }
}

/// Why a pattern did not compile; callers wrap it in a `ScriptError` with a location.
public struct ScriptRegexError: Error, Sendable {
    /// The `regerror` text with the pattern.
    public var message: String
}
