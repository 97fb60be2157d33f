#if canImport(Glibc)
import Glibc
#endif
import SIPCore
import ScriptEngine
import Synchronization

/// Per-message dialog state: the dialog this request belongs to, once known.
final class DialogMessageState {
    /// The dialog found or created for this message.
    var dialog: Dialog?
    var looked = false
}

extension ScriptContext {
    /// The dialog module's per-message state.
    var dialogState: DialogMessageState {
        let key = ObjectIdentifier(DialogMessageState.self)
        if let s = userData[key] as? DialogMessageState { return s }
        let s = DialogMessageState()
        userData[key] = s
        return s
    }
}

/// Dialog tracking (Kamailio's `dialog`): `dlg_manage()` on an initial INVITE creates a
/// dialog that follows the INVITE transaction's replies (unconfirmed → early →
/// confirmed, or deleted on a failure); in-dialog requests are matched by Call-ID and
/// tags (RFC 3261 §12.2.2) when tm relays them, so a BYE ends the dialog.
public final class DialogModule: ScriptModule {
    public let name = "dialog"
    /// The transactions the dialogs follow.
    let tm: TMModule
    let table = DialogTable()
    /// Counters.
    public var stats: DialogStatistics { table.stats }
    /// `default_timeout` in seconds (kept for `$dlg(timeout)`; dialogs end by BYE or failure).
    let defaultTimeout = Atomic<Int>(43200)

    /// A dialog module whose dialogs follow the transactions of `tm`.
    public init(tm: TMModule) {
        self.tm = tm
        tm.addRelayHook { [weak self] ctx in self?.inDialogRequest(ctx) }
    }

    /// Dialogs in the table now.
    public var currentDialogs: Int { table.count }

    /// dialog's `modparam` parameters.
    public var parameters: [ScriptModuleParameter] {
        let ignored: [String] = ["db_mode", "db_url", "dlg_flag", "enable_stats", "profiles_with_value",
                                 "profiles_no_value", "dlg_match_mode", "track_cseq_updates", "detect_spirals"]
        return ignored.map { n in ScriptModuleParameter(n, n.hasPrefix("profiles") || n == "db_url" ? .string : .int) { _ throws(ScriptFixupError) in } }
            + [ScriptModuleParameter("default_timeout", .int) { [self] v throws(ScriptFixupError) in
                defaultTimeout.store(Int(v.intValue), ordering: .relaxed)
            }]
    }

    /// Wall-clock seconds (dialog timestamps are epoch seconds, as in Kamailio).
    static func now() -> Int { Int(time(nil)) }

    /// dialog's script functions.
    public var functions: [ScriptFunction] {
        [
            ScriptFunction("dlg_manage", arity: 0...0, routes: [.request, .branch]) { [self] ctx, _ in manage(ctx) },
            ScriptFunction("is_known_dlg", arity: 0...0, routes: [.request, .failure, .onreply, .branch]) { [self] ctx, _ in
                current(ctx) != nil ? 1 : -1
            },
            ScriptFunction("dlg_isflagset", arity: 1...1) { [self] ctx, args in
                guard let d = current(ctx) else { return -1 }
                let bit = ctx.int(args[0])
                guard (0...31).contains(bit) else { return -1 }
                return table.update(d) { $0.flags & (1 << UInt32(bit)) != 0 } ? 1 : -1
            },
            ScriptFunction("dlg_setflag", arity: 1...1) { [self] ctx, args in
                guard let d = current(ctx) else { return -1 }
                let bit = ctx.int(args[0])
                guard (0...31).contains(bit) else { return -1 }
                table.update(d) { $0.flags |= 1 << UInt32(bit) }
                return 1
            },
            ScriptFunction("dlg_resetflag", arity: 1...1) { [self] ctx, args in
                guard let d = current(ctx) else { return -1 }
                let bit = ctx.int(args[0])
                guard (0...31).contains(bit) else { return -1 }
                table.update(d) { $0.flags &= ~(1 << UInt32(bit)) }
                return 1
            },
        ]
    }

