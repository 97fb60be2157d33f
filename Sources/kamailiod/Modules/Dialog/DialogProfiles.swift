import SIPCore
import ScriptEngine

/// Dialog profiles (Kamailio's `profiles_with_value` / `profiles_no_value`): named sets
/// a dialog joins from the script, counted for limits (`get_profile_size`) and listed over
/// RPC. A dialog leaves its profiles when it leaves the table, so sizes count only
/// dialogs that exist (early ones too, as Kamailio counts them).
extension DialogModule {
    /// The profile `name` as the configuration declared it: nil when unknown, else
    /// whether it takes values.
    func profileHasValues(_ name: String) -> Bool? {
        profileDefinitions.withLock { $0[name] }
    }

    /// Dialogs in profile `name` (with `value` when given).
    func profileMembers(_ name: String, value: [UInt8]?) -> [Dialog] {
        table.all().filter { d in
            table.update(d) { d in
                d.profiles.contains { $0.name == name && (value == nil || $0.value == value) }
            }
        }
    }

    /// Fix-up shared by the profile functions: the profile must be declared, with a
    /// value argument only for a profile with values.
    private func profileFixup(valueArgument: Bool, pvLast: Bool) -> @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        { [self] f throws(ScriptError) in
            let name = try f.fixupString(0)
            guard let withValues = profileHasValues(name) else {
                throw f.error("profile \"\(name)\" is not defined (profiles_with_value / profiles_no_value)", argument: 0)
            }
            var args = try f.defaultArgs()
            args.values[0] = .string(Array(name.utf8))
            let valueGiven = f.arguments.count > (pvLast ? 2 : 1)
            if valueGiven && !withValues { throw f.error("profile \"\(name)\" has no values", argument: 1) }
            if valueArgument && !valueGiven && withValues && !pvLast {
                throw f.error("profile \"\(name)\" needs a value", argument: 0)
            }
            if pvLast { args.values[f.arguments.count - 1] = .pv(try f.fixupPV(f.arguments.count - 1, writable: true)) }
            return args
        }
    }

    /// `set_dlg_profile`, `unset_dlg_profile`, `is_in_profile`, `get_profile_size`.
    var profileFunctions: [ScriptFunction] {
        let any = ScriptRouteMask.any
        return [
            ScriptFunction("set_dlg_profile", arity: 1...2, routes: [.request, .onreply, .branch, .failure],
                           fixup: profileFixup(valueArgument: true, pvLast: false)) { [self] ctx, args in
                let name = ctx.string(args[0])
                let value = args.count > 1 ? ctx.bytes(args[1]) : nil
                guard let d = current(ctx) else { return -1 }
                if table.update(d, { d in table.joinProfile(d, name, value) }) { persist(d) }
                return 1
            },
            ScriptFunction("unset_dlg_profile", arity: 1...2, routes: [.request, .onreply, .branch, .failure],
                           fixup: profileFixup(valueArgument: true, pvLast: false)) { [self] ctx, args in
                let name = ctx.string(args[0])
                let value = args.count > 1 ? ctx.bytes(args[1]) : nil
                guard let d = current(ctx), table.update(d, { d in table.leaveProfile(d, name, value) }) else { return -1 }
                persist(d)
                return 1
            },
            ScriptFunction("is_in_profile", arity: 1...2, routes: any,
                           fixup: profileFixup(valueArgument: false, pvLast: false)) { [self] ctx, args in
                let name = ctx.string(args[0])
                let value = args.count > 1 ? ctx.bytes(args[1]) : nil
                guard let d = current(ctx) else { return -1 }
                return table.update(d) { d in
                    d.profiles.contains { $0.name == name && (value == nil || $0.value == value) }
                } ? 1 : -1
            },
            // the lifetime of every dialog in the profile (with that value): `setLifetime` each
            ScriptFunction("dlg_set_timeout_by_profile", arity: 2...3, routes: any, fixup: { [self] f throws(ScriptError) in
                let name = try f.fixupString(0)
                guard let withValues = profileHasValues(name) else {
                    throw f.error("profile \"\(name)\" is not defined (profiles_with_value / profiles_no_value)", argument: 0)
                }
                if f.arguments.count == 3 && !withValues { throw f.error("profile \"\(name)\" has no values", argument: 1) }
                return try f.defaultArgs()
            }) { [self] ctx, args in
                let secs = Int(ctx.int(args[args.count - 1]))
                guard secs > 0 else { return -1 }
                let value = args.count == 3 ? ctx.bytes(args[1]) : nil
                for d in profileMembers(ctx.string(args[0]), value: value) { setLifetime(d, secs) }
                return 1
            },
            ScriptFunction("get_profile_size", arity: 2...3, routes: any,
                           fixup: profileFixup(valueArgument: false, pvLast: true)) { [self] ctx, args in
                let name = ctx.string(args[0])
                let value = args.count > 2 ? ctx.bytes(args[1]) : nil
                guard case .pv(let pv) = args[args.count - 1] else { return -1 }
                let n = table.profileSize(name, value: value)
                pv.accessor.set?(ctx, .int(Int32(n)), false)
                return 1
            },
        ]
    }
}
