/// What of a script needs a restart to change: core settings (`name = value`), the
/// modules loaded and their `modparam`s. A reload (`cfg.reload_script`) may change
/// routes only; it compares these with the running script's and refuses a difference.
struct ScriptRestartSignature: Sendable {
    /// One setting: a key naming it, its value text, where it is written.
    struct Entry: Sendable {
        var key, value: String
        var location: ScriptSourceLocation
    }
    var globals: [Entry] = []
    var modules: [Entry] = []
    var modParams: [Entry] = []

    init() {}

    /// The settings of a parsed tree.
    init(_ tree: ScriptSyntaxTree) {
        globals = tree.globals.map { Entry(key: $0.name, value: $0.rawValue, location: $0.location) }
        modules = tree.loadModules.map {
            Entry(key: ScriptLoader.moduleName($0.path), value: "", location: $0.location)
        }
        modParams = tree.modParams.map {
            Entry(key: "modparam(\"\($0.module)\", \"\($0.name)\")", value: Self.text($0.value), location: $0.location)
        }
    }

    /// A modparam value as comparable text: constants carry no location, so moving a
    /// line does not count as a change.
    static func text(_ e: ScriptExpression) -> String { String(describing: e.kind) }

    /// Why `new` cannot replace this script without a restart, or nil when only routes differ.
    func restartReason(for new: ScriptRestartSignature, file: String) -> ScriptError? {
        func compare(_ old: [Entry], _ new: [Entry], _ what: String) -> ScriptError? {
            let before = Dictionary(old.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            let after = Dictionary(new.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            for e in new where before[e.key] != e.value {
                let change = before[e.key] == nil ? "added" : "changed"
                return ScriptError("\(what) \(e.key) \(change): this needs a restart; the running script is kept",
                                   at: e.location)
            }
            if let gone = old.first(where: { after[$0.key] == nil }) {
                return ScriptError("\(what) \(gone.key) removed: this needs a restart; the running script is kept",
                                   at: ScriptSourceLocation(file: file, line: 1))
            }
            return nil
        }
        return compare(modules, new.modules, "loadmodule")
            ?? compare(modParams, new.modParams, "")
            ?? compare(globals, new.globals, "core setting")
    }
}

extension ScriptLoader {
    /// Re-reads the routing script at `path` for a running daemon: preprocess, parse,
    /// compile and fix up every route against the modules `old` runs with. Throws
    /// `file:line:col: message` for an error in it, and refuses (also as an error at the
    /// place) a change of core settings, `loadmodule` or `modparam`, which need a
    /// restart. Modules are not initialised again; the debugger hook carries over.
    public static func reload(path: String, defines: [String] = [],
                              replacing old: LoadedScript) throws(ScriptError) -> LoadedScript {
        let tree = try ScriptFrontEnd.parse(path: path, defines: defines)
        if let reason = old.restartSignature.restartReason(for: ScriptRestartSignature(tree), file: path) {
            throw reason
        }
        let symbols = makeSymbols(core: old.core, enabled: old.modules, available: old.modules)
        var compiler = ScriptCompiler(symbols: symbols)
        let routes = try compiler.compile(tree)
        let script = LoadedScript(core: old.core, modules: old.modules, loadPaths: tree.loadPaths, routes: routes,
                                  refs: symbols.routes, varNames: symbols.varNames, modulePVs: symbols.modulePVs,
                                  functionTable: symbols.functions, sourceFiles: tree.sourceFiles,
                                  restartSignature: old.restartSignature)
        script.setDebugHookProvider(old.debugHookProvider)
        return script
    }
}