    /// `$dlg_var(name)` and `$dlg(key)`.
    public var pseudoVariables: [ScriptPVDefinition] {
        [
            ScriptPVDefinition("dlg_var") { spec, _ throws(ScriptError) in
                let name = spec.argument ?? ""
                return ScriptPVAccessor(get: { [self] ctx in
                    guard let d = current(ctx), let v = table.update(d, { $0.vars[name] }) else { return .null }
                    return .str(v)
                }, set: { [self] ctx, value, _ in
                    guard let d = current(ctx) else { return }
                    table.update(d) { d in
                        if case .null = value { d.vars[name] = nil } else { d.vars[name] = value.bytes }
                    }
                })
            },
            ScriptPVDefinition("dlg") { spec, _ throws(ScriptError) in
                let key = spec.argument ?? ""
                return ScriptPVAccessor(get: { [self] ctx in
                    guard let d = current(ctx) else { return .null }
                    return table.update(d) { d -> ScriptValue in
                        switch key {
                        case "h_id": return .int(Int32(bitPattern: d.id))
                        case "h_entry": return .int(Int32(d.entry))
                        case "state": return .int(Int32(d.state.rawValue))
                        case "callid": return .str(d.callID)
                        case "from_tag": return .str(d.fromTag)
                        case "to_tag": return .str(d.toTag)
                        case "start_ts": return .int(Int32(truncatingIfNeeded: d.started))
                        case "init_ts": return .int(Int32(truncatingIfNeeded: d.created))
                        case "timeout": return .int(Int32(truncatingIfNeeded: defaultTimeout.load(ordering: .relaxed)))
                        case "dflags", "sflags": return .int(Int32(bitPattern: d.flags))
                        default: return .null
                        }
                    }
                })
            },
        ]
    }

    /// The dialog of the message in `ctx`: the one `dlg_manage()` made, or the one its
    /// Call-ID and tags name.
    func current(_ ctx: ScriptContext) -> Dialog? {
        let s = ctx.dialogState
        if s.dialog != nil || s.looked { return s.dialog }
        s.looked = true
        let msg = ctx.message
        guard let cid = msg.callID, let from = (try? msg.from())?.tag else { return nil }
        let to = (try? msg.to())?.tag
        // replies: From/To are the caller's view as in the request
        s.dialog = table.find(callID: cid, fromTag: from, toTag: to)
        return s.dialog
    }

    /// `dlg_manage()`: an initial INVITE gets a dialog that follows its transaction.
    func manage(_ ctx: ScriptContext) -> Int32 {
        let msg = ctx.message
        guard msg.isRequest else { return -1 }
        if (try? msg.to())?.tag != nil { return current(ctx) != nil ? 1 : -1 }
        guard msg.method == .invite, let cid = msg.callID, let from = (try? msg.from())?.tag else { return -1 }
        if ctx.dialogState.dialog != nil { return 1 }
        let d = table.create(callID: Array(cid), fromTag: Array(from), now: Self.now())
        ctx.dialogState.dialog = d
        ctx.dialogState.looked = true
        // Kamailio marks its Record-Route with the dialog id (`did`), before or after
        // record_route(); the Record-Route is written when the request is sent.
        var did = Array(";did=".utf8)
        TMModule.appendHex(UInt64(d.entry), to: &did)
        did.append(UInt8(ascii: "."))
        TMModule.appendHex(UInt64(d.id), to: &did)
        ctx.rr.pendingParams += did
        let table = self.table
        ctx.tm.replyCallbacks.append { code, reply in
            if code < 200 {
                if let tag = (try? reply?.to())??.tag {
                    table.update(d) { $0.toTag = Array(tag) }
                    table.transition(d, to: .early, now: Self.now())
                }
            } else if code < 300 {
                if let tag = (try? reply?.to())??.tag { table.update(d) { $0.toTag = Array(tag) } }
                table.transition(d, to: .confirmedNoACK, now: Self.now())
            } else {
                table.transition(d, to: .deleted, now: Self.now())
            }
        }
        return 1
    }

    /// tm relays an in-dialog request: ACK confirms, BYE ends (Kamailio does this from
    /// rr's loose_route callback; every script relays what loose_route accepted).
    func inDialogRequest(_ ctx: ScriptContext) {
        let msg = ctx.message
        guard msg.method == .ack || msg.method == .bye, (try? msg.to())?.tag != nil, let d = current(ctx) else { return }
        table.transition(d, to: msg.method == .ack ? .confirmed : .deleted, now: Self.now())
    }
}
