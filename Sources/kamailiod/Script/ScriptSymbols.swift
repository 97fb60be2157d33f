/// The compile-time environment: functions and pseudo-variables of the enabled modules,
/// the route table and the `$var` slot numbering. Used only while loading.
final class ScriptSymbols {
    /// The core parameters (fixups may read them).
    let core: ScriptCoreConfig
    /// Functions by name; several entries when modules export different arities.
    var functions: [String: [ScriptFunction]] = [:]
    /// Functions of built-in modules the script does not load, by name: the module to
    /// name in the "unknown function" error.
    var unloadedFunctions: [String: String] = [:]
    /// Module pseudo-variables by name.
    var modulePVs: [String: ScriptPVDefinition] = [:]
    /// Route references in table order.
    private(set) var routes: [ScriptRouteRef] = []
    private var routeLookup: [String: Int] = [:]
    /// `$var` names in slot order.
    private(set) var varNames: [String] = []
    private var varIDs: [String: Int] = [:]

    /// An empty table for a load with these core parameters.
    init(core: ScriptCoreConfig) {
        self.core = core
    }

    /// The slot of `$var(name)`, allocated on first use.
    func varID(_ name: String) -> Int {
        if let id = varIDs[name] { return id }
        let id = varNames.count
        varNames.append(name)
        varIDs[name] = id
        return id
    }

    private static func key(_ type: ScriptRouteType, _ name: String) -> String { type.rawValue + ":" + name }

    /// Registers a route; nil when a route of that family and name already exists.
    func addRoute(_ type: ScriptRouteType, _ name: String) -> Int? {
        let k = Self.key(type, name)
        guard routeLookup[k] == nil else { return nil }
        routeLookup[k] = routes.count
        routes.append(ScriptRouteRef(index: routes.count, type: type, name: name))
        return routes.count - 1
    }

    /// A route by family and name.
    func routeRef(_ type: ScriptRouteType, _ name: String) -> ScriptRouteRef? {
        routeLookup[Self.key(type, name)].map { routes[$0] }
    }

    /// Resolves a pseudo-variable occurrence: core names first, then module names;
    /// an unknown name or a bad argument is a load-time error at `loc`.
    func compilePV(_ spec: ScriptPVSpec, at loc: ScriptSourceLocation?) throws(ScriptError) -> ScriptCompiledPV {
        var transforms: [ScriptTransform] = []
        var dynamicIndex: ScriptCompiledPV?
        if spec.name == "hdr", case .pv(let indexSpec) = spec.index {
            dynamicIndex = try compilePV(indexSpec, at: loc)
        }
        do throws(ScriptFixupError) {
            for t in spec.transforms { transforms.append(try ScriptTransforms.make(t)) }
            if let factory = ScriptCorePVs.table[spec.name] {
                if let dynamicIndex {
                    return ScriptCompiledPV(spec: spec, accessor: try ScriptCorePVs.header(spec, dynamicIndex: dynamicIndex),
                                            transforms: transforms)
                }
                return ScriptCompiledPV(spec: spec, accessor: try factory(spec, self), transforms: transforms)
            }
        } catch {
            throw ScriptError("\(error.message) in '\(spec)'", at: loc)
        }
        guard let def = modulePVs[spec.name] else {
            throw ScriptError("unknown pseudo-variable '$\(spec.name)'", at: loc)
        }
        let fx = ScriptFixupContext(functionName: "$" + spec.name, arguments: [],
                                    location: loc ?? ScriptSourceLocation(file: "", line: 0),
                                    argumentLocations: [], symbols: self)
        return ScriptCompiledPV(spec: spec, accessor: try def.fixup(spec, fx), transforms: transforms)
    }
}
