import SIPCore
import SIPTransport
import ScriptEngine
import Synchronization

/// The core's own functions (no `loadmodule` needed): stateless forwarding and the
/// Via/rport controls.
public final class CoreModule: ScriptModule {
    public let name = "core"
    public var isCore: Bool { true }
    public let parameters: [ScriptModuleParameter] = []
    let runtime: CoreRuntime

    /// The `core` cfg group.
    let cfg: CoreCfg
    /// `force_send_socket` arguments of the load, checked once the listen sockets are known.
    let socketArguments = Mutex<[(CoreSocketSpec, ScriptSourceLocation)]>([])

    /// `$fs`.
    public var pseudoVariables: [ScriptPVDefinition] { socketPseudoVariables }

    public init(runtime: CoreRuntime) {
        self.runtime = runtime
        cfg = CoreCfg(runtime.cfg)
    }

    public var functions: [ScriptFunction] {
        let rt = runtime
        return Self.cfgFunctions(rt.cfg) + socketFunctions + [
            // forward() / forward("sip:host:port;transport=tcp") / forward("host", port)
            ScriptFunction("forward", arity: 0...2, routes: [.request, .failure, .branch]) { ctx, args in
                let target: [UInt8]
                switch args.count {
                case 0: target = ctx.destinationURI ?? ctx.requestURIBytes
                case 1: target = ctx.bytes(args[0])
                default:
                    var t = Array("sip:".utf8) + ctx.bytes(args[0])
                    t.append(UInt8(ascii: ":"))
                    t += ScriptValue.decimal(ctx.int(args[1]))
                    target = t
                }
                guard let uri = try? SIPURI(bytes: target[...]) else {
                    rt.log(.error, "core", "forward: bad destination '\(String(decoding: target, as: UTF8.self))'")
                    return -1
                }
                return rt.forward(ctx, to: uri)
            },
            ScriptFunction("force_rport", arity: 0...0) { ctx, _ in
                ctx.core.forceRport = true
                return 1
            },
            // Kamailio adds `;rport` to the Via it inserts; our Vias are only read by peers
            // that reply to the source anyway, so this only records the wish.
            ScriptFunction("add_local_rport", arity: 0...0) { _, _ in 1 },
        ]
    }
}
