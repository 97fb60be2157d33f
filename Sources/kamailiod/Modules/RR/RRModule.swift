import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// Per-message rr state: parameters for our Record-Route and what `loose_route()` saw.
final class RRMessageState: CorePendingEdit, CoreBranchEdit {
    /// `add_rr_param()` text (each with its leading `;`), before or after `record_route()`.
    var pendingParams: [UInt8] = []
    /// The Record-Route waiting for the request to be sent (so parameters added later
    /// still go in); nil when there is none.
    var pending: RRPending?
    /// Where it goes: above the first Record-Route, else as the first header (as Kamailio).
    var anchor: SIPHeaderField?

    /// Writes the pending Record-Route(s) with every parameter added so far.
    func apply(to ctx: ScriptContext) {
        guard let p = pending else { return }
        pending = nil
        let params = pendingParams
        pendingParams = []
        // One edit for both lines of a double Record-Route, so each tm branch can
        // rewrite it for its socket.
        let block = p.block(params: params, outbound: p.outbound?(ctx))
        if p.outboundOn != nil { branchEdit = (ctx.message.edits.count, p, params, block) }
        ctx.message.addHeaderLines(block, before: anchor)
    }

    /// The double-RR-capable Record-Route edit written by `apply`: its index in the edit
    /// list, what it was built from, and the bytes it inserted.
    var branchEdit: (index: Int, pending: RRPending, params: [UInt8], written: [UInt8])?

    /// One Record-Route or two, as the branch's socket needs (Kamailio decides per branch).
    func adjust(for ctx: ScriptContext, leavingOn listener: Int) {
        guard let (index, p, params, _) = branchEdit else { return }
        ctx.message.edits.rewrite(index, with: p.block(params: params, leavingOn: listener))
    }

    /// The same choice for failure_route's branches, made on the request as tm stored it.
    func carry(into base: [UInt8]) -> (any CoreBranchEdit)? {
        guard let (_, p, params, written) = branchEdit, let r = base.firstRange(of: written) else { return nil }
        return RRCarriedEdit(range: r, pending: p, params: params)
    }
    /// Parameters of our own Route that `loose_route()` consumed (`check_route_param`).
    var routeParams: [UInt8]?
    /// From tag in that Route (`ftag`, for `is_direction`).
    var ftag: [UInt8]?
}

/// rr's Record-Route in the copy of the request failure_route works on (its byte range
/// there), rewritten for the socket each new branch leaves on.
final class RRCarriedEdit: CoreBranchEdit {
    let range: Range<Int>
    let pending: RRPending
    let params: [UInt8]

    init(range: Range<Int>, pending: RRPending, params: [UInt8]) {
        self.range = range
        self.pending = pending
        self.params = params
    }

    func adjust(for ctx: ScriptContext, leavingOn listener: Int) {
        ctx.message.edits.replace(range, with: pending.block(params: params, leavingOn: listener))
    }

    func carry(into base: [UInt8]) -> (any CoreBranchEdit)? { self }
}

/// A Record-Route not written yet: its address, the second one of a double
/// Record-Route, and the parameters around `add_rr_param`'s.
struct RRPending {
    /// URI up to its parameters (`sip:host:port;transport=x`).
    var address: [UInt8]
    /// `record_route_preset`'s second address (top of the two, below the first).
    var second: [UInt8]?
    /// Parameters before the added ones (`;lr;ftag=...` for record_route, `;ftag=...` for
    /// the preset form).
    var head: [UInt8]
    /// Parameters after them (`;lr` for the preset form, as Kamailio writes it).
    var tail: [UInt8]
    /// record_route(): the Record-Route address of the socket the request leaves on,
    /// when it differs from the one it came in on (double Record-Route); nil: never.
    var outbound: ((ScriptContext) -> [UInt8]?)?
    /// The same for a branch known to leave on listener `i`.
    var outboundOn: ((Int) -> [UInt8]?)?

    /// The header line(s), CRLF-terminated, for a branch leaving on listener `listener`.
    func block(params: [UInt8], leavingOn listener: Int) -> [UInt8] {
        block(params: params, outbound: outboundOn?(listener))
    }

    private static let linePrefix: [UInt8] = Array("Record-Route: <".utf8)
    private static let r2on: [UInt8] = Array(";r2=on".utf8)

    /// The header lines in the order they go in, top first, each CRLF-terminated, built
    /// in one buffer (this runs for every record-routed request and again per branch).
    func block(params: [UInt8], outbound out: [UInt8]?) -> [UInt8] {
        let fixed = Self.linePrefix.count + Self.r2on.count + head.count + params.count + tail.count + 3
        var b: [UInt8] = []
        b.reserveCapacity(2 * fixed + address.count + max(second?.count ?? 0, out?.count ?? 0))
        if let second {
            appendLine(address, r2: false, params, to: &b)
            appendLine(second, r2: false, params, to: &b)
        } else if let out {
            // Kamailio's double RR: the outgoing socket's entry on top, both marked r2=on, so
            // loose_route() on the way back removes both (RFC 3261 §16.6 step 4 allows it).
            appendLine(out, r2: true, params, to: &b)
            appendLine(address, r2: true, params, to: &b)
        } else {
            appendLine(address, r2: false, params, to: &b)
        }
        return b
    }

