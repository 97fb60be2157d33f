import SIPTransport
import ScriptEngine

/// Kamailio's core `force_tcp_alias([port])` for stream connections (TCP and TLS): the
/// connection the request came on becomes the way to the peer's address at `port` (the
/// top Via's port when omitted), so requests to a client's listening port reuse the
/// connection it opened (RFC 5923's aliasing). Always enabled, like the core functions.
public final class ConnectionAliasModule: ScriptModule {
    public let name = "core_connection_alias"
    public var isCore: Bool { true }
    public let parameters: [ScriptModuleParameter] = []
    let runtime: CoreRuntime

    /// A module bound to the daemon's transport.
    public init(runtime: CoreRuntime) { self.runtime = runtime }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("force_tcp_alias", arity: 0...1, routes: [.request, .onreply, .failure, .branch],
                           fixup: { f throws(ScriptError) in
                               guard f.arguments.count == 1 else { return ScriptFixedArgs([]) }
                               let port = try f.fixupInt(0)
                               guard (1...65535).contains(port) else { throw f.error("port must be 1-65535, found \(port)", argument: 0) }
                               return ScriptFixedArgs([.int(port)])
                           }) { [self] ctx, args in
                let r = ctx.receive
                guard r.proto.isStream, r.connectionID != 0, let transport = runtime.transport else { return -1 }
                var port = args.count == 1 ? UInt16(clamping: ctx.int(args[0])) : nil
                if port == nil, let via = try? ctx.message.topVia() { port = via.port ?? r.proto.defaultPort }
                guard let port else { return -1 }
                return transport.addAlias(connectionID: r.connectionID, port: port) ? 1 : -1
            },
        ]
    }
}
