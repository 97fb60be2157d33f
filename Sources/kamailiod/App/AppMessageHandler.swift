import SIPCore
import SIPTransport
import ScriptEngine
import BuiltinModules

/// What the script engine asks of the daemon: logging and "is this host me".
final class DaemonServices: ScriptServices {
    let runtime: CoreRuntime

    init(runtime: CoreRuntime) { self.runtime = runtime }

    func log(level: Int32, _ text: String) {
        let l = CoreLogLevel(rawValue: Int(level)) ?? .error
        if runtime.logEnabled(l) { runtime.log(l, "script", text) }
    }

    func isMyself(host: ArraySlice<UInt8>, port: UInt16?) -> Bool {
        runtime.isMyself(host: host, port: port)
    }
}

/// Per-worker script state (`$var`), one slot per worker, each touched only by its worker.
final class WorkerStates: @unchecked Sendable {
    private let states: [ScriptWorkerState]

    init(script: LoadedScript, count: Int) {
        states = (0..<max(count, 1)).map { script.makeWorkerState(worker: $0) }
    }

    subscript(_ worker: Int) -> ScriptWorkerState { states[worker % states.count] }
}

/// The bridge from the transport to SIP: parse, then run the routing script for a
/// request, or relay a reply statelessly after `reply_route`.
final class SIPMessageHandler: MessageHandler {
    let script: LoadedScript
    let modules: BuiltinModuleSet
    let services: DaemonServices
    let states: WorkerStates
    var runtime: CoreRuntime { modules.runtime }

    init(script: LoadedScript, modules: BuiltinModuleSet, workers: Int) {
        self.script = script
        self.modules = modules
        services = DaemonServices(runtime: modules.runtime)
        states = WorkerStates(script: script, count: workers)
    }

    func handleMessage(_ bytes: [UInt8], info: ReceiveInfo, worker: Int) {
        guard runtime.isReady else { return }
        let msg: SIPMessage
        do {
            msg = try SIPMessage(bytes: bytes)
        } catch {
            // Without a parsed header section there is nothing to build a reply from
            // (RFC 3261 §16.3: a proxy may drop what it cannot parse).
            if runtime.logEnabled(.info), !isKeepAlive(bytes) {
                runtime.log(.info, "core", "dropping \(bytes.count) bytes from \(info.proto.name):\(info.source): \(error.reason)")
            }
            return
        }
        if msg.isRequest {
            handleRequest(msg, info: info, worker: worker)
        } else {
            let ctx = ScriptContext(message: msg, receive: info, worker: states[worker], services: services,
                                    routeType: .onreply)
            let replyRoute = {
                let result = self.script.runReplyRoute(ctx)
                return !(result.dropped || ctx.dropped)
            }
            // Replies of our transactions go to tm (§17.1.3); the rest are relayed statelessly.
            if modules.tm.handleReply(msg, info: info, context: ctx, replyRoute: replyRoute) { return }
            runtime.relayReply(msg, info: info, replyRoute: replyRoute)
        }
    }

    private func handleRequest(_ msg: SIPMessage, info: ReceiveInfo, worker: Int) {
        // A reply goes where the top Via says (§18.2.2): without one we cannot answer.
        guard (try? msg.topVia()) != nil else {
            if runtime.logEnabled(.info) {
                runtime.log(.info, "core", "dropping \(SIPBytes.string(msg.methodBytes)) from \(info.source): no usable Via")
            }
            return
        }
        if modules.sl.absorbsACK(msg) { return }
        let ctx = ScriptContext(message: msg, receive: info, worker: states[worker], services: services)
        _ = script.runRequestRoute(ctx)
    }

    /// CRLF keep-alives (RFC 5626 §3.5.1) are not worth a log line.
    private func isKeepAlive(_ b: [UInt8]) -> Bool {
        b.allSatisfy { $0 == 13 || $0 == 10 }
    }
}
