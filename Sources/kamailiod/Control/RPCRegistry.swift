import Dispatch
import Shared
import Synchronization

/// One RPC method: name, help, parameter signature, JSON shape flag and handler.
///
/// Kamailio's `rpc_export_t`: modules declare these once; the servers look them up by name.
public struct RPCMethod: Sendable {
    /// Reads parameters from the call and adds the reply values; throws a fault to fail.
    public typealias Handler = @Sendable (RPCCall) throws(RPCFault) -> Void

    /// Dotted name (`core.uptime`).
    public var name: String
    /// One-line help, returned by `system.methodHelp`.
    public var help: String
    /// Parameters as documented in man/kamailiod.8: `<name:s>` mandatory, `[name:i]`
    /// optional, `...` repeatable; types s (string), i (integer), d (double). Empty: none.
    public var signature: String
    /// Kamailio's `RET_ARRAY`: over JSON-RPC every added value becomes an array element;
    /// otherwise only the last added value is the result (spec §6.2).
    public var returnsArray: Bool
    /// The work.
    public var handler: Handler

    /// Creates a method.
    public init(_ name: String, help: String, signature: String = "", returnsArray: Bool = false,
                handler: @escaping Handler) {
        self.name = name
        self.help = help
        self.signature = signature
        self.returnsArray = returnsArray
        self.handler = handler
    }
}

/// What running a method produced.
public enum RPCOutcome: Equatable, Sendable {
    /// Success: every top-level value the method added, in order (may be empty).
    case values([RPCValue])
    /// The method (or a parameter scan) failed.
    case fault(RPCFault)
    /// No method by that name.
    case notFound(String)

    /// The binrpc reply body: values shaped as ctl writes them (arrays become structs),
    /// faults as they are, an unknown method as `500 command X not found`.
    public var binrpcBody: BinrpcPacket.Body {
        switch self {
        case .values(let v): return .reply(v.map { RPCOutcome.fitting32Bits($0).binrpcShaped })
        case .fault(let f): return .fault(f)
        case .notFound(let name): return .fault(.commandNotFound(name))
        }
    }

    /// binrpc's INT is 32 bits: a larger integer (memory sizes, 64-bit counters) is sent as
    /// its decimal text rather than wrapped into a wrong number, which is what Kamailio's
    /// long-to-double path ends up doing. kamcmd prints both the same way.
    static func fitting32Bits(_ v: RPCValue) -> RPCValue {
        switch v {
        case .int(let i) where Int32(exactly: i) == nil: return .string(String(i))
        case .struct(let members): return .struct(members.map { RPCMember($0.name, fitting32Bits($0.value)) })
        case .array(let elements): return .array(elements.map(fitting32Bits))
        default: return v
        }
    }

    /// The JSON-RPC outcome: the result per the method's array flag, or an error
    /// (`500 Method Not Found` for an unknown method).
    public func jsonOutcome(returnsArray: Bool) -> JSONRPCReply.Outcome {
        switch self {
        case .values(let v): return .result(JSONRPCReply.result(of: v, arrayReturning: returnsArray))
        case .fault(let f): return .error(f)
        case .notFound: return .error(.methodNotFound)
        }
    }
}

/// The method table shared by all control servers.
///
/// Modules register at start-up; servers look methods up concurrently from their own
/// threads. The table sits behind a mutex held only for the lookup, never while a handler
/// runs, so a slow method does not stop other clients from finding theirs.
public final class RPCRegistry: Sendable {
    private let table = Mutex<[String: RPCMethod]>([:])
    /// Bounds how many handlers run at once. Kamailio serves each transport from one
    /// process; with a thread per client we could otherwise let fifty busy clients take
    /// every core from the SIP workers. Clients beyond the bound wait their turn.
    private let gate: DispatchSemaphore

    /// Creates a registry holding the `system.*` introspection methods; at most
    /// `maxConcurrentCalls` handlers run at the same time.
    public init(maxConcurrentCalls: Int = 2) {
        gate = DispatchSemaphore(value: max(1, maxConcurrentCalls))
        register(systemMethods())
    }

    /// Adds (or replaces) a method.
    public func register(_ method: RPCMethod) {
        table.withLock { $0[method.name] = method }
    }

    /// Adds (or replaces) several methods.
    public func register(_ methods: [RPCMethod]) {
        table.withLock { t in
            for m in methods { t[m.name] = m }
        }
    }

    /// The method called `name`, if registered.
    public func method(named name: String) -> RPCMethod? {
        table.withLock { $0[name] }
    }

    /// Every method, sorted by name (as `system.listMethods` lists them).
    public var methods: [RPCMethod] {
        table.withLock { Array($0.values) }.sorted { $0.name < $1.name }
    }

    /// Runs `name` with `params` on the calling thread.
    ///
    /// Scan faults follow Kamailio (spec §3.7, §6.4): over binrpc the prepared fault is sent
    /// only when the method added nothing; over JSON-RPC it is never sent and the values
    /// added so far (usually none, giving `{}`) are the result.
    public func execute(_ name: String, params: [RPCValue], transport: RPCTransportKind) -> RPCOutcome {
        guard let method = method(named: name) else { return .notFound(name) }
        let call = RPCCall(method: name, params: params, transport: transport)
        gate.wait()
        defer { gate.signal() }
        do throws(RPCFault) {
            try method.handler(call)
        } catch {
            if error != call.scanFault { return .fault(error) }
            if transport == .binrpc && call.values.isEmpty { return .fault(error) }
            return .values(call.values)
        }
        if transport == .binrpc, call.values.isEmpty, let prepared = call.scanFault { return .fault(prepared) }
        return .values(call.values)
    }

    /// `system.listMethods`, `system.methodHelp`, `system.methodSignature` with
    /// Kamailio's texts and faults.
    private func systemMethods() -> [RPCMethod] {
        [
            RPCMethod("system.listMethods", help: "Lists all RPC methods supported by the server.",
                      returnsArray: true) { [unowned self] call in
                for m in methods { call.add(.string(m.name)) }
            },
            RPCMethod("system.methodHelp", help: "Print the help string for given method.",
                      signature: "<method:s>") { [unowned self] call throws(RPCFault) in
                guard let name = call.optionalString() else {
                    throw RPCFault(code: 400, message: "Method Name Expected")
                }
                guard let m = method(named: name) else { throw RPCFault(code: 400, message: "command not found") }
                call.add(.string(m.help))
            },
            // Kamailio answers this for every method; clients expect the same stub.
            RPCMethod("system.methodSignature", help: "Returns signature of given method.",
                      signature: "<method:s>") { _ throws(RPCFault) in
                throw RPCFault(code: 500, message: "Not Implemented Yet")
            },
        ]
    }
}
