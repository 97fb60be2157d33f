#if canImport(Glibc)
import Glibc
#endif
import Control
import SIPCore
import Shared

/// dialog over the control interfaces: the `dlg.*` methods with Kamailio 5.6.3's
/// parameters, reply shapes and faults (`rpc-examples/dlg.*.json`), and the `dialog:`
/// statistics group.
extension DialogModule: RPCMethodProvider {
    static let notFound = RPCFault(code: 404, message: "Dialog not found")

    /// One leg as `dlg.list` shows it; every member null while the leg is unknown.
    func legValue(_ leg: DialogLeg) -> RPCValue {
        guard leg.known else {
            return .object(["tag": .null, "contact": .null, "cseq": .null, "route_set": .null, "socket": .null])
        }
        let socket = socketText(leg.socket).map { RPCValue.string($0) } ?? .null
        return .object([
            "tag": .string(SIPBytes.string(leg.tag[...])),
            "contact": .string(SIPBytes.string(leg.contact[...])),
            "cseq": .string(String(leg.cseq)),
            "route_set": .string(SIPBytes.string(Self.routeText(leg.routeSet)[...])),
            "socket": socket,
        ])
    }

    /// One dialog as `dlg.list` shows it (taken under its bucket's lock).
    func dialogValue(_ d: Dialog) -> RPCValue {
        let now = Self.now()
        return table.update(d) { d in
            func text(_ b: [UInt8]) -> RPCValue { .string(SIPBytes.string(b[...])) }
            // Unnamed members: JSON shows an array, kamcmd nested braces, as Kamailio.
            let profiles = d.profiles.map { p in
                RPCMember(nil, p.value.map { .struct([RPCMember(p.name, text($0))]) } ?? .string(p.name))
            }
            let variables = d.vars.map { RPCMember(nil, .struct([RPCMember($0.name, text($0.value))])) }
            return .object([
                "h_entry": .int(d.entry), "h_id": .int(Int(d.id)),
                "ref": .int(d.state.rawValue >= DialogState.confirmedNoACK.rawValue ? 2 : 1),
                "call-id": text(d.callID), "from_uri": text(d.fromURI), "to_uri": text(d.toURI),
                "state": .int(d.state.rawValue), "start_ts": .int(d.started), "init_ts": .int(d.created),
                "end_ts": .int(d.ended), "duration": .int(d.started > 0 ? max(0, (d.ended > 0 ? d.ended : now) - d.started) : 0),
                "timeout": .int(d.timeoutAt), "lifetime": .int(d.lifetime),
                "dflags": .int(d.dflags), "sflags": .int(Int(d.flags)), "iflags": .int(Int(d.iflags)),
                "caller": legValue(d.caller), "callee": legValue(d.callee),
                "profiles": .struct(profiles),
                "variables": .struct(variables),
            ])
        }
    }

    /// The dialog named by Call-ID, From tag and To tag (either direction).
    func find(callID: String, fromTag: String, toTag: String?) -> Dialog? {
        table.find(callID: Array(callID.utf8), fromTag: Array(fromTag.utf8)[...], toTag: toTag.map { Array($0.utf8)[...] })
    }

    /// `dlg.list_match` keys: the dialog's text for a match key.
    static func matchText(_ d: Dialog, _ key: String) -> [UInt8]? {
        switch key {
        case "ruri": return d.requestURI
        case "furi": return d.fromURI
        case "turi": return d.toURI
        case "callid": return d.callID
        case "start_ts": return Array(String(d.started).utf8)
        default: return nil
        }
    }

    /// Dialogs matching `dlg.list_match`'s key, operator and value.
    func match(_ key: String, _ op: String, _ value: String, limit: Int) throws(RPCFault) -> [Dialog] {
        guard ["ruri", "furi", "turi", "callid", "start_ts"].contains(key) else {
            throw RPCFault(code: 500, message: "Invalid matching key parameter")
        }
        var regex = regex_t()
        if op == "re" {
            guard regcomp(&regex, value, REG_EXTENDED | REG_NOSUB) == 0 else { throw RPCFault(code: 500, message: "Invalid matching value parameter") }
        } else if !["eq", "sw", "gt", "lt"].contains(op) {
            throw RPCFault(code: 500, message: "Invalid matching operator parameter")
        }
        defer { if op == "re" { regfree(&regex) } }
        var out: [Dialog] = []
        for d in table.all() where limit <= 0 || out.count < limit {
            guard let t = table.update(d, { Self.matchText($0, key) }) else { continue }
            let s = SIPBytes.string(t[...])
            let hit: Bool
            switch op {
            case "eq": hit = s == value
            case "sw": hit = s.hasPrefix(value)
            case "gt": hit = (Int(s) ?? 0) > (Int(value) ?? 0)
            case "lt": hit = (Int(s) ?? 0) < (Int(value) ?? 0)
            default: hit = regexec(&regex, s, 0, nil, 0) == 0
            }
            if hit { out.append(d) }
        }
        return out
    }

