import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// A socket named in the script — `force_send_socket(udp:10.0.0.1:5060)`,
/// `set_send_socket("...")`, `$fs = "..."` — as `[proto:]host[:port]`. A missing
/// transport or port matches any (Kamailio accepts `force_send_socket(10.0.0.1)`).
struct CoreSocketSpec: Sendable, CustomStringConvertible {
    /// Transport; nil: any.
    var proto: TransportProto?
    /// Numeric address or name, IPv6 without brackets.
    var host: String
    /// Port; 0: any.
    var port: UInt16

    /// Parses `[proto:]host[:port]` (IPv6 in brackets when a port follows); nil when malformed.
    static func parse(_ text: String) -> CoreSocketSpec? {
        var rest = Substring(text)
        var proto: TransportProto?
        if let c = rest.firstIndex(of: ":"), let p = TransportProto(name: rest[..<c]) {
            proto = p
            rest = rest[rest.index(after: c)...]
        }
        var host = rest
        var port: UInt16 = 0
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let tail = rest[rest.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":"), let p = UInt16(tail.dropFirst()) else { return nil }
                port = p
            }
        } else if let c = rest.lastIndex(of: ":"), rest.filter({ $0 == ":" }).count == 1 {
            host = rest[..<c]
            guard let p = UInt16(rest[rest.index(after: c)...]) else { return nil }
            port = p
        }
        guard !host.isEmpty else { return nil }
        return CoreSocketSpec(proto: proto, host: String(host), port: port)
    }

    /// `host:port` as Kamailio prints it in its refusal.
    var description: String { "\(host.contains(":") ? "[\(host)]" : host):\(port)" }

    /// The numeric address of `host` (names through the resolver); nil when it does not resolve.
    var address: SocketAddress? {
        TransportResolver.resolve(host: host, port: port, preferIPv6: host.contains(":"))
    }

    /// True when a socket of `proto` bound to `ip`:`port` is this one. A wildcard
    /// socket (`0.0.0.0`, `::`) stands for every address of its family.
    func matches(proto p: TransportProto, address a: SocketAddress, wanted: SocketAddress) -> Bool {
        guard proto == nil || proto == p, port == 0 || a.port == 0 || a.port == port,
              a.isIPv6 == wanted.isIPv6 else { return false }
        let ip = a.ipString
        return ip == wanted.ipString || ip == "0.0.0.0" || ip == "::"
    }
}

extension CoreRuntime {
    /// The index of the listener `spec` names, nil when none.
    func listenerIndex(matching spec: CoreSocketSpec) -> Int? {
        guard let want = spec.address else { return nil }
        let ls = listenerCache
        // an exact address before a wildcard one
        return (ls.first { spec.matches(proto: $0.proto, address: $0.address, wanted: want) && $0.address.ipString == want.ipString }
                ?? ls.first { spec.matches(proto: $0.proto, address: $0.address, wanted: want) })?.index
    }

    /// The listener a message to `address` over `proto` leaves on, as Kamailio chooses it:
    /// the forced socket (`force_send_socket`, `$fs`; `forced` < 0: none) when it fits —
    /// for another transport the socket of that transport on the same address and port,
    /// else it is ignored with a warning; for another address family it is ignored —
    /// otherwise a socket of the transport and family, preferring `preferred`.
    public func sendListener(forced: Int, proto: TransportProto, address: SocketAddress, preferred: Int) -> ListenerInfo? {
        if let f = listener(forced) {
            let chosen = f.proto == proto ? f : listenerCache.first { $0.proto == proto && $0.address == f.address }
            if let c = chosen, c.address.isIPv6 == address.isIPv6 { return c }
            if chosen == nil, logEnabled(.warning) {
                log(.warning, "core", "protocol/port mismatch (forced \(f.proto.name):\(f.address), to \(proto.name):\(address))")
            }
        }
        return listener(for: proto, address: address, preferred: preferred)
    }

    /// `proto:ip:port` of a listener, as `$fs` reads (Kamailio's socket string).
    func socketText(_ index: Int) -> [UInt8]? {
        index >= 0 && index < socketTexts.count ? socketTexts[index] : nil
    }

    /// The listener whose `proto:ip:port` is `text` (a usrloc contact's socket); -1: none.
    public func listenerIndex(socketText text: String?) -> Int {
        guard let text else { return -1 }
        return socketTexts.firstIndex { $0.elementsEqual(text.utf8) } ?? -1
    }
}

/// `force_send_socket`, `set_send_socket` and `$fs`: which of our sockets a request (or a
/// stateless reply relayed from onreply_route) leaves on.
extension CoreModule {
    /// A bare socket argument, checked against the listen sockets when they are known.
    final class SocketArgument: Sendable {
        let spec: CoreSocketSpec
        let runtime: CoreRuntime
        /// The listener index, found on first use (the sockets are bound after the load).
        private let cached = Atomic<Int>(-2)