    private func appendLine(_ addr: [UInt8], r2: Bool, _ params: [UInt8], to b: inout [UInt8]) {
        b += Self.linePrefix
        b += addr
        if r2 { b += Self.r2on }
        b += head
        b += params
        b += tail
        b.append(SIPASCII.raquot)
        b.append(SIPASCII.cr)
        b.append(SIPASCII.lf)
    }
}

extension ScriptContext {
    /// The rr module's per-message state.
    var rr: RRMessageState {
        if let s = userData.rr { return unsafeDowncast(s, to: RRMessageState.self) }
        let s = RRMessageState()
        userData.rr = s
        core.pendingEdits.append(s)
        core.branchEdits.append(s)
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
    /// `enable_double_rr`: two Record-Routes when the request leaves on another socket
    /// (transport or address family) than it came in on (Kamailio's default is on).
    let doubleRR = Atomic<Int>(1)
    /// Called when `loose_route()` consumed a Route naming this server, with the
    /// parameters of that Route (Kamailio's rr callbacks: dialog follows in-dialog
    /// requests here, however the script forwards them).
    let looseRouteHooks = Mutex<[@Sendable (ScriptContext, [UInt8]) -> Void]>([])

    public init(runtime: CoreRuntime) { self.runtime = runtime }

    /// Adds a hook run each time `loose_route()` consumes one of our own Routes.
    public func addLooseRouteHook(_ hook: @escaping @Sendable (ScriptContext, [UInt8]) -> Void) {
        looseRouteHooks.withLock { $0.append(hook) }
    }

    /// Runs the hooks for the Route parameters `keepRouteParams` kept.
    private func runHooks(_ ctx: ScriptContext) {
        let hooks = looseRouteHooks.withLock { $0 }
        guard !hooks.isEmpty else { return }
        let params = ctx.rr.routeParams ?? []
        for hook in hooks { hook(ctx, params) }
    }

    /// rr's `modparam` parameters.
    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("append_fromtag", .int) { [self] v throws(ScriptFixupError) in appendFromTag.store(Int(v.intValue), ordering: .relaxed) },
            ScriptModuleParameter("enable_double_rr", .int) { [self] v throws(ScriptFixupError) in doubleRR.store(Int(v.intValue), ordering: .relaxed) },
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
                recordRoutePreset(ctx, ctx.bytes(args[0]), second: args.count > 1 ? ctx.bytes(args[1]) : nil)
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
                guard let ftag = ctx.rr.ftag, let from = ctx.message.fromTag else { return -1 }
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

    /// `record_route_preset("host:port;params" [, "host2:port2"])`: a Record-Route with
    /// the given address instead of the receiving socket's (§16.6 step 4 lets the proxy
    /// choose the URI); with two, two Record-Routes, the first on top. Kamailio writes
    /// `lr` after the other parameters here.
    func recordRoutePreset(_ ctx: ScriptContext, _ address: [UInt8], second: [UInt8]?) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, !address.isEmpty, second?.isEmpty != true else { return -1 }
        func uri(_ a: [UInt8]) -> [UInt8] {
            a.starts(with: "sip:".utf8) || a.starts(with: "sips:".utf8) ? a : Array("sip:".utf8) + a
        }
        return setPending(ctx, RRPending(address: uri(address), second: second.map(uri), head: fromTagParam(msg),
                                         tail: Self.lrParam))
    }

    /// `;ftag=<From tag>` when append_fromtag is on.
    private func fromTagParam(_ msg: SIPMessage, after prefix: [UInt8] = []) -> [UInt8] {
        guard appendFromTag.load(ordering: .relaxed) != 0, let tag = msg.fromTag else { return prefix }
        var p: [UInt8] = []
        p.reserveCapacity(prefix.count + Self.ftagParam.count + tag.count)
        p += prefix
        p += Self.ftagParam
        p += tag
        return p
    }

    private static let lrParam: [UInt8] = Array(";lr".utf8)
    private static let ftagParam: [UInt8] = Array(";ftag=".utf8)

    /// Keeps the Record-Route until the request is sent (`CorePendingEdit`): a second
    /// record_route() first writes out the one before it.
    private func setPending(_ ctx: ScriptContext, _ p: RRPending) -> Int32 {
        let state = ctx.rr
        if state.pending != nil { state.apply(to: ctx) }
        state.pending = p
        state.anchor = ctx.message.firstHeader(.recordRoute) ?? ctx.message.headers.first
        return 1
    }

