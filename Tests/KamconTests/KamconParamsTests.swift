import Shared
import Synchronization
import Testing
@testable import kamcon

/// A stand-in for a server's `cfg.*` methods: kamailiod (with `cfg.info` and
/// `cfg.reload_script`) or Kamailio with cfg_rpc (list/help/get only).
final class FakeCfgServer: Sendable {
    struct State: Sendable {
        var values: [String: RPCValue] = ["registrar.max_expires": .int(0), "registrar.default_q": .int(-1),
                                          "maxfwd.max_limit": .int(70)]
        var staged: [(String, String, RPCValue)] = []
        var calls: [String] = []
    }
    let s = Mutex(State())
    let kamailiod: Bool

    init(kamailiod: Bool) { self.kamailiod = kamailiod }

    func connect() throws(RPCClientError) -> any RPCClient { Client(server: self) }

    final class Client: RPCClient {
        let server: FakeCfgServer
        init(server: FakeCfgServer) { self.server = server }
        func call(_ method: String, _ params: [RPCValue]) throws(RPCClientError) -> [RPCValue] {
            let w = params.map(RPCTextRender.scalarText)
            let kamailiod = server.kamailiod
            return try server.s.withLock { (st: inout State) throws(RPCClientError) -> [RPCValue] in
                st.calls.append(([method] + w).joined(separator: " "))
                switch method {
                case "system.listMethods":
                    return [.array(["cfg.list", "cfg.get", "cfg.help"] + (kamailiod ? ["cfg.info", "cfg.reload_script"] : []))]
                case "cfg.info":
                    return [.array([
                        .object(["group": "registrar", "name": "max_expires", "type": "int", "min": 0, "max": 0, "readable": 1,
                                 "restart": 0, "description": "The maximum expires value of a Contact."]),
                        .object(["group": "registrar", "name": "default_q", "type": "int", "min": -1, "max": 1000, "readable": 1,
                                 "restart": 0, "description": "default q"]),
                        .object(["group": "tm", "name": "fr_timer", "type": "int", "min": 0, "max": 0, "readable": 0,
                                 "restart": 0, "description": "fr"]),
                        .object(["group": "maxfwd", "name": "max_limit", "type": "int", "min": 0, "max": 255, "readable": 1,
                                 "restart": 0, "description": "Max. maxfwd limit"]),
                    ])]
                case "cfg.list":
                    return [.array(["registrar: max_expires", "registrar: default_q", "tm: fr_timer", "maxfwd: max_limit"])]
                case "cfg.help":
                    return [.string("description of \(w[1])"), "(parameter type is integer)"]
                case "cfg.get":
                    let members = st.values.filter { $0.key.hasPrefix(w[0] + ".") }.sorted { $0.key < $1.key }
                        .map { RPCMember(String($0.key.dropFirst(w[0].count + 1)), $0.value) }
                    return [.struct(members)]
                case "cfg.seti":
                    if w[1] == "default_q", let v = Int(w[2]), v > 1000 { throw .fault(RPCFault(code: 400, message: "Failed to set the variable")) }
                    st.values["\(w[0]).\(w[1])"] = params[2]
                    return []
                case "cfg.set_delayed_int":
                    st.staged.append((w[0], w[1], params[2]))
                    return []
                case "cfg.diff":
                    return st.staged.map { c in
                        .object(["group name": .string(c.0), "variable name": .string(c.1),
                                 "old value": st.values["\(c.0).\(c.1)"] ?? .null, "new value": c.2])
                    }
                case "cfg.commit":
                    for c in st.staged { st.values["\(c.0).\(c.1)"] = c.2 }
                    st.staged = []
                    return []
                case "cfg.reload_script":
                    if params.first == .string("/broken.cfg") {
                        throw .fault(RPCFault(code: 500, message: "/broken.cfg:3:7: expected ';' after statement, found '}'"))
                    }
                    return [.object(["file": "/etc/k.cfg", "routes": 4, "generation": 1])]
                default:
                    throw .fault(RPCFault(code: 500, message: "command \(method) not found"))
                }
            }
        }
    }
}

