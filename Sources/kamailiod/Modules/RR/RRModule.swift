import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Record-routing and loose routing (RFC 3261 §16.6 step 4, §16.4, §16.12), Kamailio's `rr`.
/// This first cut covers `record_route()` and `loose_route()` for loose routers; double
/// record-routing, strict routers and the rr parameters come with the stateful proxy issue.
public final class RRModule: ScriptModule {
    public let name = "rr"
    let runtime: CoreRuntime
    /// `append_fromtag`: put `ftag=<From tag>` in our Record-Route (Kamailio's default is on).
    let appendFromTag = Atomic<Int>(1)

    public init(runtime: CoreRuntime) { self.runtime = runtime }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("append_fromtag", .int) { [self] v throws(ScriptFixupError) in appendFromTag.store(Int(v.intValue), ordering: .relaxed) },
            ScriptModuleParameter("enable_double_rr", .int) { _ throws(ScriptFixupError) in },
            ScriptModuleParameter("enable_full_lr", .int) { _ throws(ScriptFixupError) in },
        ]
    }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("record_route", arity: 0...1, routes: [.request, .branch, .failure]) { [self] ctx, args in
                recordRoute(ctx, extra: args.count > 0 ? ctx.bytes(args[0]) : [])
            },
            ScriptFunction("loose_route", arity: 0...0, routes: [.request]) { [self] ctx, _ in
                looseRoute(ctx)
            },
        ]
    }

    /// Adds `Record-Route: <sip:ADDR:PORT;transport=X;lr;ftag=...>` for the socket the
    /// request came in on, above any Record-Route already there (§16.6 step 4).
    func recordRoute(_ ctx: ScriptContext, extra: [UInt8]) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, let l = runtime.listener(ctx.receive.listenerIndex) else { return -1 }
        var line = Array("Record-Route: <".utf8)
        line += runtime.rrAddresses[l.index]
        line += Array(";lr".utf8)
        if appendFromTag.load(ordering: .relaxed) != 0, let tag = (try? msg.from())?.tag {
            line += Array(";ftag=".utf8)
            line += tag
        }
        if !extra.isEmpty {
            if extra.first != SIPASCII.semicolon { line.append(SIPASCII.semicolon) }
            line += extra
        }
        line.append(SIPASCII.raquot)
        if let first = msg.firstHeader(.recordRoute) {
            msg.addHeader(line, before: first)
        } else {
            msg.addHeader(line)
        }
        return 1
    }

    /// Loose routing (§16.4): a top Route naming this server is removed; the next Route,
    /// if any, becomes the destination (`$du`); without one the Request-URI is followed.
    /// A top Route naming someone else becomes the destination as it is.
    /// -1 when there is no Route header (the request is routed by its Request-URI).
    func looseRoute(_ ctx: ScriptContext) -> Int32 {
        let msg = ctx.message
        guard let routes = try? msg.routes(), let top = routes.first else { return -1 }
        guard let host = top.uri.host else { return -1 }
        guard runtime.isMyself(host: host.text, port: top.uri.port, tls: top.uri.scheme == .sips) else {
            ctx.destinationURI = Array(top.uri.raw)
            return 1
        }
        if let field = msg.headers(.route).first(where: { $0.value.contains(top.range.lowerBound) || $0.value.lowerBound == top.range.lowerBound }) {
            try? msg.removeValue(top.range, of: field)
        }
        if routes.count > 1 {
            ctx.destinationURI = Array(routes[1].uri.raw)
        }
        return 1
    }
}
