import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Per-message rr state: parameters for our Record-Route and what `loose_route()` saw.
final class RRMessageState: CorePendingEdit {
    /// `add_rr_param()` text (each with its leading `;`), before or after `record_route()`.
    var pendingParams: [UInt8] = []
    /// The Record-Route line up to its parameters, waiting for the request to be sent
    /// (so parameters added later still go in); nil when there is none.
    var pendingLine: [UInt8]?
    /// Where it goes: above the first Record-Route, else as the first header (as Kamailio).
    var anchor: SIPHeaderField?

    /// Writes the pending Record-Route with every parameter added so far.
    func apply(to ctx: ScriptContext) {
        guard var line = pendingLine else { return }
        pendingLine = nil
        line += pendingParams
        pendingParams = []
        line.append(SIPASCII.raquot)
        if let anchor { ctx.message.addHeader(line, before: anchor) } else { ctx.message.addHeader(line) }
    }
    /// Parameters of our own Route that `loose_route()` consumed (`check_route_param`).
    var routeParams: [UInt8]?
    /// From tag in that Route (`ftag`, for `is_direction`).
    var ftag: [UInt8]?
}

extension ScriptContext {
    /// The rr module's per-message state.
    var rr: RRMessageState {
        let key = ObjectIdentifier(RRMessageState.self)
        if let s = userData[key] as? RRMessageState { return s }
        let s = RRMessageState()
        userData[key] = s
        return s
    }
}

/// Record-routing and loose routing (RFC 3261 §16.6 step 4, §16.4, §16.12), Kamailio's `rr`:
/// `record_route()`, `record_route_preset()`, `loose_route()` (with the strict-router
/// fallback of §16.4), `add_rr_param()`, `check_route_param()`, `is_direction()`, `$route_uri`.
public final class RRModule: ScriptModule {
    public let name = "rr"
    /// Listeners and `myself`.
    let runtime: CoreRuntime
    /// `append_fromtag`: put `ftag=<From tag>` in our Record-Route (Kamailio's default is on).
    let appendFromTag = Atomic<Int>(1)

    public init(runtime: CoreRuntime) { self.runtime = runtime }