@Suite("kamcon Parameters screen")
struct KamconParamsTests {
    @Test("replies: cfg.info, cfg.list/help, cfg.get structs and cfg.diff become entries and changes")
    func parsing() {
        #expect(ParamsReplies.list([.array(["tm: fr_timer", "maxfwd: max_limit"])]).map { "\($0.group).\($0.name)" }
            == ["tm.fr_timer", "maxfwd.max_limit"])
        let help = ParamsReplies.help(["Max. maxfwd limit", "(parameter type is integer)"])
        #expect(help.description == "Max. maxfwd limit" && help.isInt)
        #expect(!ParamsReplies.help(["(parameter type is string)"]).isInt)
        #expect(ParamsReplies.values([.struct([RPCMember("max_limit", .int(70))])]) == ["max_limit": .int(70)])
        let diff = ParamsReplies.diff([.object(["group name": "maxfwd", "variable name": "max_limit", "old value": 70, "new value": 50])])
        #expect(diff == [ParamChange(group: "maxfwd", name: "max_limit", old: "70", new: "50")])
        let k = ParamsReplies.kamailio("maxfwd", "max_limit")
        #expect(k.range == 0...255 && !k.readonly)
        #expect(ParamsReplies.kamailio("dbg", "mod_hash_size").readonly)
    }

    @Test("a typed value is checked before it is sent: number, range, restart")
    func validation() {
        let e = ParamEntry(group: "registrar", name: "default_q", isInt: true, range: -1...1000, description: "")
        #expect(e.parse("5") == .success(.int(5)))
        #expect(e.parse("5000") == .failure(ParamRefusal("registrar.default_q: 5000 is out of range -1..1000")))
        #expect(e.parse("five") == .failure(ParamRefusal("registrar.default_q is an integer: \"five\" is not a number")))
        var r = e
        r.restart = true
        #expect(r.parse("1") == .failure(ParamRefusal("registrar.default_q needs a restart to change")))
        let s = ParamEntry(group: "tm", name: "default_reason", isInt: false, range: nil, description: "")
        #expect(s.parse("Oops") == .success(.string("Oops")))
    }

    @Test("the worker reads kamailiod through cfg.info, Kamailio through cfg.list and cfg.help; unreadable stays hidden")
    func worker() {
        for kamailiod in [true, false] {
            let server = FakeCfgServer(kamailiod: kamailiod)
            let w = ModelParamsWorker(connect: server.connect)
            w.poll(now: 0)
            #expect(w.snap.flavor == (kamailiod ? .kamailiod : .kamailio))
            #expect(w.snap.entries.map(\.key) == ["registrar.max_expires", "registrar.default_q", "tm.fr_timer", "maxfwd.max_limit"])
            let byKey = Dictionary(uniqueKeysWithValues: w.snap.entries.map { ($0.key, $0) })
            #expect(byKey["registrar.max_expires"]?.valueText == "0")
            #expect(byKey["tm.fr_timer"]?.readable == false && byKey["tm.fr_timer"]?.valueText == "(not readable)")
            // Kamailio gives no ranges over RPC: they come from the 5.6.3 table
            #expect(byKey["maxfwd.max_limit"]?.range == 0...255)
            w.perform(.set(group: "registrar", name: "max_expires", value: .int(120), staged: false))
            w.perform(.set(group: "maxfwd", name: "max_limit", value: .int(50), staged: true))
            w.poll(now: 1)
            #expect(w.snap.entries.first { $0.key == "registrar.max_expires" }?.valueText == "120")
            #expect(w.snap.staged == [ParamChange(group: "maxfwd", name: "max_limit", old: "70", new: "50")])
            w.perform(.commit)
            w.poll(now: 2)
            #expect(w.snap.staged.isEmpty && w.snap.entries.first { $0.key == "maxfwd.max_limit" }?.valueText == "50")
            w.perform(.set(group: "registrar", name: "default_q", value: .int(2000), staged: false))
            #expect(w.snap.message?.text == "400 Failed to set the variable" && w.snap.message?.bad == true)
        }
    }

    @Test("reload: the reply is shown, a broken script shows the server's file:line:col")
    func reload() {
        let w = ModelParamsWorker(connect: FakeCfgServer(kamailiod: true).connect)
        w.poll(now: 0)
        w.perform(.reload(path: nil))
        #expect(w.snap.message?.text == "script reloaded from /etc/k.cfg: 4 routes, generation 1")
        w.perform(.reload(path: "/broken.cfg"))
        #expect(w.snap.message?.text == "500 /broken.cfg:3:7: expected ';' after statement, found '}'")
        #expect(w.snap.message?.bad == true)
    }

    @Test("keys: find, edit with a checked value, stage, commit; reload only on kamailiod; groups fold")
    func keys() {
        var state = AppState(interval: 1, historyFile: nil)
        state.screen = .params
        var live = ServerSnapshot(now: 0)
        let w = ModelParamsWorker(connect: FakeCfgServer(kamailiod: false).connect)
        w.poll(now: 0)
        live.params = w.snap
        func type(_ text: String) { for c in text { _ = state.handle(.char(c), live: live, now: 0) } }
        _ = state.handle(.char("/"), live: live, now: 0)
        type("default_q")
        #expect(state.handle(.enter, live: live, now: 0).isEmpty)
        #expect(state.params.selected(live.params).map { live.params.entries[$0].key } == "registrar.default_q")
        _ = state.handle(.char("e"), live: live, now: 0)
        #expect(state.params.prompt?.text == "-1")
        _ = state.handle(.ctrl("u"), live: live, now: 0)
        type("5000")
        #expect(state.handle(.enter, live: live, now: 0).isEmpty)
        #expect(state.message?.text == "registrar.default_q: 5000 is out of range -1..1000")
        #expect(state.params.prompt != nil)  // still open to fix the value
        _ = state.handle(.ctrl("u"), live: live, now: 0)
        type("10")
        let set = state.handle(.enter, live: live, now: 0)
        #expect(set.count == 1)
        guard case .params(.set("registrar", "default_q", .int(10), false))? = set.first else { Issue.record("\(set)"); return }
        _ = state.handle(.char("s"), live: live, now: 0)
        _ = state.handle(.ctrl("u"), live: live, now: 0)
        type("3")
        guard case .params(.set("registrar", "default_q", .int(3), true))? = state.handle(.enter, live: live, now: 0).first else {
            Issue.record("stage"); return
        }
        #expect(state.handle(.char("c"), live: live, now: 0).isEmpty)  // nothing staged in this snapshot
        live.params.staged = [ParamChange(group: "registrar", name: "default_q", old: "-1", new: "3")]
        guard case .params(.commit)? = state.handle(.char("c"), live: live, now: 0).first else { Issue.record("commit"); return }
        #expect(state.handle(.char("L"), live: live, now: 0).isEmpty)
        #expect(state.message?.text.contains("kamailiod's") == true)
        live.params.flavor = .kamailiod
        _ = state.handle(.char("L"), live: live, now: 0)
        guard case .params(.reload(nil))? = state.handle(.enter, live: live, now: 0).first else { Issue.record("reload"); return }
        // folding: Home goes to the first heading, Enter folds it
        _ = state.handle(.home, live: live, now: 0)
        _ = state.handle(.enter, live: live, now: 0)
        #expect(state.params.rows(live.params).count == 5)  // 7 rows less the two of registrar
    }

    @Test("the view shows the tree with values and types, the description and the staged changes")
    func view() {
        let w = ModelParamsWorker(connect: FakeCfgServer(kamailiod: true).connect)
        w.poll(now: 0)
        w.perform(.set(group: "maxfwd", name: "max_limit", value: .int(50), staged: true))
        w.poll(now: 1)
        var snap = ServerSnapshot(now: 0)
        snap.params = w.snap
        var ui = ModelParamsUI()
        ui.cursor = 1
        var canvas = Canvas(width: 120, height: 20)
        let ctx = ViewContext(snapshot: snap, now: 0, glyphs: .ascii, address: "unix:/x", interval: 1, paused: false)
        _ = ViewParams.draw(&canvas, rect: ViewRect(x: 0, y: 0, width: 120, height: 20), ui: ui, context: ctx)
        let text = (0..<20).map { canvas.line($0) }.joined(separator: "\n")
        #expect(text.contains("- registrar (2)"))
        #expect(text.contains("max_expires") && text.contains("int 0..255") && text.contains("(not readable)"))
        #expect(text.contains("The maximum expires value of a Contact."))
        #expect(text.contains("maxfwd.max_limit: 70 → 50"))
    }
}
