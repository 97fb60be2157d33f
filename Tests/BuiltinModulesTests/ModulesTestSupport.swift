import SIPCore
import SIPTransport
import ScriptEngine
@testable import BuiltinModules

/// A script loaded with every built-in module on a runtime that is not attached to a
/// transport (nothing is sent), and a way to run a request through it.
final class ModuleHarness {
    let runtime: CoreRuntime
    let modules: BuiltinModuleSet
    let script: LoadedScript
    let services: TestServices
    /// What the last `run` returned.
    var lastResult: ScriptRunResult?

    final class TestServices: ScriptServices {
        func log(level: Int32, _ text: String) {}
        func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool { false }
    }

    init(_ text: String) throws {
        runtime = CoreRuntime(log: { _, _, _ in }, logEnabled: { _ in false })
        modules = BuiltinModuleSet(runtime: runtime)
        script = try ScriptLoader.load(text: text, name: "test.cfg", modules: modules.all)
        services = TestServices()
    }

    /// Runs request_route on `text` (CRLF line ends added) and returns the context.
    func run(_ text: String) throws -> ScriptContext {
        let msg = try SIPMessage(bytes: Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        let src = SocketAddress(ip: "127.0.0.1", port: 5099)!
        let info = ReceiveInfo(proto: .udp, source: src, local: SocketAddress(ip: "127.0.0.1", port: 5060)!, listenerIndex: 0)
        let ctx = ScriptContext(message: msg, receive: info, worker: script.makeWorkerState(worker: 0), services: services)
        lastResult = script.runRequestRoute(ctx)
        return ctx
    }
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}

/// A minimal valid request.
func request(_ method: String = "OPTIONS", extra: [String] = [], maxForwards: String? = "70") -> String {
    var lines = ["\(method) sip:bob@example.com SIP/2.0",
                 "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
                 "From: <sip:alice@example.com>;tag=a1",
                 "To: <sip:bob@example.com>",
                 "Call-ID: c1",
                 "CSeq: 1 \(method)"]
    if let mf = maxForwards { lines.append("Max-Forwards: \(mf)") }
    lines += extra
    lines += ["Content-Length: 0", "", ""]
    return lines.joined(separator: "\n")
}

/// The serialized message as text.
func wire(_ ctx: ScriptContext) -> String { String(decoding: ctx.serializeMessage(), as: UTF8.self) }