    /// The profile named by an RPC parameter, or Kamailio's fault.
    func rpcProfile(_ call: RPCCall) throws(RPCFault) -> (String, [UInt8]?) {
        let name = try call.string()
        guard profileHasValues(name) != nil else { throw RPCFault(code: 404, message: "Profile not found: \(name)") }
        return (name, call.optionalString().map { Array($0.utf8) })
    }

    /// `dlg.briefing`'s members for its format letters (h_entry and h_id always).
    func briefing(_ d: Dialog, _ format: String) -> RPCValue {
        table.update(d) { d in
            func text(_ b: [UInt8]) -> RPCValue { .string(SIPBytes.string(b[...])) }
            var m = [RPCMember("h_entry", .int(d.entry)), RPCMember("h_id", .int(Int(d.id)))]
            for c in format {
                switch c {
                case "f": m.append(RPCMember("from_uri", text(d.fromURI)))
                case "t": m.append(RPCMember("to_uri", text(d.toURI)))
                case "c": m.append(RPCMember("call-id", text(d.callID)))
                case "F": m.append(RPCMember("from_tag", text(d.fromTag)))
                case "T": m.append(RPCMember("to_tag", text(d.toTag)))
                case "I": m.append(RPCMember("init_ts", .int(d.created)))
                case "S": m.append(RPCMember("start_ts", .int(d.started)))
                case "E": m.append(RPCMember("end_ts", .int(d.ended)))
                case "s": m.append(RPCMember("state", .int(d.state.rawValue)))
                default: break
                }
            }
            return .struct(m)
        }
    }

