import SIPCore
import ScriptEngine

/// dialog's script functions and pseudo-variables.
extension DialogModule {
    /// dialog's script functions.
    public var functions: [ScriptFunction] {
        let any = ScriptRouteMask.any
        @Sendable func flagBit(_ ctx: ScriptContext, _ args: ScriptFixedArgs) -> UInt32? {
            let bit = ctx.int(args[0])
            return (0...31).contains(bit) ? UInt32(1) << UInt32(bit) : nil
        }
        return [
            ScriptFunction("dlg_manage", arity: 0...0, routes: [.request, .branch]) { [self] ctx, _ in manage(ctx) },
            ScriptFunction("is_known_dlg", arity: 0...0, routes: any) { [self] ctx, _ in
                current(ctx) != nil ? 1 : -1
            },
            ScriptFunction("dlg_isflagset", arity: 1...1, routes: any) { [self] ctx, args in
                guard let bit = flagBit(ctx, args) else { return -1 }
                guard let d = current(ctx) else { return ctx.dialogState.flags & bit != 0 ? 1 : -1 }
                return table.update(d) { $0.flags & bit != 0 } ? 1 : -1
            },
            ScriptFunction("dlg_setflag", arity: 1...1, routes: any) { [self] ctx, args in
                guard let bit = flagBit(ctx, args) else { return -1 }
                // before dlg_manage() the flag waits in the message's dialog context
                guard let d = current(ctx) else { ctx.dialogState.flags |= bit; return 1 }
                table.update(d) { $0.flags |= bit }
                return 1
            },
            ScriptFunction("dlg_resetflag", arity: 1...1, routes: any) { [self] ctx, args in
                guard let bit = flagBit(ctx, args) else { return -1 }
                guard let d = current(ctx) else { ctx.dialogState.flags &= ~bit; return 1 }
                table.update(d) { $0.flags &= ~bit }
                return 1
            },
            ScriptFunction("dlg_bye", arity: 1...1, routes: any, fixup: { f throws(ScriptError) in
                let side = try f.fixupString(0)
                guard let s = DialogSide(side) else { throw f.error("expected \"caller\", \"callee\" or \"all\", found \"\(side)\"", argument: 0) }
                return ScriptFixedArgs([.custom(s)])
            }) { [self] ctx, args in
                guard let d = current(ctx), let side = args.custom(0, as: DialogSide.self) else { return -1 }
                return end(d, side: side, reason: .local) ? 1 : -1
            },
            ScriptFunction("dlg_refer", arity: 2...2, routes: [.request, .branch, .onreply, .failure], fixup: { f throws(ScriptError) in
                let side = try f.fixupString(0)
                guard let s = DialogSide(side), s != .all else {
                    throw f.error("expected \"caller\" or \"callee\", found \"\(side)\"", argument: 0)
                }
                return ScriptFixedArgs([.custom(s), .format(try f.fixupFormat(1))])
            }) { [self] ctx, args in
                guard let d = current(ctx), let side = args.custom(0, as: DialogSide.self) else { return -1 }
                return refer(d, side: side, to: ctx.bytes(args[1])) ? 1 : -1
            },
            // the R-URI becomes the Contact of the side the in-dialog request goes to
            ScriptFunction("dlg_set_ruri", arity: 0...0, routes: any) { [self] ctx, _ in
                let msg = ctx.message
                guard msg.isRequest, let d = current(ctx), let from = msg.fromTag else { return -1 }
                let contact: [UInt8] = table.update(d) { d in
                    let fromCaller = d.fromTag.elementsEqual(from)
                    return fromCaller ? (d.callee.known ? d.callee.contact : []) : d.caller.contact
                }
                guard !contact.isEmpty else { return -1 }
                ctx.setRequestURI(contact)
                return 1
            },
            // the dialog these Call-ID and tags name (an empty To tag: one still being set
            // up) becomes the message's, for $dlg, dlg_bye and the rest
            ScriptFunction("dlg_get", arity: 3...3, routes: any) { [self] ctx, args in
                let to = ctx.bytes(args[2])
                guard let d = table.find(callID: ctx.bytes(args[0]), fromTag: ctx.bytes(args[1])[...],
                                         toTag: to.isEmpty ? nil : to[...]) else { return -1 }
                ctx.dialogState.dialog = d
                ctx.dialogState.looked = true
                return 1
            },
            // before dlg_manage() the property waits in the message's dialog context
            ScriptFunction("dlg_set_property", arity: 1...1, routes: any, fixup: propertyFixup) { [self] ctx, args in
                guard let p = args.custom(0, as: DialogProperty.self) else { return -1 }
                guard let d = current(ctx) else { ctx.dialogState.properties |= p.bit; return 1 }
                table.update(d) { $0.iflags |= p.bit }
                return 1
            },
            ScriptFunction("dlg_reset_property", arity: 1...1, routes: any, fixup: propertyFixup) { [self] ctx, args in
                guard let p = args.custom(0, as: DialogProperty.self) else { return -1 }
                guard let d = current(ctx) else { ctx.dialogState.properties &= ~p.bit; return 1 }
                table.update(d) { $0.iflags &= ~p.bit }
                return 1
            },
            ScriptFunction("dlg_set_timeout", arity: 1...3, routes: any) { [self] ctx, args in
                let secs = Int(ctx.int(args[0]))
                guard secs > 0 else { return -1 }
                if args.count == 3 {
                    guard let d = table.find(entry: Int(ctx.int(args[1])), id: UInt32(truncatingIfNeeded: ctx.int(args[2]))) else { return -1 }
                    setLifetime(d, secs)
                } else if let d = current(ctx) {
                    setLifetime(d, secs)
                } else {
                    ctx.dialogState.lifetime = secs
                }
                return 1
            },
        ] + profileFunctions
    }

