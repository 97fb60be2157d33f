/// Text with pseudo-variables (`"call from $fU to $rU ($ci)"`), compiled once at load
/// time into literal pieces and variable reads, rendered per message into bytes.
/// This is what `xlog`, `append_hf`, `sl_send_reply` reasons and friends take.
public struct ScriptFormat: Sendable {
    /// A piece of the text.
    enum Part: Sendable {
        case literal([UInt8])
        case pv(ScriptCompiledPV)
        case expression(ScriptCompiledExpression)
    }

    /// The pieces in order.
    let parts: [Part]
    /// The text as written, for messages and the debugger.
    public let text: String

    /// A format without variables.
    public init(constant: String) {
        text = constant
        parts = [.literal(Array(constant.utf8))]
    }

    /// A format printing one computed value.
    init(expression: ScriptCompiledExpression) {
        text = "<expression>"
        parts = [.expression(expression)]
    }

    private init(text: String, parts: [Part]) {
        self.text = text
        self.parts = parts
    }

    /// The bytes when the format has no variables (lets a fixup pre-compute).
    public var constantBytes: [UInt8]? {
        if parts.isEmpty { return [] }
        if parts.count == 1, case .literal(let b) = parts[0] { return b }
        return nil
    }

    /// Renders for the current message; a null variable prints `<null>` as in Kamailio.
    public func render(_ ctx: ScriptContext) -> [UInt8] {
        var out: [UInt8] = []
        append(to: &out, ctx)
        return out
    }

    /// Renders as a Swift string (lossy for invalid UTF-8).
    public func string(_ ctx: ScriptContext) -> String {
        String(decoding: render(ctx), as: UTF8.self)
    }

    /// Renders into an existing buffer.
    public func append(to out: inout [UInt8], _ ctx: ScriptContext) {
        for part in parts {
            switch part {
            case .literal(let b): out += b
            case .pv(let pv): Self.appendValue(pv.get(ctx), to: &out)
            case .expression(let e):
                if let v = try? ScriptEvaluator.value(e.node, ctx) { Self.appendValue(v, to: &out) }
            }
        }
    }

    private static func appendValue(_ v: ScriptValue, to out: inout [UInt8]) {
        switch v {
        case .null: out += Array("<null>".utf8)
        case .int(let i): out += ScriptValue.decimal(i)
        case .str(let s): out += s
        }
    }

    /// Splits `text` at pseudo-variables and compiles them. A `$` not followed by a
    /// name is literal text.
    static func compile(_ text: String, symbols: ScriptSymbols) throws(ScriptError) -> ScriptFormat {
        let b = Array(text.utf8)
        var parts: [Part] = []
        var literal: [UInt8] = []
        var i = 0
        while i < b.count {
            let c = b[i]
            let next: UInt8 = i + 1 < b.count ? b[i + 1] : 0
            let startsName = next == UInt8(ascii: "(") || next == UInt8(ascii: "_")
                || (next | 0x20 >= UInt8(ascii: "a") && next | 0x20 <= UInt8(ascii: "z"))
            guard c == UInt8(ascii: "$"), startsName else {
                literal.append(c)
                i += 1
                continue
            }
            let end = ScriptPreprocessor.skipPseudoVariable(b, from: i)
            let pvText = String(decoding: b[(i + 1)..<end], as: UTF8.self)
            let spec: ScriptPVSpec
            do {
                spec = try ScriptPVSpec.parse(pvText)
            } catch {
                throw ScriptError(error.message, at: nil)
            }
            if !literal.isEmpty {
                parts.append(.literal(literal))
                literal = []
            }
            parts.append(.pv(try symbols.compilePV(spec, at: nil)))
            i = end
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return ScriptFormat(text: text, parts: parts)
    }
}
