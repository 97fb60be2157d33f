import SIPCore
import ScriptEngine
import Synchronization

/// The registrar (Kamailio's `registrar`): `save()` processes REGISTER per RFC 3261 §10.3,
/// `lookup()` turns an address-of-record into the registered contacts (§16.5 target set).
public final class RegistrarModule: ScriptModule {
    public let name = "registrar"
    let runtime: CoreRuntime
    let sl: SLModule
    let usrloc: UsrlocModule

    /// modparam values.
    struct Settings {
        var defaultExpires = 3600
        var minExpires = 60
        var maxExpires = 0
        var maxContacts = 0
        var methodFiltering = false
        var appendBranches = true
        var defaultQ = -1
        var minExpiresMode = 0
        var usePath = false
    }

    /// The runtime parameters (cfg group `registrar`).
    let cfg: RegistrarCfg
    /// Socket texts by listener index, for the `socket` of stored contacts.
    let socketNames = Mutex<[String?]>([])

    /// Creates the module on the shared runtime, replying through `sl`, storing in `usrloc`.
    public init(runtime: CoreRuntime, sl: SLModule, usrloc: UsrlocModule) {
        self.runtime = runtime
        self.sl = sl
        self.usrloc = usrloc
        cfg = RegistrarCfg(runtime.cfg)
    }

    /// The settings the message in `ctx` is handled with (nil: the newest).
    func settings(_ ctx: ScriptContext?) -> Settings { cfg.settings(ctx, runtime.cfg) }

