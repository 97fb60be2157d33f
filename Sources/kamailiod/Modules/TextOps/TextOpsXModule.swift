import ScriptEngine

/// Kamailio's `textopsx`: applying the recorded edits to the message in the middle of
/// the script, and edits textops lacks.
public final class TextOpsXModule: ScriptModule {
    public let name = "textopsx"
    public let parameters: [ScriptModuleParameter] = []

    /// The module.
    public init() {}

    public var functions: [ScriptFunction] {
        [
            // Observed on 5.6: headers queued by append_to_reply() before the call are
            // gone afterwards, so we drop them too.
            ScriptFunction("msg_apply_changes", arity: 0...0, routes: [.request, .onreply]) { ctx, _ in
                guard ctx.applyChanges() else { return -1 }
                ctx.core.replyHeaders.removeAll()
                return 1
            },
            // remove_body(): the body goes, Content-Length becomes 0
            ScriptFunction("remove_body", arity: 0...0) { ctx, _ in
                guard !ctx.message.body.isEmpty else { return -1 }
                ctx.message.replaceBody([])
                return 1
            },
        ]
    }
}
