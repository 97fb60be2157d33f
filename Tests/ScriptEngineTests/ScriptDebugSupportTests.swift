import SIPCore
import Testing
@testable import ScriptEngine

/// Records depth and action names, and the end of each run.
final class ScriptDepthRecorder: ScriptDebugHook {
    var steps: [String] = []
    var finished = 0
    func willExecute(at location: ScriptSourceLocation, route: String, context: ScriptContext) {
        steps.append("\(location.line):\(context.routeDepth):\(context.currentActionName):\(context.currentActionCode)")
    }
    func runFinished(context: ScriptContext) { finished += 1 }
}

@Suite("What the step debugger reads from the engine")
struct ScriptDebugSupportTests {
    static let text = """
    loadmodule "test.so"
    request_route {
      $var(a) = 1;
      route(SUB);
      exit;
    }
    route[SUB] {
      out("x");
    }
    """

    @Test("action infos name every action with its route; the hook sees depth, names and codes; the run end is reported")
    func actionsAndDepth() throws {
        let (script, services) = try ScriptRunner.load(Self.text)
        let infos = script.actionInfos
        #expect(infos.map { "\($0.location.line) \($0.name) \($0.routeName) \($0.firstInRoute)" }
                == ["3 assign  true", "4 route  false", "5 exit  false", "8 out SUB true"])
        #expect(script.sourceFiles == ["t.cfg"])
        let ctx = try ScriptRunner.context(script, services)
        let hook = ScriptDepthRecorder()
        ctx.debugHook = hook
        _ = script.runRequestRoute(ctx)
        #expect(hook.steps == ["3:0:assign:63", "4:0:route:6", "8:1:out:25", "5:0:exit:2"])
        #expect(hook.finished == 1)
    }

    @Test("expressions compile after load against the script's functions, routes and $var slots")
    func expressions() throws {
        let (script, services) = try ScriptRunner.load(Self.text)
        let ctx = try ScriptRunner.context(script, services)
        _ = script.runRequestRoute(ctx)
        func eval(_ text: String) throws -> ScriptValue? { ctx.evaluateDetached(try script.compileExpression(text)) }
        #expect(try eval("$var(a) + 41") == .int(42))
        #expect(try eval("$rU + \"x\"") == .string("alicex"))
        #expect(try eval("$var(unknown)") == .int(0))
        #expect(try eval("$rm == \"INVITE\" && $var(a) == 1") == .int(1))
        #expect(throws: ScriptError.self) { try script.compileExpression("$var(a) +") }
        #expect(throws: ScriptError.self) { try script.compileExpression("$si:$sp") }
        #expect(LoadedScript.leadingPseudoVariableLength("$si:$sp") == 3)
        #expect(LoadedScript.leadingPseudoVariableLength("x") == 0)
    }
}
