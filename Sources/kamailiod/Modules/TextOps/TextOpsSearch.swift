import SIPCore
import ScriptEngine

/// textops' searches, replacements and string tests. Patterns are POSIX extended,
/// case-insensitive and line-aware (REG_NEWLINE), as Kamailio compiles them; searches
/// see the message as received (edits are not visible until `msg_apply_changes()`), and
/// replacements are recorded as edits of the received bytes.
extension TextOpsModule {
    /// A constant pattern compiled as textops does.
    static func regexFixup(_ f: ScriptFixupContext, _ i: Int) throws(ScriptError) -> ScriptFixedArg {
        let pattern = try f.fixupString(i)
        do {
            return .regex(try ScriptRegex(pattern, caseInsensitive: true, multiline: true))
        } catch {
            throw f.error(error.message, argument: i)
        }
    }

    /// `subst`-style `/re/repl/flags` argument.
    static func substFixup(_ f: ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        do {
            return ScriptFixedArgs([.custom(try ScriptRegexSubst(Array(try f.fixupString(0).utf8), multiline: true))])
        } catch let e as ScriptFixupError {
            throw f.error(e.message, argument: 0)
        } catch {
            throw f.error("expected '/regex/replacement/flags'", argument: 0)
        }
    }

    private static func regex(_ args: ScriptFixedArgs) -> ScriptRegex? {
        if case .regex(let r) = args[0] { return r }
        return nil
    }

    /// Where the searchable text sits in the received bytes: the whole message or the body.
    private static func region(_ msg: SIPMessage, body: Bool) -> Range<Int> {
        body ? msg.bodyStart..<msg.messageEnd : msg.startLineRange.lowerBound..<msg.messageEnd
    }

    /// Replaces the first (or every) match of `re` in the region with `text`.
    private static func replace(_ ctx: ScriptContext, _ re: ScriptRegex, _ text: [UInt8], body: Bool, all: Bool) -> Int32 {
        let msg = ctx.message
        let r = region(msg, body: body)
        let bytes = Array(msg.bytes[r])
        var pos = 0, n: Int32 = 0
        while pos <= bytes.count, let m = re.firstMatch(in: bytes, from: pos), let whole = m[0] {
            msg.edits.replace((whole.lowerBound + r.lowerBound)..<(whole.upperBound + r.lowerBound), with: text)
            n += 1
            pos = whole.isEmpty ? whole.upperBound + 1 : whole.upperBound
            if !all { break }
        }
        return n > 0 ? 1 : -1
    }

    private static func subst(_ ctx: ScriptContext, _ args: ScriptFixedArgs, body: Bool) -> Int32 {
        guard let s = args.custom(0, as: ScriptRegexSubst.self) else { return -1 }
        let msg = ctx.message
        let r = region(msg, body: body)
        let found = s.replacements(in: Array(msg.bytes[r]))
        for f in found {
            msg.edits.replace((f.range.lowerBound + r.lowerBound)..<(f.range.upperBound + r.lowerBound), with: f.text)
        }
        return found.isEmpty ? -1 : 1
    }

    /// Two-argument string tests (`cmp_str`, `starts_with`, ...): both arguments are formats.
    private static func stringTest(_ name: String,
                                   _ test: @escaping @Sendable ([UInt8], [UInt8]) -> Int32) -> ScriptFunction {
        ScriptFunction(name, arity: 2...2, fixup: { f throws(ScriptError) in
            ScriptFixedArgs([.format(try f.fixupFormat(0)), .format(try f.fixupFormat(1))])
        }) { ctx, args in test(ctx.bytes(args[0]), ctx.bytes(args[1])) }
    }

    private static func lower(_ b: [UInt8]) -> [UInt8] {
        b.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
    }