    /// Adds `Record-Route: <sip:ADDR:PORT;transport=X;lr;ftag=...>` for the socket the
    /// request came in on, above any Record-Route already there (§16.6 step 4); a second
    /// one for the outgoing socket when it differs (enable_double_rr).
    func recordRoute(_ ctx: ScriptContext, extra: [UInt8]) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest, let l = runtime.listener(ctx.receive.listenerIndex) else { return -1 }
        var head = fromTagParam(msg, after: Self.lrParam)
        if !extra.isEmpty {
            if extra.first != SIPASCII.semicolon { head.append(SIPASCII.semicolon) }
            head += extra
        }
        var p = RRPending(address: runtime.rrAddresses[l.index], head: head, tail: [])
        if doubleRR.load(ordering: .relaxed) != 0, runtime.listenerCount > 1 {
            p.outbound = { [runtime] ctx in
                guard let out = Self.outboundListener(ctx, runtime), out != l.index else { return nil }
                return runtime.rrAddresses[out]
            }
            p.outboundOn = { [runtime] out in
                out != l.index && out >= 0 && out < runtime.rrAddresses.count ? runtime.rrAddresses[out] : nil
            }
        }
        return setPending(ctx, p)
    }

    /// The listener a request in `ctx` will leave on: the forced one (`force_send_socket`)
    /// when it fits, else by the transport of `$du` (else the Request-URI) and the family
    /// of its address, as tm and forward choose it.
    static func outboundListener(_ ctx: ScriptContext, _ runtime: CoreRuntime) -> Int? {
        let bytes = ctx.destinationURI ?? ctx.requestURIBytes
        guard let dst = try? SIPURI(bytes: bytes[...]), let host = dst.host else { return nil }
        var proto: TransportProto = dst.scheme == .sips ? .tls : .udp
        if let t = dst.transport, let p = TransportProto(name: SIPBytes.string(t).lowercased()) { proto = p }
        guard let addr = runtime.resolve(host.address, port: dst.port ?? proto.defaultPort) else { return nil }
        return runtime.sendListener(forced: ctx.core.forcedSocket, proto: proto, address: addr,
                                    preferred: ctx.receive.listenerIndex)?.index
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
            runHooks(ctx)
            return 1
        }
        guard runtime.isMyself(host: host.text, port: top.uri.port, tls: top.uri.scheme == .sips) else {
            ctx.destinationURI = Array(top.uri.raw)
            return 1
        }
        keepRouteParams(ctx, top.uri)
        var next = 1
        // Our double Record-Route (r2=on): the second entry is ours too and goes as well.
        if top.uri.param("r2") != nil, routes.count > 1, let h2 = routes[1].uri.host,
           runtime.isMyself(host: h2.text, port: routes[1].uri.port, tls: routes[1].uri.scheme == .sips) {
            removeFirstTwoRoutes(msg, routes)
            next = 2
        } else {
            removeRoute(msg, top)
        }
        if routes.count > next {
            ctx.destinationURI = Array(routes[next].uri.raw)
        }
        runHooks(ctx)
        return 1
    }

    /// The Route header field that holds `r`.
    private func routeField(_ msg: SIPMessage, _ r: SIPNameAddr) -> SIPHeaderField? {
        msg.headers(.route).first { $0.value.contains(r.range.lowerBound) || $0.value.lowerBound == r.range.lowerBound }
    }

    /// Removes one Route entry from the header field that holds it.
    private func removeRoute(_ msg: SIPMessage, _ r: SIPNameAddr) {
        if let field = routeField(msg, r) { try? msg.removeValue(r.range, of: field) }
    }

    /// Removes the first two Route entries; two removals in one field would overlap, so
    /// a shared field loses one span (or goes when nothing else is in it).
    private func removeFirstTwoRoutes(_ msg: SIPMessage, _ routes: [SIPNameAddr]) {
        let a = routes[0], b = routes[1]
        guard let fa = routeField(msg, a), let fb = routeField(msg, b), fa.index == fb.index else {
            removeRoute(msg, a)
            removeRoute(msg, b)
            return
        }
        if routes.count > 2, let fc = routeField(msg, routes[2]), fc.index == fa.index {
            msg.edits.delete(a.range.lowerBound..<routes[2].range.lowerBound)
        } else {
            msg.removeHeader(fa)
        }
    }

    /// Keeps the parameters of our own Route URI for `check_route_param`/`is_direction`.
    private func keepRouteParams(_ ctx: ScriptContext, _ uri: SIPURI) {
        let raw = uri.raw
        if let semi = raw.firstIndex(of: SIPASCII.semicolon) { ctx.rr.routeParams = Array(raw[semi...]) } else { ctx.rr.routeParams = [] }
        ctx.rr.ftag = uri.param("ftag")?.value.map(Array.init)
    }
}
