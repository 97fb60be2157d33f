#if canImport(Glibc)
import Glibc
#endif
import Control
import ScriptEngine
import Shared

/// Line breakpoints, script source, per-module log levels and facilities.
extension DebuggerControl {
    private static func fault(_ text: String) -> RPCFault { RPCFault(code: 500, message: text) }

    private var script: LoadedScript? { engine.script }

    // MARK: - Line breakpoints

    func addBreakpoint(_ call: RPCCall) throws(RPCFault) {
        let location = try call.string(convertNumbers: true)
        guard let script else { throw Self.fault("no script loaded") }
        switch DebuggerBreakpoints.resolve(location, in: script, actions: script.actionInfos) {
        case .failure(let e): throw Self.fault(e.message)
        case .success(let action):
            let bp = engine.breakpoints.add(action)
            engine.refreshArmed()
            call.add(.object(["id": .int(bp.id), "file": .string(action.location.file),
                              "line": .int(action.location.line), "route": .string(bp.route)]))
        }
    }

    func deleteBreakpoint(_ call: RPCCall) throws(RPCFault) {
        let text = try call.string(convertNumbers: true)
        var removed = false
        if let id = Int(text) {
            removed = engine.breakpoints.remove(id: id)
        }
        if !removed, let script, case .success(let a) = DebuggerBreakpoints.resolve(text, in: script, actions: script.actionInfos) {
            removed = engine.breakpoints.remove(action: a.key)
        }
        guard removed else { throw Self.fault("no such breakpoint") }
        engine.refreshArmed()
        call.add(.string("200 ok"))
    }

    func listBreakpoints(_ call: RPCCall) {
        for bp in engine.breakpoints.list {
            call.add(.object(["id": .int(bp.id), "file": .string(bp.action.location.file),
                              "line": .int(bp.action.location.line), "route": .string(bp.route),
                              "hits": .int(bp.hits.load(ordering: .relaxed))]))
        }
    }

    // MARK: - Source

    func source(_ call: RPCCall) throws(RPCFault) {
        guard let script else { throw Self.fault("no script loaded") }
        let name = call.optionalString() ?? script.sourceFiles.first ?? ""
        guard let file = DebuggerBreakpoints.sourceFile(name, in: script), let bytes = Self.read(file) else {
            throw Self.fault("unknown file")
        }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if bytes.last == UInt8(ascii: "\n") { lines.removeLast() }
        for l in lines {
            let text = l.last == UInt8(ascii: "\r") ? l.dropLast() : l
            call.add(.string(String(decoding: text, as: UTF8.self)))
        }
    }

    /// The whole file, or nil when it cannot be read.
    private static func read(_ path: String) -> [UInt8]? {
        guard let f = fopen(path, "rb") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return out
    }

    // MARK: - Module levels and facilities

    /// Kamailio refuses per-module settings when the hash table was not sized at start.
    private func requireTable() throws(RPCFault) {
        guard engine.settings.modHashSize.load(ordering: .relaxed) > 0 else { throw Self.fault("cannot store parameter") }
    }

    /// Kamailio's fault for missing or mistyped parameters of the mod-level methods.
    private static let invalid = RPCFault(code: 500, message: "invalid parameters")

    private static func scan<T>(_ read: () throws(RPCFault) -> T) throws(RPCFault) -> T {
        do { return try read() } catch { throw invalid }
    }

    func setModLevel(_ call: RPCCall) throws(RPCFault) {
        let (module, level) = try Self.scan { () throws(RPCFault) in (try call.string(), try call.int()) }
        try requireTable()
        engine.levels.setLevel(module, level)
        call.add(.string("200 ok"))
    }

    func getModLevel(_ call: RPCCall) throws(RPCFault) {
        let module = try Self.scan { () throws(RPCFault) in try call.string() }
        let mode = engine.levels.levelMode.load(ordering: .relaxed) != 0
        let stored = mode ? engine.levels.storedLevel(module) : nil
        call.add(.int(stored ?? engine.levels.globalLevel))
    }

    func setModFacility(_ call: RPCCall) throws(RPCFault) {
        let (module, name) = try Self.scan { () throws(RPCFault) in (try call.string(), try call.string()) }
        guard let facility = ModuleLogLevels.facility(named: name) else { throw Self.fault("facility not found") }
        try requireTable()
        engine.levels.setFacility(module, facility)
        call.add(.string("200 ok"))
    }

    func getModFacility(_ call: RPCCall) throws(RPCFault) {
        let module = try Self.scan { () throws(RPCFault) in try call.string() }
        let mode = engine.levels.facilityMode.load(ordering: .relaxed) != 0
        let stored = mode ? engine.levels.storedFacility(module) : nil
        call.add(.string(ModuleLogLevels.facilityName(stored ?? engine.levels.globalFacility)))
    }

    func resetMsgid(_ call: RPCCall) throws(RPCFault) {
        guard engine.settings.resetMsgid.load(ordering: .relaxed) != 0 else {
            throw Self.fault("reset_msgid is 0. Set it to 1 to enable.")
        }
        // kamailiod numbers nothing per message ($mi is not provided), so there is no
        // counter to rebase: the call succeeds as Kamailio's does.
        call.add(.string("200 ok"))
    }
}
