import SIPCore
import ScriptEngine

/// SIP helpers (Kamailio's `siputils`); the URI and string checks are in `SipUtilsChecks.swift`.
public final class SipUtilsModule: ScriptModule {
    public let name = "siputils"
    public let parameters: [ScriptModuleParameter] = []

    public init() {}

    public var functions: [ScriptFunction] {
        [
            // A To-tag marks a request inside a dialog (RFC 3261 §12.2).
            ScriptFunction("has_totag", arity: 0...0) { ctx, _ in
                ctx.message.toTag != nil ? 1 : -1
            },
        ] + Self.checkFunctions
    }
}