    public var parameters: [ScriptModuleParameter] {
        func int(_ name: String, range: ClosedRange<Int32>,
                 _ key: @escaping @Sendable (RegistrarCfg) -> CfgIntKey?) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .int) { [self] v throws(ScriptFixupError) in
                guard range.contains(v.intValue) else {
                    throw ScriptFixupError("\(name) must be \(range.lowerBound)-\(range.upperBound), found \(v.intValue)")
                }
                if let k = key(cfg) { runtime.cfg.setInitial(k, Int(v.intValue)) }
            }
        }
        return [
            int("default_expires", range: 0...Int32.max) { $0.defaultExpires },
            int("min_expires", range: 0...Int32.max) { $0.minExpires },
            int("max_expires", range: 0...Int32.max) { $0.maxExpires },
            int("max_contacts", range: 0...Int32.max) { $0.maxContacts },
            int("method_filtering", range: 0...1) { $0.methodFiltering },
            int("append_branches", range: 0...1) { $0.appendBranches },
            int("default_q", range: -1...1000) { $0.defaultQ },
            // 0 (Kamailio 5.6): a shorter expires is raised to min_expires; 1: the
            // REGISTER is refused with 423 and Min-Expires (RFC 3261 §10.3 step 7).
            int("min_expires_mode", range: 0...1) { $0.minExpiresMode },
            // 1: store the Path of a REGISTER and return it in the 200 (RFC 3327 §5.3).
            int("use_path", range: 0...1) { $0.usePath },
            int("path_mode", range: 0...2) { _ in nil },
        ]
    }

    /// Fix-up shared by functions whose first argument names a location table.
    private func tableFixup(_ f: ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs {
        var args = try f.defaultArgs()
        let table = usrloc.table(try f.fixupString(0))
        args.values[0] = .custom(table)
        return args
    }

    public var functions: [ScriptFunction] {
        let fix: @Sendable (ScriptFixupContext) throws(ScriptError) -> ScriptFixedArgs = { [self] f throws(ScriptError) in
            try tableFixup(f)
        }
        return [
            ScriptFunction("save", arity: 1...3, routes: [.request, .failure, .onreply], fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self) else { return -1 }
                let flags = args.count > 1 ? Int(ctx.int(args[1])) : 0
                let uri = args.count > 2 ? ctx.string(args[2]) : nil
                return save(ctx, table: t, flags: flags, aorURI: uri)
            },
            ScriptFunction("lookup", arity: 1...2, routes: [.request, .failure, .branch], fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self) else { return -3 }
                return lookup(ctx, table: t, uri: args.count > 1 ? ctx.bytes(args[1]) : nil)
            },
            ScriptFunction("registered", arity: 1...4, routes: .any, fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self) else { return -1 }
                let uri = args.count > 1 ? ctx.bytes(args[1]) : ctx.requestURIBytes
                guard let aor = aor(of: uri) else { return -1 }
                return t.contacts(of: aor, now: UsrlocModule.now()).isEmpty ? -1 : 1
            },
            ScriptFunction("unregister", arity: 2...3, routes: .any, fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self), let aor = aor(of: ctx.bytes(args[1])) else { return -1 }
                let ruid = args.count > 2 ? ctx.string(args[2]) : ""
                let removed: Int = t.update(aor) { list in
                    let gone = list.filter { ruid.isEmpty || $0.ruid == ruid }
                    list.removeAll { ruid.isEmpty || $0.ruid == ruid }
                    return (gone.count, gone.map { .delete(ruid: $0.ruid) })
                }
                return removed > 0 ? 1 : -1
            },
            ScriptFunction("reg_fetch_contacts", arity: 3...3, routes: .any, fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self), let aor = aor(of: ctx.bytes(args[1])) else { return -1 }
                let list = sortedForLookup(t.contacts(of: aor, now: UsrlocModule.now()), ctx)
                ctx.registrarState.fetched[ctx.string(args[2])] = RegistrarFetched(aor: aor, contacts: list)
                return list.isEmpty ? -1 : 1
            },
            ScriptFunction("lookup_branches", arity: 1...1, routes: [.request, .failure], fixup: fix) { [self] ctx, args in
                guard let t = args.custom(0, as: UsrlocTable.self) else { return -3 }
                return lookupBranches(ctx, table: t)
            },
            // add_sock_hdr("Name"): tells the next hop (a registrar behind us) which of our
            // sockets the REGISTER came in on, so it can route calls back through it.
            ScriptFunction("add_sock_hdr", arity: 1...1, routes: [.request]) { ctx, args in
                let name = ctx.string(args[0])
                guard !name.isEmpty else { return -1 }
                let r = ctx.receive
                ctx.message.addHeader("\(name): \(r.proto.name):\(r.local.hostString):\(r.local.port)")
                return 1
            },
            ScriptFunction("reg_free_contacts", arity: 1...1, routes: .any) { ctx, args in
                ctx.registrarState.fetched[ctx.string(args[0])] = nil
                return 1
            },
        ]
    }

    public var pseudoVariables: [ScriptPVDefinition] { [RegistrarPV.ulc] }

    /// The address-of-record key of a URI: `user`, or `user@host` with usrloc `use_domain`
    /// (host lower-cased: RFC 3261 §19.1.4 compares hosts case-insensitively).
    func aor<C: Collection<UInt8>>(of uriBytes: C) -> String? {
        guard let uri = try? SIPURI(bytes: ArraySlice(uriBytes)) else { return nil }
        return aor(of: uri)
    }

    /// The address-of-record key of a parsed URI.
    func aor(of uri: SIPURI) -> String? {
        let user = uri.user.map(SIPBytes.string) ?? ""
        guard usrloc.useDomain else { return user }
        let host = uri.hostString?.lowercased() ?? ""
        return user.isEmpty ? host : "\(user)@\(host)"
    }

    /// Contacts in the order lookup tries them: highest q first (RFC 3261 §16.6 step 1
    /// leaves the order to the proxy; Kamailio and most registrars use q), unspecified q
    /// counting as `default_q`, and among equals the order of registration (as
    /// Kamailio keeps them).
    func sortedForLookup(_ list: [UsrlocContact], _ ctx: ScriptContext? = nil) -> [UsrlocContact] {
        let dq = settings(ctx).defaultQ
        return list.enumerated().sorted { a, b in
            let qa = a.element.q < 0 ? dq : a.element.q
            let qb = b.element.q < 0 ? dq : b.element.q
            if qa != qb { return qa > qb }
            return a.offset < b.offset
        }.map(\.element)
    }
}

/// What `reg_fetch_contacts` left for `$ulc(profile=>...)`.
struct RegistrarFetched {
    var aor: String
    var contacts: [UsrlocContact]
}

/// Per-message registrar state: the contact sets `reg_fetch_contacts` loaded.
public final class RegistrarMessageState {
    var fetched: [String: RegistrarFetched] = [:]

    init() {}
}

extension ScriptContext {
    /// The registrar's per-message state, created on first use.
    public var registrarState: RegistrarMessageState {
        let key = ObjectIdentifier(RegistrarMessageState.self)
        if let s = userData[key] as? RegistrarMessageState { return s }
        let s = RegistrarMessageState()
        userData[key] = s
        return s
    }
}
