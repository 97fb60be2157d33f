import SIPCore
import Testing
@testable import ScriptEngine

/// Hands out one recorder to every run, as a debugger attaching to all traffic would.
final class ScriptRecorderProvider: ScriptDebugHookProvider, @unchecked Sendable {
    let recorder = ScriptLineRecorder()
    func hook(for context: ScriptContext) -> (any ScriptDebugHook)? { recorder }
}

/// Records every action the interpreter is about to run.
final class ScriptLineRecorder: ScriptDebugHook {
    var steps: [String] = []
    func willExecute(at location: ScriptSourceLocation, route: String, context: ScriptContext) {
        steps.append("\(route):\(location.line)")
    }
}

@Suite("Debug hook and route entry points")
struct ScriptDebugHookTests {
    @Test("the hook sees each executed action's route and line, in order")
    func lineSequence() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route {
          $var(i) = 0;
          while ($var(i) < 2) {
            $var(i) = $var(i) + 1;
          }
          if (is_method("INVITE")) route(SUB);
          exit;
        }
        route[SUB] {
          out("sub");
        }
        """)
        let ctx = try ScriptRunner.context(script, services)
        let recorder = ScriptLineRecorder()
        ctx.debugHook = recorder
        _ = script.runRequestRoute(ctx)
        #expect(recorder.steps == ["route:3", "route:4", "route:5", "route:5", "route:7", "route:7", "SUB:11", "route:8"])
    }

    @Test("modules can run a route they resolved at load time, as tm does for failure routes")
    func runResolvedRoute() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route { arm_failure("F"); }
        failure_route[F] { out("in failure $rm"); return 3; }
        event_route[test:start] { out("event"); }
        """)
        let ref = try #require(script.route(.failure, "F"))
        let ctx = try ScriptRunner.context(script, services, routeType: .failure)
        #expect(script.run(ref, ctx) == ScriptRunResult(code: 3, exited: false, dropped: false))
        #expect(ctx.routeType == .failure)
        #expect(script.hasRoute(.event, "test:start"))
        #expect(!script.hasRoute(.onreply))
        #expect(services.output == ["in failure INVITE"])
        #expect(script.runReplyRoute(ctx) == ScriptRunResult(code: 1, exited: false, dropped: false))
    }

    @Test("the top-level reply route runs for replies and can drop them")
    func replyRoute() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route { exit; }
        reply_route { out("reply $rs"); if ($rs >= 300) drop; }
        """)
        let reply = "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 3 INVITE\r\nContent-Length: 0\r\n\r\n"
        let ctx = try ScriptRunner.context(script, services, message: reply, routeType: .onreply)
        let r = script.runReplyRoute(ctx)
        #expect(r.dropped)
        #expect(services.output == ["reply 486"])
    }

    @Test("a hook provider attaches to every run until removed; action locations list breakpoint lines")
    func provider() throws {
        let (script, _) = try ScriptRunner.load("loadmodule \"test.so\"\nrequest_route {\n  ok();\n  if (ok()) {\n    nok();\n  }\n}\n")
        #expect(script.actionLocations.map(\.line) == [3, 4, 5])
        let provider = ScriptRecorderProvider()
        script.setDebugHookProvider(provider)
        _ = try ScriptRunner.run("", script: (script, ScriptTestServices()))
        #expect(provider.recorder.steps == ["route:3", "route:4", "route:5"])
        script.setDebugHookProvider(nil)
        _ = try ScriptRunner.run("", script: (script, ScriptTestServices()))
        #expect(provider.recorder.steps.count == 3)
    }

    @Test("event routes run over a local request")
    func eventRoute() throws {
        let (script, services) = try ScriptRunner.load("""
        loadmodule "test.so"
        request_route { exit; }
        event_route[test:init] { $var(n) = 3; out("init $rm $si $var(n)"); }
        """)
        let worker = script.makeWorkerState(worker: 0)
        #expect(script.runEventRoute("test:init", services: services, worker: worker)?.code == 1)
        #expect(script.runEventRoute("test:none", services: services, worker: worker) == nil)
        #expect(services.output == ["init OPTIONS 127.0.0.1 3"])
    }

    @Test("modules can run an event route while they initialise when the loader has services")
    func modInitEvent() throws {
        let services = ScriptTestServices()
        _ = try ScriptLoader.load(text: """
        loadmodule "test.so"
        request_route { exit; }
        event_route[test:mod-init] { out("mod-init"); }
        """, modules: [ScriptTestModule(services: services)], services: services)
        #expect(services.output == ["mod-init"])
    }
}
