import SIPCore
import ScriptEngine

/// Header and method tests and edits (Kamailio's `textops`); searches, replacements and
/// string tests are in `TextOpsSearch.swift`.
public final class TextOpsModule: ScriptModule {
    public let name = "textops"
    public let parameters: [ScriptModuleParameter] = []

    public init() {}

    /// A constant header name resolved once: its kind when known (so compact forms match),
    /// else the lower-cased name.
    struct HeaderName: Sendable {
        let kind: SIPHeaderKind
        let name: [UInt8]

        init(_ text: String) {
            let t = text.trimmedWS
            kind = SIPHeaderKind(name: t)
            name = Array(t.lowercased().utf8)
        }

        func fields(_ msg: SIPMessage) -> [SIPHeaderField] {
            kind == .other ? msg.headers(named: name) : msg.headers(kind)
        }
    }

    /// A method list (`"INVITE|REGISTER"`) parsed once.
    struct MethodList: Sendable {
        let methods: [[UInt8]]

        init(_ text: String) {
            methods = text.split(separator: "|").map { Array($0.trimmedWS.utf8) }
        }

        /// Methods are case-sensitive (RFC 3261 §7.1).
        func contains<C: Collection<UInt8>>(_ m: C) -> Bool {
            methods.contains { $0.elementsEqual(m) }
        }
    }

    public var functions: [ScriptFunction] {
        let headerFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            let n = try f.fixupString(0)
            guard !n.isEmpty, !n.contains(":") else { throw f.error("expected a header name, found \"\(n)\"", argument: 0) }
            return ScriptFixedArgs([.custom(HeaderName(n))])
        }
        return [
            ScriptFunction("is_method", arity: 1...1, fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.custom(MethodList(try f.fixupString(0)))])
            }) { ctx, args in
                guard let list = args.custom(0, as: MethodList.self) else { return -1 }
                let msg = ctx.message
                if msg.isRequest { return list.contains(msg.methodBytes) ? 1 : -1 }
                guard let cseq = try? msg.cseq() else { return -1 }
                return list.contains(cseq.method) ? 1 : -1
            },
            ScriptFunction("is_present_hf", arity: 1...1, fixup: headerFixup) { ctx, args in
                guard let h = args.custom(0, as: HeaderName.self) else { return -1 }
                return h.fields(ctx.message).isEmpty ? -1 : 1
            },
            ScriptFunction("remove_hf", arity: 1...1, fixup: headerFixup) { ctx, args in
                guard let h = args.custom(0, as: HeaderName.self) else { return -1 }
                let fields = h.fields(ctx.message)
                for f in fields { ctx.message.removeHeader(f) }
                return fields.isEmpty ? -1 : Int32(fields.count)
            },
            // append_hf("X-A: b\r\n"[, "After-This"]): the text goes in verbatim, as in Kamailio.
            ScriptFunction("append_hf", arity: 1...2, fixup: { f throws(ScriptError) in
                var out = [ScriptFixedArg.format(try f.fixupFormat(0))]
                if f.arguments.count > 1 { out.append(.custom(HeaderName(try f.fixupString(1)))) }
                return ScriptFixedArgs(out)
            }) { ctx, args in
                var text = ctx.bytes(args[0])
                guard !text.isEmpty else { return -1 }
                if text.last != UInt8(ascii: "\n") { text += [13, 10] }
                let msg = ctx.message
                if let h = args.custom(1, as: HeaderName.self) {
                    guard let f = h.fields(msg).first else { return -1 }
                    msg.edits.insert(text, at: f.line.upperBound)
                } else {
                    msg.edits.insert(text, at: msg.hasHeaderTerminator ? msg.headersEnd : msg.bytes.count)
                }
                return 1
            },
            ScriptFunction("append_to_reply", arity: 1...1, routes: [.request, .failure],
                           fixup: { f throws(ScriptError) in ScriptFixedArgs([.format(try f.fixupFormat(0))]) }) { ctx, args in
                var text = ctx.bytes(args[0])
                while let l = text.last, l == 10 || l == 13 { text.removeLast() }
                guard !text.isEmpty else { return -1 }
                ctx.core.replyHeaders.append(text)
                return 1
            },
        ] + Self.searchFunctions
    }
}