    /// A property name known at load time (Kamailio finds a wrong one only at run time).
    private var propertyFixup: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        { f throws(ScriptError) in
            let name = try f.fixupString(0)
            guard let p = DialogProperty(name) else {
                throw f.error("expected \"ka-src\", \"ka-dst\" or \"timeout-noreset\", found \"\(name)\"", argument: 0)
            }
            return ScriptFixedArgs([.custom(p)])
        }
    }

    /// `$dlg_var(name)`, `$dlg(key)`, `$dlg_ctx(key)`, `$DLG_count`, `$DLG_status`, `$DLG_lifetime`.
    public var pseudoVariables: [ScriptPVDefinition] {
        [
            // dialogs confirmed or early now (Kamailio adds its two gauges)
            ScriptPVDefinition("DLG_count") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { [self] _ in
                    .int(Int32(truncatingIfNeeded: stats.active.load(ordering: .relaxed) + stats.early.load(ordering: .relaxed)))
                })
            },
            ScriptPVDefinition("DLG_status") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { ctx in ctx.dialogState.followedStatus.map { .int(Int32($0)) } ?? .null })
            },
            ScriptPVDefinition("DLG_lifetime") { _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { ctx in
                    let s = ctx.dialogState
                    return s.followedStatus == nil ? .null : .int(Int32(truncatingIfNeeded: s.followedAge))
                })
            },
            ScriptPVDefinition("dlg_var") { spec, _ throws(ScriptError) in
                let name = spec.argument ?? ""
                return ScriptPVAccessor(get: { [self] ctx in
                    guard let d = current(ctx), let v = table.update(d, { $0.variable(name) }) else { return .null }
                    return .str(v)
                }, set: { [self] ctx, value, _ in
                    guard let d = current(ctx) else { return }
                    table.update(d) { d in
                        if case .null = value { d.setVariable(name, nil) } else { d.setVariable(name, value.bytes) }
                    }
                    persist(d)
                })
            },
            ScriptPVDefinition("dlg") { spec, f throws(ScriptError) in
                let key = spec.argument ?? ""
                // Kamailio 5.6.3 refuses other names at start-up, so do we.
                guard Self.dialogKeys.contains(key) else {
                    throw f.error("unknown $dlg key '\(key)' (\(Self.dialogKeys.joined(separator: ", ")))")
                }
                return ScriptPVAccessor(get: { [self] ctx in
                    guard let d = current(ctx) else { return .null }
                    if key == "toroute" { return .int(Int32(truncatingIfNeeded: table.update(d) { $0.timeoutRoute }.flatMap { routeIndex($0) } ?? 0)) }
                    return table.update(d) { d in Self.dialogValue(d, key) }
                })
            },
            ScriptPVDefinition("dlg_ctx") { spec, f throws(ScriptError) in
                let key = spec.argument ?? ""
                let keys = ["set", "timeout_bye", "timeout", "timeout_route", "timeout_route_id", "on", "dir"]
                guard keys.contains(key) else {
                    throw f.error("unknown $dlg_ctx key '\(key)' (\(keys.joined(separator: ", ")))")
                }
                return ScriptPVAccessor(get: { [self] ctx in
                    let s = ctx.dialogState
                    let d = current(ctx)
                    switch key {
                    case "set": return .int(d != nil ? 1 : 0)
                    case "timeout_bye":
                        let on = d.map { d in table.update(d) { $0.iflags & Dialog.timeoutBye != 0 } } ?? s.timeoutBye
                        return .int(on ? 1 : 0)
                    case "timeout": return .int(Int32(truncatingIfNeeded: s.lifetime ?? 0))
                    // the message's context, not the dialog's (null in the timeout route itself)
                    case "timeout_route": return s.timeoutRoute.map { .str(Array($0.utf8)) } ?? .null
                    case "timeout_route_id": return .int(Int32(truncatingIfNeeded: s.timeoutRoute.flatMap { routeIndex($0) } ?? 0))
                    default: return .int(0)  // on, dir: not kept
                    }
                }, set: { [self] ctx, value, _ in
                    let s = ctx.dialogState
                    let d = current(ctx)
                    switch key {
                    case "timeout_bye":
                        let on = value.intValue != 0
                        s.timeoutBye = on
                        if let d {
                            table.update(d) { d in if on { d.iflags |= Dialog.timeoutBye } else { d.iflags &= ~Dialog.timeoutBye } }
                        }
                    case "timeout":
                        let secs = Int(value.intValue)
                        guard secs > 0 else { return }
                        s.lifetime = secs
                        if let d { setLifetime(d, secs) }
                    case "timeout_route", "timeout_route_id":
                        // a name, or Kamailio's route number; an unknown one clears it
                        let name: String?
                        if key == "timeout_route" {
                            if case .null = value { name = nil } else { name = String(decoding: value.bytes, as: UTF8.self) }
                        } else {
                            name = routeName(Int(value.intValue))
                        }
                        let known = name.flatMap { routeIndex($0) } != nil ? name : nil
                        s.timeoutRoute = known
                        if let d { table.update(d) { $0.timeoutRoute = known } }
                    default: break
                    }
                })
            },
        ]
    }

    /// The `$dlg(key)` names Kamailio 5.6.3 accepts.
    static let dialogKeys = ["h_id", "h_entry", "ref", "state", "callid", "from_uri", "to_uri", "from_tag", "to_tag",
                             "from_cseq", "to_cseq", "from_contact", "to_contact", "start_ts", "lifetime", "dflags",
                             "sflags", "toroute"]

    /// One `$dlg(key)` value (bucket lock held); Kamailio's key names.
    static func dialogValue(_ d: Dialog, _ key: String) -> ScriptValue {
        func int(_ v: Int) -> ScriptValue { .int(Int32(truncatingIfNeeded: v)) }
        func str(_ b: [UInt8]) -> ScriptValue { b.isEmpty ? .null : .str(b) }
        switch key {
        case "h_id": return .int(Int32(bitPattern: d.id))
        case "h_entry": return int(d.entry)
        case "ref": return int(d.state.rawValue >= DialogState.confirmedNoACK.rawValue ? 2 : 1)
        case "state": return int(d.state.rawValue)
        case "callid": return .str(d.callID)
        case "from_uri": return str(d.fromURI)
        case "to_uri": return str(d.toURI)
        case "from_tag": return .str(d.fromTag)
        case "to_tag": return d.callee.known ? str(d.toTag) : .null  // set with the 2xx, as Kamailio
        case "from_cseq": return .str(Array(String(d.caller.cseq).utf8))
        case "to_cseq": return d.callee.known ? .str(Array(String(d.callee.cseq).utf8)) : .null
        case "from_contact": return str(d.caller.contact)
        case "to_contact": return str(d.callee.contact)
        case "start_ts": return int(d.started)
        case "lifetime": return int(d.lifetime)
        case "dflags": return int(d.dflags)
        case "sflags": return .int(Int32(bitPattern: d.flags))
        default: return .null  // toroute: see the accessor (needs the script)
        }
    }

    /// Kamailio's number of `route[name]`: request_route is 0, named routes count from 1
    /// in the order the script defines them. Nil when the script has no such route.
    func routeIndex(_ name: String) -> Int? {
        guard let script = script.withLock({ $0 }) else { return nil }
        var n = 0
        for r in script.allRoutes where r.type == .request && !r.name.isEmpty {
            n += 1
            if r.name == name { return n }
        }
        return nil
    }

    /// The name of route number `index` (see `routeIndex`).
    func routeName(_ index: Int) -> String? {
        guard index > 0, let script = script.withLock({ $0 }) else { return nil }
        return script.allRoutes.filter { $0.type == .request && !$0.name.isEmpty }.dropFirst(index - 1).first?.name
    }

    /// A route set as `dlg.list` and `$dlg(from_rr)` show it: `<uri>,<uri>`.
    static func routeText(_ set: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, r) in set.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += [UInt8(ascii: "<")] + r + [UInt8(ascii: ">")]
        }
        return out
    }
}