        init(spec: CoreSocketSpec, runtime: CoreRuntime) {
            self.spec = spec
            self.runtime = runtime
        }

        /// The listener, or -1 when none matches.
        var index: Int {
            let c = cached.load(ordering: .relaxed)
            if c != -2 { return c }
            let i = runtime.listenerIndex(matching: spec) ?? -1
            cached.store(i, ordering: .relaxed)
            return i
        }
    }

    /// The reason `spec` is refused, nil when one of `listens` is it (a start-up check,
    /// before the sockets are bound).
    static func refusal(_ spec: CoreSocketSpec, listens: [ListenSpec]) -> String? {
        guard let want = spec.address else { return "force_send_socket: could not resolve \(spec.host)" }
        for l in listens {
            let a = l.host == "*" ? nil : TransportResolver.resolve(host: l.host, port: l.port, preferIPv6: l.host.contains(":"))
            let wildcard = l.host == "*" && (spec.proto == nil || spec.proto == l.proto) && (spec.port == 0 || l.port == 0 || l.port == spec.port)
            if wildcard { return nil }
            if let a, spec.matches(proto: l.proto, address: a, wanted: want) { return nil }
        }
        return "bad force_send_socket argument: \(spec) (kamailiod doesn't listen on it)"
    }

    /// Checks every `force_send_socket` argument of the loaded script against the listen
    /// sockets (Kamailio refuses to start with one it does not listen on).
    public func checkSendSockets(_ listens: [ListenSpec]) throws(ScriptError) {
        for (spec, location) in socketArguments.withLock({ $0 }) {
            if let why = Self.refusal(spec, listens: listens) { throw ScriptError(why, at: location) }
        }
    }

    /// The fixup of `force_send_socket`: parses the socket; refuses one we do not listen on
    /// at once when the sockets are bound (a reload), else after the load (`checkSendSockets`).
    func socketFixup(_ f: ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        guard case .string(let text) = f.arguments.first, let spec = CoreSocketSpec.parse(text) else {
            throw f.error("force_send_socket needs a socket like udp:10.0.0.1:5060")
        }
        if runtime.isReady {
            if runtime.listenerIndex(matching: spec) == nil {
                throw f.error(spec.address == nil ? "force_send_socket: could not resolve \(spec.host)"
                                                  : "bad force_send_socket argument: \(spec) (kamailiod doesn't listen on it)")
            }
        } else {
            socketArguments.withLock { $0.append((spec, f.location)) }
        }
        return ScriptFixedArgs([.custom(SocketArgument(spec: spec, runtime: runtime))])
    }

    /// Sets the forced socket from `[proto:]host[:port]` text (`set_send_socket`, `$fs`);
    /// text naming none of ours leaves it as it was, with a warning (Kamailio's).
    func setSendSocket(_ ctx: ScriptContext, _ text: [UInt8]) {
        let s = String(decoding: text, as: UTF8.self)
        guard let spec = CoreSocketSpec.parse(s), let i = runtime.listenerIndex(matching: spec) else {
            runtime.log(.warning, "core", "no socket found to match [\(s)]")
            return
        }
        ctx.core.forcedSocket = i
    }

    /// `force_send_socket(sock)` and `set_send_socket("sock")`.
    var socketFunctions: [ScriptFunction] {
        [
            ScriptFunction("force_send_socket", arity: 1...1, routes: [.request, .failure, .branch, .onreply],
                           fixup: { [self] f throws(ScriptError) in try socketFixup(f) }) { ctx, args in
                guard let arg = args.custom(0, as: SocketArgument.self), arg.index >= 0 else { return -1 }
                ctx.core.forcedSocket = arg.index
                return 1
            },
            // corex's: true even when no socket matches (then nothing changes), false for empty text
            ScriptFunction("set_send_socket", arity: 1...1, routes: [.request, .failure, .branch, .onreply]) { [self] ctx, args in
                let text = ctx.bytes(args[0])
                guard !text.isEmpty else {
                    runtime.log(.error, "core", "set_send_socket: cannot get socket address value")
                    return -1
                }
                setSendSocket(ctx, text)
                return 1
            },
        ]
    }

    /// `$fs`: the forced socket as `proto:ip:port` (null when none); assigning text sets
    /// it, `$null` clears it.
    var socketPseudoVariables: [ScriptPVDefinition] {
        [ScriptPVDefinition("fs") { [self] _, _ throws(ScriptError) in
            ScriptPVAccessor(get: { [runtime] ctx in
                runtime.socketText(ctx.core.forcedSocket).map { .str($0) } ?? .null
            }, set: { [self] ctx, v, _ in
                if v.isNull || v.bytes.isEmpty { ctx.core.forcedSocket = -1 } else { setSendSocket(ctx, v.bytes) }
            })
        }]
    }
}