    /// Registers the `dialog:` statistics and returns the `dlg.*` methods.
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        let s = stats
        let stat = environment.statistics
        stat.register(group: "dialog", name: "active_dialogs", resettable: false) { s.active.load(ordering: .relaxed) }
        stat.register(group: "dialog", name: "early_dialogs", resettable: false) { s.early.load(ordering: .relaxed) }
        stat.register(group: "dialog", name: "processed_dialogs") { Int(truncatingIfNeeded: s.processed.load(ordering: .relaxed)) }
        stat.register(group: "dialog", name: "expired_dialogs") { Int(truncatingIfNeeded: s.expired.load(ordering: .relaxed)) }
        stat.register(group: "dialog", name: "failed_dialogs") { Int(truncatingIfNeeded: s.failed.load(ordering: .relaxed)) }
        let log = tm.runtime
        let list: @Sendable (RPCCall) throws(RPCFault) -> Void = { [self] call throws(RPCFault) in
            for d in table.all() { call.add(dialogValue(d)) }
        }
        let byCallID: @Sendable (RPCCall) throws(RPCFault) -> Void = { [self] call throws(RPCFault) in
            let cid = Array(try call.string().utf8)
            let ftag = call.optionalString().map { Array($0.utf8) }
            for d in table.all() where d.callID == cid && (ftag == nil || d.fromTag == ftag) { call.add(dialogValue(d)) }
        }
        let listMatch: @Sendable (RPCCall) throws(RPCFault) -> Void = { [self] call throws(RPCFault) in
            let (key, op, value) = (try call.string(), try call.string(), try call.string())
            for d in try match(key, op, value, limit: call.optionalInt() ?? 0) { call.add(dialogValue(d)) }
        }
        let endByID: @Sendable (RPCCall) throws(RPCFault) -> Void = { [self] call throws(RPCFault) in
            let ids: (Int, Int)? = try? { () throws(RPCFault) in (try call.int(), try call.int()) }()
            guard let (entry, id) = ids else { throw RPCFault(code: 500, message: "Invalid parameters") }
            guard let d = table.find(entry: entry, id: UInt32(truncatingIfNeeded: id)) else { throw Self.notFound }
            // Kamailio 5.6.3 answers an early dialog with success too and leaves it alone.
            if !end(d, side: .all, reason: .local) { log.log(.warning, "dialog", "dlg.end_dlg: dialog \(entry):\(id) is not confirmed") }
        }
        return [
            RPCMethod("dlg.list", help: "List existing dialogs", returnsArray: true, handler: list),
            RPCMethod("dlg.list_ctx", help: "List existing dialogs with context", returnsArray: true, handler: list),
            RPCMethod("dlg.dlg_list", help: "List dialog based on callid and from tag", signature: "<callid:s> [from_tag:s]", handler: byCallID),
            RPCMethod("dlg.dlg_list_ctx", help: "List dialog with context based on callid and from tag", signature: "<callid:s> [from_tag:s]", handler: byCallID),
            RPCMethod("dlg.list_match", help: "List dialogs matching the expression", signature: "<key:s> <op:s> <value:s> [limit:d]",
                      returnsArray: true, handler: listMatch),
            RPCMethod("dlg.list_match_ctx", help: "List dialogs with context matching the expression",
                      signature: "<key:s> <op:s> <value:s> [limit:d]", returnsArray: true, handler: listMatch),
            RPCMethod("dlg.end_dlg", help: "End a given dialog based on [h_entry] [h_id]", signature: "<h_entry:d> <h_id:d>", handler: endByID),
            RPCMethod("dlg.terminate_dlg", help: "End a given dialog based on callid, from tag and to tag",
                      signature: "<callid:s> <from_tag:s> <to_tag:s>") { [self] call throws(RPCFault) in
                let (cid, ft, tt) = (try call.string(), try call.string(), try call.string())
                guard let d = find(callID: cid, fromTag: ft, toTag: tt) else { throw Self.notFound }
                if !end(d, side: .all, reason: .local) { log.log(.warning, "dialog", "dlg.terminate_dlg: dialog \(cid) is not confirmed") }
            },
            RPCMethod("dlg.profile_get_size", help: "Returns the number of dialogs belonging to a profile",
                      signature: "<profile:s> [value:s]") { [self] call throws(RPCFault) in
                let (name, value) = try rpcProfile(call)
                call.add(.int(table.profileSize(name, value: value)))
            },
            RPCMethod("dlg.profile_list", help: "Lists all the dialogs belonging to a profile", signature: "<profile:s> [value:s]",
                      returnsArray: true) { [self] call throws(RPCFault) in
                let (name, value) = try rpcProfile(call)
                for d in profileMembers(name, value: value) { call.add(dialogValue(d)) }
            },
            RPCMethod("dlg.stats_active", help: "Get stats about active dialogs") { [self] call throws(RPCFault) in
                var byState = [Int](repeating: 0, count: 6)
                for d in table.all() { byState[table.update(d) { $0.state.rawValue }] += 1 }
                call.add(.object(["starting": .int(byState[1]), "connecting": .int(byState[2]), "answering": .int(byState[3]),
                                  "ongoing": .int(byState[4]), "all": .int(byState[1...4].reduce(0, +))]))
            },
            RPCMethod("dlg.briefing", help: "List the summary of existing dialogs", signature: "[format:s]",
                      returnsArray: true) { [self] call throws(RPCFault) in
                let format = call.optionalString() ?? "ftcFT"
                for d in table.all() { call.add(briefing(d, format)) }
            },
            RPCMethod("dlg.is_alive", help: "Check whether dialog is alive or not",
                      signature: "<callid:s> <from_tag:s> <to_tag:s>") { [self] call throws(RPCFault) in
                guard call.params.count >= 3 else {
                    throw RPCFault(code: 400, message: "Too few parameters (required callid, from-tag, to-tag)")
                }
                let (cid, ft, tt) = (try call.string(), try call.string(), try call.string())
                guard let d = find(callID: cid, fromTag: ft, toTag: tt),
                      table.update(d, { $0.state == .confirmed || $0.state == .confirmedNoACK }) else { throw Self.notFound }
                call.add(.string("Alive"))
            },
            RPCMethod("dlg.set_state", help: "Set state for a dialog based on callid and tags",
                      signature: "<callid:s> <from_tag:s> <to_tag:s> <state:d>") { [self] call throws(RPCFault) in
                let (cid, ft, tt, st) = (try call.string(), try call.string(), try call.string(), try call.int())
                guard let d = find(callID: cid, fromTag: ft, toTag: tt) else { throw RPCFault(code: 500, message: "Dialog not found") }
                guard let state = DialogState(rawValue: st) else { throw RPCFault(code: 500, message: "Invalid state value") }
                table.transition(d, to: state, now: Self.now())
            },
        ]
    }
}
