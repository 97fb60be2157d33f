import SIPCore
import ScriptEngine
import Synchronization

/// Max-Forwards handling (RFC 3261 §16.3 step 3, §16.6 step 3), Kamailio's `maxfwd`.
public final class MaxFwdModule: ScriptModule {
    public let name = "maxfwd"
    /// `max_limit`: the value never leaves this server higher than this (cfg `maxfwd.max_limit`).
    let maxLimit: CfgIntKey
    let cfg: CfgStore

    /// The module; its runtime parameter lives in `cfg` (a store of its own when not given).
    public init(cfg: CfgStore = CfgStore()) {
        self.cfg = cfg
        maxLimit = cfg.declareInt("maxfwd", "max_limit", 70, min: 0, max: 255, "Max. maxfwd limit")
    }

    public var parameters: [ScriptModuleParameter] {
        [ScriptModuleParameter("max_limit", .int) { [self] v throws(ScriptFixupError) in
            let n = Int(v.intValue)
            guard (0...256).contains(n) else { throw ScriptFixupError("max_limit must be 0-256, found \(n)") }
            cfg.setInitial(maxLimit, n)
        }]
    }

    public var functions: [ScriptFunction] {
        let fixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            let v = try f.fixupInt(0)
            guard (0...256).contains(v) else { throw f.error("max value must be 0-256, found \(v)", argument: 0) }
            return ScriptFixedArgs([.int(v)])
        }
        return [
            ScriptFunction("mf_process_maxfwd_header", arity: 1...1, routes: [.request, .failure, .branch],
                           fixup: fixup) { [self] ctx, args in
                process(ctx.message, initial: Int(ctx.int(args[0])), limit: maxLimit(ctx))
            },
            ScriptFunction("is_maxfwd_lt", arity: 1...1, fixup: fixup) { ctx, args in
                guard let v = try? ctx.message.maxForwards() else { return -1 }
                return v < Int(ctx.int(args[0])) ? 1 : -1
            },
        ]
    }

    /// 2: no header, one was added with `initial`; 1: decremented; -1: it was 0 (the
    /// script answers 483); -2: the value is not a number 0-255 (the script decides).
    func process(_ msg: SIPMessage, initial: Int, limit: Int) -> Int32 {
        guard msg.isRequest else { return -2 }
        guard let field = msg.firstHeader(.maxForwards) else {
            var line = Array("Max-Forwards: ".utf8)
            SIPBytes.appendDecimal(initial, to: &line)
            msg.addHeader(line)
            return 2
        }
        guard let value = try? msg.maxForwards() else { return -2 }
        if value == 0 { return -1 }
        let next = min(value - 1, limit)
        var digits: [UInt8] = []
        SIPBytes.appendDecimal(next, to: &digits)
        msg.replaceValue(of: field, with: digits)
        return 1
    }
}
