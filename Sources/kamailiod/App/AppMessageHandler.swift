import SIPCore
import SIPTransport
import ScriptEngine
import BuiltinModules
import Synchronization

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

/// The routing script in force with its per-worker states; `cfg.reload_script` swaps
/// both at once. A message takes the pair once when it arrives and runs to its end with
/// it; transactions keep their own reference for their failure and reply routes.
final class DaemonScriptSlot: Sendable {
    /// One generation of the script.
    final class Generation: Sendable {
        let script: LoadedScript
        let states: WorkerStates
        /// 0 for the script loaded at start-up, then one more per reload.
        let number: Int

        init(script: LoadedScript, workers: Int, number: Int) {
            self.script = script
            states = WorkerStates(script: script, count: workers)
            self.number = number
        }
    }

    private let slot: Mutex<Generation>
    let workers: Int

    init(script: LoadedScript, workers: Int) {
        self.workers = workers
        slot = Mutex(Generation(script: script, workers: workers, number: 0))
    }

    /// The generation new messages run with.
    var current: Generation { slot.withLock { $0 } }

    /// Makes `script` the one new messages run with; returns its generation number.
    func install(_ script: LoadedScript) -> Int {
        slot.withLock { g in
            g = Generation(script: script, workers: workers, number: g.number + 1)
            return g.number
        }
    }
}

/// The bridge from the transport to SIP: parse, then run the routing script for a
/// request, or relay a reply statelessly after `reply_route`.
final class SIPMessageHandler: MessageHandler {
    let scripts: DaemonScriptSlot
    let modules: BuiltinModuleSet
    let services: DaemonServices
    var runtime: CoreRuntime { modules.runtime }

    init(script: LoadedScript, modules: BuiltinModuleSet, workers: Int) {
        scripts = DaemonScriptSlot(script: script, workers: workers)
        self.modules = modules
        services = DaemonServices(runtime: modules.runtime)
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
        // Script and runtime parameters are taken once, here: the whole message sees one
        // generation of each, whatever reload or commit happens meanwhile.
        let generation = scripts.current
        let cfg = runtime.cfg.snapshot
        if msg.isRequest {
            handleRequest(msg, info: info, worker: worker, generation, cfg)
        } else {
            let ctx = ScriptContext(message: msg, receive: info, worker: generation.states[worker], services: services,
                                    routeType: .onreply)
            ctx.cfg = cfg
            let script = generation.script
            // a local function, not a closure value: passed only as non-escaping
            // arguments, its captures need no heap context
            func replyRoute() -> Bool {
                let result = script.runReplyRoute(ctx)
                return !(result.dropped || ctx.dropped)
            }
            // Replies of our transactions go to tm (§17.1.3); the rest are relayed statelessly.
            if modules.tm.handleReply(msg, info: info, context: ctx, replyRoute: replyRoute) { return }
            runtime.relayReply(msg, info: info, replyRoute: replyRoute, forcedSocket: { ctx.core.forcedSocket })
        }
    }

    private func handleRequest(_ msg: SIPMessage, info: ReceiveInfo, worker: Int,
                               _ generation: DaemonScriptSlot.Generation, _ cfg: CfgSnapshot) {
        // A reply goes where the top Via says (§18.2.2): without one we cannot answer.
        guard let topVia = try? msg.topVia() else {
            if runtime.logEnabled(.info) {
                runtime.log(.info, "core", "dropping \(SIPBytes.string(msg.methodBytes)) from \(info.source): no usable Via")
            }
            return
        }
        if info.connectionID != 0, generation.script.core.tcpAcceptAliases, topVia.params.first(named: "alias") != nil {
            runtime.transport?.addAlias(connectionID: info.connectionID, port: topVia.port ?? info.proto.defaultPort)
        }
        if modules.sl.absorbsACK(msg) { return }
        let ctx = ScriptContext(message: msg, receive: info, worker: generation.states[worker], services: services)
        ctx.cfg = cfg
        _ = generation.script.runRequestRoute(ctx)
        modules.tm.requestRouteFinished(ctx)
    }

    /// CRLF keep-alives (RFC 5626 §3.5.1) are not worth a log line.
    private func isKeepAlive(_ b: [UInt8]) -> Bool {
        b.allSatisfy { $0 == 13 || $0 == 10 }
    }
}
