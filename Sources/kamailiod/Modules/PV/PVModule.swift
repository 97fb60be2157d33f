import ScriptEngine

/// Kamailio's `pv` module: the pseudo-variables themselves are part of the script engine
/// here, so loading it enables nothing more yet; scripts load it and must keep working.
public final class PVModule: ScriptModule {
    public let name = "pv"
    public let parameters: [ScriptModuleParameter] = []
    public let functions: [ScriptFunction] = []

    public init() {}
}