    /// rr's `modparam` parameters.
    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("append_fromtag", .int) { [self] v throws(ScriptFixupError) in appendFromTag.store(Int(v.intValue), ordering: .relaxed) },
            ScriptModuleParameter("enable_double_rr", .int) { _ throws(ScriptFixupError) in },
            ScriptModuleParameter("enable_full_lr", .int) { _ throws(ScriptFixupError) in },
        ]
    }

    /// rr's script functions.
    public var functions: [ScriptFunction] {
        [
            ScriptFunction("record_route", arity: 0...1, routes: [.request, .branch, .failure]) { [self] ctx, args in
                recordRoute(ctx, extra: args.count > 0 ? ctx.bytes(args[0]) : [])
            },
            ScriptFunction("loose_route", arity: 0...0, routes: [.request]) { [self] ctx, _ in
                looseRoute(ctx)
            },
            ScriptFunction("record_route_preset", arity: 1...2, routes: [.request, .branch, .failure]) { [self] ctx, args in
                recordRoutePreset(ctx, ctx.bytes(args[0]))
            },
            ScriptFunction("add_rr_param", arity: 1...1, routes: [.request, .branch, .failure]) { ctx, args in
                var p = ctx.bytes(args[0])
                if p.first != SIPASCII.semicolon { p.insert(SIPASCII.semicolon, at: 0) }
                ctx.rr.pendingParams += p
                return 1
            },
            ScriptFunction("check_route_param", arity: 1...1, routes: [.request], fixup: { f throws(ScriptError) in
                ScriptFixedArgs([.regex(try f.fixupRegex(0))])
            }) { ctx, args in
                guard case .regex(let r) = args[0], let p = ctx.rr.routeParams else { return -1 }
                return r.matches(p) ? 1 : -1
            },
            ScriptFunction("is_direction", arity: 1...1, routes: [.request]) { ctx, args in
                // §12.2: a request from the callee has the caller's tag in To; our ftag is the caller's.
                guard let ftag = ctx.rr.ftag, let from = (try? ctx.message.from())?.tag else { return -1 }
                let downstream = from.elementsEqual(ftag)
                switch ctx.string(args[0]) {
                case "downstream": return downstream ? 1 : -1
                case "upstream": return downstream ? -1 : 1
                default: return -1
                }
            },
        ]
    }

    /// `$route_uri`.
    public var pseudoVariables: [ScriptPVDefinition] {
        [ScriptPVDefinition("route_uri") { _, _ throws(ScriptError) in
            ScriptPVAccessor(get: { ctx in
                guard let first = (try? ctx.message.routes())?.first else { return .null }
                return .str(Array(first.uri.raw))
            })
        }]
    }

    /// `record_route_preset("host:port;params")`: a Record-Route with the given address
    /// instead of the receiving socket's (§16.6 step 4 lets the proxy choose the URI).
    func recordRoutePreset(_ ctx: ScriptContext, _ address: [UInt8]) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, !address.isEmpty else { return -1 }
        var line = Array("Record-Route: <".utf8)
        if !address.starts(with: Array("sip:".utf8)) && !address.starts(with: Array("sips:".utf8)) {
            line += Array("sip:".utf8)
        }
        line += address
        line += Array(";lr".utf8)
        if appendFromTag.load(ordering: .relaxed) != 0, let tag = (try? msg.from())?.tag {
            line += Array(";ftag=".utf8)
            line += tag
        }
        return setPending(ctx, line)
    }

    /// Keeps the Record-Route line until the request is sent (`CorePendingEdit`): a
    /// second record_route() first writes out the one before it.
    private func setPending(_ ctx: ScriptContext, _ line: [UInt8]) -> Int32 {
        let state = ctx.rr
        if state.pendingLine != nil { state.apply(to: ctx) }
        state.pendingLine = line
        state.anchor = ctx.message.firstHeader(.recordRoute) ?? ctx.message.headers.first
        return 1
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
        return setPending(ctx, line)
    }

    /// Loose routing (§16.4): a top Route naming this server is removed; the next Route,
    /// if any, becomes the destination (`$du`); without one the Request-URI is followed.
    /// A top Route naming someone else becomes the destination as it is.
    /// -1 when there is no Route header (the request is routed by its Request-URI).
    func looseRoute(_ ctx: ScriptContext) -> Int32 {
        let msg = ctx.message
        guard let routes = try? msg.routes(), let top = routes.first else { return -1 }
        guard let host = top.uri.host else { return -1 }
        // §16.4: a Request-URI that we put in a Record-Route means the previous hop was
        // a strict router: the real target is the last Route, which is removed.
        if let ruri = ctx.requestURI, ruri.user == nil, let rh = ruri.host,
           runtime.isMyself(host: rh.text, port: ruri.port, tls: ruri.scheme == .sips),
           let last = routes.last,
           let field = msg.headers(.route).last(where: { $0.value.contains(last.range.lowerBound) || $0.value.lowerBound == last.range.lowerBound }) {
            keepRouteParams(ctx, ruri)
            ctx.setRequestURI(Array(last.uri.raw))
            try? msg.removeValue(last.range, of: field)
            return 1
        }
        guard runtime.isMyself(host: host.text, port: top.uri.port, tls: top.uri.scheme == .sips) else {
            ctx.destinationURI = Array(top.uri.raw)
            return 1
        }
        keepRouteParams(ctx, top.uri)
        if let field = msg.headers(.route).first(where: { $0.value.contains(top.range.lowerBound) || $0.value.lowerBound == top.range.lowerBound }) {
            try? msg.removeValue(top.range, of: field)
        }
        if routes.count > 1 {
            ctx.destinationURI = Array(routes[1].uri.raw)
        }
        return 1
    }

    /// Keeps the parameters of our own Route URI for `check_route_param`/`is_direction`.
    private func keepRouteParams(_ ctx: ScriptContext, _ uri: SIPURI) {
        let raw = uri.raw
        if let semi = raw.firstIndex(of: SIPASCII.semicolon) { ctx.rr.routeParams = Array(raw[semi...]) } else { ctx.rr.routeParams = [] }
        ctx.rr.ftag = uri.param("ftag")?.value.map(Array.init)
    }
}
