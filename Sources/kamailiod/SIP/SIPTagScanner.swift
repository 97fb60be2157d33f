/// Reads the `tag` parameter of a From or To value without parsing the address.
///
/// Transaction and dialog matching need the tags of every message and nothing else of
/// From and To; a full parse (display name, URI, host check, parameter lists, two
/// objects) was about 7 % of a stateful call. The scanner follows the same rules as
/// `SIPNameAddr.parse` for where the address ends (`<...>`, or the first `;` of an
/// addr-spec, §20.10) and reads the header parameters after it; anything it does not
/// expect (quoted or bracketed values, a duplicate or empty tag, stray bytes) makes it
/// give up (`nil`) and the caller parses the value fully. The URI itself is not checked
/// here: `from()`/`to()`, the sanity module and every function that uses the address
/// still parse it fully and reject a bad one.
enum SIPTagScanner {
    /// `.some(tag)` (the inner value nil when there is no tag parameter), or nil when
    /// the value needs the full parser.
    static func tag(in v: ArraySlice<UInt8>) -> ArraySlice<UInt8>?? {
        var p = v.startIndex
        let end = v.endIndex
        func skipLWS() { while p < end, SIPASCII.isLWS(v[p]) { p += 1 } }
        skipLWS()
        guard p < end else { return nil }
        if v[p] == SIPASCII.dquote {
            // Display name: a quoted string with quoted-pairs, then `<`.
            p += 1
            while p < end, v[p] != SIPASCII.dquote {
                if v[p] == SIPASCII.backslash { p += 1 }
                p += 1
            }
            guard p < end else { return nil }
            p += 1
            skipLWS()
            guard p < end, v[p] == SIPASCII.laquot else { return nil }
        } else {
            // An unquoted display name runs up to `<`; without one this is an addr-spec,
            // whose URI ends at the first `;`, `,`, LWS, `"` or `>` (as the full parser).
            var q = p
            while q < end, v[q] != SIPASCII.laquot, v[q] != SIPASCII.semicolon, v[q] != SIPASCII.comma,
                  v[q] != SIPASCII.dquote, v[q] != SIPASCII.raquot { q += 1 }
            if q < end, v[q] == SIPASCII.laquot {
                p = q
            } else {
                let u = p
                while p < end, v[p] != SIPASCII.semicolon, v[p] != SIPASCII.comma, !SIPASCII.isLWS(v[p]),
                      v[p] != SIPASCII.dquote, v[p] != SIPASCII.raquot, v[p] != SIPASCII.question { p += 1 }
                // a URI with headers must be in <> (§20.10): let the full parser say so
                guard p > u, p == end || v[p] != SIPASCII.question else { return nil }
            }
        }
        if p < end, v[p] == SIPASCII.laquot {
            while p < end, v[p] != SIPASCII.raquot { p += 1 }
            guard p < end else { return nil }
            p += 1
        }
        // Header parameters: `;name[=value]`, LWS allowed around `;` and `=`.
        var tag: ArraySlice<UInt8>?
        while true {
            skipLWS()
            if p == end { return .some(tag) }
            guard v[p] == SIPASCII.semicolon else { return nil }
            p += 1
            skipLWS()
            let nameStart = p
            while p < end, SIPASCII.isToken(v[p]) { p += 1 }
            guard p > nameStart else { return nil }
            let name = v[nameStart..<p]
            skipLWS()
            var value: ArraySlice<UInt8>?
            if p < end, v[p] == SIPASCII.equals {
                p += 1
                skipLWS()
                // tokens only: a quoted or bracketed value goes to the full parser
                let valueStart = p
                while p < end, SIPASCII.isToken(v[p]) || v[p] == SIPASCII.colon { p += 1 }
                guard p > valueStart, p == end || !(v[p] == SIPASCII.dquote || v[p] == SIPASCII.lbracket) else { return nil }
                value = v[valueStart..<p]
            }
            if SIPBytes.equalsLower(name, "tag") {
                // a second tag is an error the full parser reports; a tag without a value too
                guard tag == nil, let value else { return nil }
                tag = value
            }
        }
    }
}
