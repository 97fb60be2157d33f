import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Counters of the sl module (`sl.stats`, `sl:` statistics). As in Kamailio, the codes in
/// `SLStatistics.codes` have their own counter and every other code counts in its class.
public final class SLStatistics: Sendable {
    /// The reply codes counted one by one (Kamailio's sl counts these).
    public static let codes = [200, 202, 300, 301, 302, 400, 401, 403, 404, 407, 408, 483, 500]
    /// Slots 0...6: class counters for codes not in `codes` (1...6 used); then one per code.
    let counters = Mutex<[UInt64]>([UInt64](repeating: 0, count: 7 + SLStatistics.codes.count))
    /// ACKs to our own stateless replies, absorbed before the script.
    public let filteredACKs = Atomic<UInt64>(0)
    /// Replies that could not be sent.
    public let failures = Atomic<UInt64>(0)

    func count(_ code: Int) {
        if let i = Self.codes.firstIndex(of: code) {
            counters.withLock { $0[7 + i] += 1 }
        } else if code >= 100 && code < 700 {
            counters.withLock { $0[code / 100] += 1 }
        }
    }

    /// Replies per class, index 1...6 for 1xx...6xx, counting only codes without their own
    /// counter (Kamailio's `2xx_replies` excludes `200_replies`).
    public var repliesByClass: [UInt64] { counters.withLock { Array($0[0..<7]) } }

    /// Replies sent with `code` when it is one of `codes`, else 0.
    public func replies(code: Int) -> UInt64 {
        guard let i = Self.codes.firstIndex(of: code) else { return 0 }
        return counters.withLock { $0[7 + i] }
    }

    /// Every reply sent.
    public var totalReplies: UInt64 { counters.withLock { $0.reduce(0, &+) } }
}

/// Stateless replies (Kamailio's `sl`): `sl_send_reply`, `send_reply`, `sl_reply_error`,
/// and the absorption of ACKs for the non-2xx replies it sent.
public final class SLModule: ScriptModule {
    public let name = "sl"
    public let parameters: [ScriptModuleParameter] = []
    public let stats = SLStatistics()
    let runtime: CoreRuntime

    public init(runtime: CoreRuntime) { self.runtime = runtime }

    public var functions: [ScriptFunction] {
        let send: @Sendable (ScriptContext, ScriptFixedArgs) -> Int32 = { [self] ctx, args in
            let code = Int(ctx.int(args[0]))
            return reply(ctx, code: code, reason: ctx.string(args[1]))
        }
        let fixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { f throws(ScriptError) in
            var args = try f.defaultArgs()
            if case .expression = f.arguments[0] { return args }
            if case .string(let s) = f.arguments[0], s.contains("$") { return args }
            let code = try f.fixupInt(0)
            guard (100...699).contains(code) else {
                throw f.error("reply code must be 100-699, found \(code)", argument: 0)
            }
            args.values[0] = .int(code)
            return args
        }
        return [
            ScriptFunction("sl_send_reply", arity: 2...2, routes: [.request], fixup: fixup, run: send),
            ScriptFunction("send_reply", arity: 2...2, routes: [.request, .failure], fixup: fixup, run: send),
            ScriptFunction("sl_reply_error", arity: 0...0, routes: [.request]) { [self] ctx, _ in
                let e = ctx.core.lastError ?? (500, "Server Internal Error")
                return reply(ctx, code: e.code, reason: e.reason)
            },
        ]
    }

    /// Sends a stateless reply for the request in `ctx`; never for an ACK (RFC 3261 §17.1.1.3).
    func reply(_ ctx: ScriptContext, code: Int, reason: String) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, msg.method != .ack, (100...699).contains(code) else { return -1 }
        let state = ctx.core
        let ok = runtime.sendReply(to: msg, info: ctx.receive, code: code, reason: reason,
                                   extraHeaders: state.replyHeaders, forceRport: state.forceRport)
        state.replied = true
        if ok { stats.count(code) } else { stats.failures.wrappingAdd(1, ordering: .relaxed) }
        return ok ? 1 : -1
    }

    /// True when `msg` is an ACK for a non-2xx reply this module sent: its To-tag is
    /// the one `SIPReplyBuilder.toTag(for:)` gives (same Call-ID, From tag and branch as
    /// the INVITE, §17.1.1.3). Such an ACK ends there, as Kamailio's sl does.
    public func absorbsACK(_ msg: SIPMessage) -> Bool {
        guard msg.method == .ack, let tag = msg.toTag else { return false }
        // Our tags are 16 hex digits: any other length is not ours, and most ACKs (those
        // for a relayed 2xx) carry the callee's tag, so skip hashing the request for them.
        guard tag.count == 16, tag.elementsEqual(SIPReplyBuilder.toTag(for: msg)) else { return false }
        stats.filteredACKs.wrappingAdd(1, ordering: .relaxed)
        return true
    }
}
