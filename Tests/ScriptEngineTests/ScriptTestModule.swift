import Foundation
import SIPCore
import SIPTransport
import Testing
@testable import ScriptEngine

/// Collects what the test functions print and answers `myself` for `sip.test`/127.0.0.1.
final class ScriptTestServices: ScriptServices, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private var logs: [String] = []

    func log(level: Int32, _ text: String) {
        lock.withLock { logs.append(text) }
    }

    func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool {
        let h = String(decoding: host, as: UTF8.self)
        return (h == "sip.test" || h == "127.0.0.1") && (port == nil || port == 5060)
    }

    func emit(_ s: String) { lock.withLock { lines.append(s) } }
    var output: [String] { lock.withLock { lines } }
    var logLines: [String] { lock.withLock { logs } }
}

/// A tiny module with the functions the interpreter tests need.
final class ScriptTestModule: ScriptModule, @unchecked Sendable {
    let name = "test"
    let services: ScriptTestServices
    private let lock = NSLock()
    private var params: [String: ScriptValue] = [:]
    var initialized = false

    init(services: ScriptTestServices) {
        self.services = services
    }

    func param(_ n: String) -> ScriptValue? { lock.withLock { params[n] } }

    var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("count", .int) { [self] v throws(ScriptFixupError) in
                if v.intValue < 0 { throw ScriptFixupError("must not be negative") }
                lock.withLock { params["count"] = v }
            },
            ScriptModuleParameter("label", .string) { [self] v in lock.withLock { params["label"] = v } },
        ]
    }

    var functions: [ScriptFunction] {
        let services = services
        return [
            ScriptFunction("out", arity: 1...1) { ctx, args in
                services.emit(ctx.string(args[0]))
                return 1
            },
            ScriptFunction("ret", arity: 1...1, fixup: { fx throws(ScriptError) in
                ScriptFixedArgs([.int(try fx.fixupInt(0))])
            }) { ctx, args in ctx.int(args[0]) },
            ScriptFunction("ok", arity: 0...0) { _, _ in 1 },
            ScriptFunction("nok", arity: 0...0) { _, _ in -1 },
            ScriptFunction("quiet_true", arity: 0...0, updatesReturnCode: false) { _, _ in 1 },
            ScriptFunction("is_method", arity: 1...1) { ctx, args in
                ScriptMessageAccess.method(ctx).bytes == ctx.bytes(args[0]) ? 1 : -1
            },
            ScriptFunction("req_only", arity: 0...0, routes: .request) { _, _ in 1 },
            ScriptFunction("arm_failure", arity: 1...1, fixup: { fx throws(ScriptError) in
                ScriptFixedArgs([.route(try fx.fixupRoute(0, .failure))])
            }) { _, _ in 1 },
            ScriptFunction("two_or_three", arity: 2...3) { _, _ in 1 },
            ScriptFunction("setpv", arity: 2...2, fixup: { fx throws(ScriptError) in
                ScriptFixedArgs([.pv(try fx.fixupPV(0, writable: true)), .format(try fx.fixupFormat(1))])
            }) { ctx, args in
                guard case .pv(let pv) = args[0] else { return -1 }
                pv.accessor.set?(ctx, .str(ctx.bytes(args[1])), false)
                return 1
            },
        ]
    }

    func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        lock.withLock { initialized = true }
        // like htable's event_route[htable:mod-init]
        if let services = context.services {
            _ = context.script.runEventRoute("test:mod-init", services: services,
                                             worker: context.script.makeWorkerState(worker: -1))
        }
    }
}

/// A module that exists only to be named in `loadmodule`.
final class ScriptNamedModule: ScriptModule, @unchecked Sendable {
    let name: String
    init(_ name: String) { self.name = name }
    var parameters: [ScriptModuleParameter] { [] }
    var functions: [ScriptFunction] { [] }
}

/// Builds messages and contexts, loads scripts and runs them.
enum ScriptRunner {
    static let invite = """
    INVITE sip:alice@sip.test SIP/2.0\r
    Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r
    Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK2\r
    From: "Bob" <sip:bob@example.com>;tag=ft1\r
    To: <sip:alice@sip.test>\r
    Call-ID: call-1@example.com\r
    CSeq: 10 INVITE\r
    Max-Forwards: 70\r
    User-Agent: test-ua\r
    X-Echo: one\r
    X-Echo: two\r
    Contact: <sip:bob@10.0.0.1>\r
    Content-Length: 4\r
    \r
    body
    """

    static func receiveInfo() -> ReceiveInfo {
        let src = SocketAddress(ip: "10.0.0.1", port: 5062) ?? SocketAddress(storage: .init(), length: 0)
        let local = SocketAddress(ip: "127.0.0.1", port: 5060) ?? SocketAddress(storage: .init(), length: 0)
        return ReceiveInfo(proto: .udp, source: src, local: local, listenerIndex: 0)
    }

    /// A fresh context for `message` (default: the sample INVITE) on worker 0 of `script`.
    static func context(_ script: LoadedScript, _ services: ScriptTestServices, message: String = invite,
                        routeType: ScriptRouteType = .request) throws -> ScriptContext {
        ScriptContext(message: try SIPMessage(message), receive: receiveInfo(),
                      worker: script.makeWorkerState(worker: 0), services: services, routeType: routeType)
    }

    /// Loads `text` with the test module.
    static func load(_ text: String, services: ScriptTestServices = ScriptTestServices(),
                     extra: [any ScriptModule] = []) throws -> (LoadedScript, ScriptTestServices) {
        let script = try ScriptLoader.load(text: text, name: "t.cfg",
                                           modules: [ScriptTestModule(services: services)] + extra)
        return (script, services)
    }

    /// The load error text of `text`, or nil when it loaded.
    static func loadError(_ text: String, extra: [any ScriptModule] = []) -> String? {
        do {
            _ = try load(text, extra: extra)
            return nil
        } catch let e as ScriptError {
            return e.description
        } catch {
            return "\(error)"
        }
    }

    /// Runs `request_route { body }` (with `loadmodule "test.so"` and `routes` around it)
    /// against the sample INVITE and returns what `out()` printed.
    static func run(_ body: String, routes: String = "", message: String = invite,
                    worker: ScriptWorkerState? = nil,
                    script: (LoadedScript, ScriptTestServices)? = nil) throws -> ([String], ScriptRunResult) {
        let (loaded, services) = try script ?? load("loadmodule \"test.so\"\nrequest_route {\n\(body)\n}\n\(routes)")
        let before = services.output.count
        let msg = try SIPMessage(message)
        let ctx = ScriptContext(message: msg, receive: receiveInfo(),
                                worker: worker ?? loaded.makeWorkerState(worker: 0), services: services)
        let result = loaded.runRequestRoute(ctx)
        return (Array(services.output.dropFirst(before)), result)
    }

    /// Evaluates `expr` by assigning it to a `$var` and printing it.
    static func value(_ expr: String) throws -> String {
        try run("$var(r) = \(expr); out(\"$var(r)\");").0.first ?? "<nothing>"
    }
}