    /// The search, replace and string functions.
    static var searchFunctions: [ScriptFunction] {
        let reFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            var out = [try regexFixup(f, 0)]
            if f.arguments.count > 1 { out.append(.format(try f.fixupFormat(1))) }
            return ScriptFixedArgs(out)
        }
        let substUser: @Sendable (ScriptContext, ScriptFixedArgs, Bool) -> Int32 = { ctx, args, userOnly in
            guard let s = args.custom(0, as: ScriptRegexSubst.self), ctx.message.isRequest else { return -1 }
            if userOnly {
                // subst_user: the user part alone (empty when the R-URI has none)
                let user = ctx.requestURI?.user.map { Array($0) } ?? []
                guard !s.replacements(in: user).isEmpty else { return -1 }
                return ctx.setRequestUserPart(s.apply(to: user)) ? 1 : -1
            }
            let uri = ctx.requestURIBytes
            guard !s.replacements(in: uri).isEmpty else { return -1 }
            ctx.setRequestURI(s.apply(to: uri))
            return 1
        }
        return [
            ScriptFunction("search", arity: 1...1, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return re.matches(ctx.message.bytes[region(ctx.message, body: false)]) ? 1 : -1
            },
            ScriptFunction("search_body", arity: 1...1, fixup: reFixup) { ctx, args in
                guard let re = regex(args), !ctx.message.body.isEmpty else { return -1 }
                return re.matches(ctx.message.body) ? 1 : -1
            },
            // search_append(re, text): text goes right after the first match
            ScriptFunction("search_append", arity: 2...2, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                let msg = ctx.message, r = region(msg, body: false)
                guard let m = re.firstMatch(in: Array(msg.bytes[r])), let whole = m[0] else { return -1 }
                msg.edits.insert(ctx.bytes(args[1]), at: whole.upperBound + r.lowerBound)
                return 1
            },
            ScriptFunction("replace", arity: 2...2, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return replace(ctx, re, ctx.bytes(args[1]), body: false, all: false)
            },
            ScriptFunction("replace_all", arity: 2...2, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return replace(ctx, re, ctx.bytes(args[1]), body: false, all: true)
            },
            ScriptFunction("replace_body", arity: 2...2, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return replace(ctx, re, ctx.bytes(args[1]), body: true, all: false)
            },
            ScriptFunction("replace_body_all", arity: 2...2, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return replace(ctx, re, ctx.bytes(args[1]), body: true, all: true)
            },
            ScriptFunction("subst", arity: 1...1, fixup: substFixup) { ctx, args in subst(ctx, args, body: false) },
            ScriptFunction("subst_body", arity: 1...1, fixup: substFixup) { ctx, args in subst(ctx, args, body: true) },
            ScriptFunction("subst_uri", arity: 1...1, routes: [.request, .failure, .branch],
                           fixup: substFixup) { ctx, args in substUser(ctx, args, false) },
            ScriptFunction("subst_user", arity: 1...1, routes: [.request, .failure, .branch],
                           fixup: substFixup) { ctx, args in substUser(ctx, args, true) },
            // has_body() / has_body("application/sdp"): a non-empty body (of that type)
            ScriptFunction("has_body", arity: 0...1) { ctx, args in
                let msg = ctx.message
                guard !msg.body.isEmpty else { return -1 }
                guard args.count > 0 else { return 1 }
                let want = lower(ctx.bytes(args[0]))
                let ctype = lower(Array((msg.contentType ?? []).prefix { $0 != UInt8(ascii: ";") }))
                    .filter { $0 != 32 && $0 != 9 }
                return ctype == want ? 1 : -1
            },
            ScriptFunction("is_present_hf_re", arity: 1...1, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                return ctx.message.headers.contains { re.matches(ctx.message.name(of: $0)) } ? 1 : -1
            },
            // remove_hf_re(re): every header whose name matches; 1 when any went (5.6 gives
            // 1, not the count), else -1
            ScriptFunction("remove_hf_re", arity: 1...1, fixup: reFixup) { ctx, args in
                guard let re = regex(args) else { return -1 }
                let msg = ctx.message
                let fields = msg.headers.filter { re.matches(msg.name(of: $0)) }
                for f in fields { msg.removeHeader(f) }
                return fields.isEmpty ? -1 : 1
            },
            // Observed on 5.6: a mismatch gives -2 ("false" but not -1).
            stringTest("cmp_str") { a, b in a == b ? 1 : -2 },
            stringTest("cmp_istr") { a, b in lower(a) == lower(b) ? 1 : -2 },
            stringTest("starts_with") { a, b in a.starts(with: b) ? 1 : -1 },
            // str_find(a, b): 1-based position of b in a, -1 when absent
            stringTest("str_find") { a, b in
                guard !b.isEmpty, b.count <= a.count else { return -1 }
                for i in 0...(a.count - b.count) where a[i..<(i + b.count)].elementsEqual(b) { return Int32(i + 1) }
                return -1
            },
        ]
    }
}
