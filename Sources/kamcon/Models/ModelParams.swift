import Shared

/// One runtime parameter as the Parameters screen shows it.
struct ParamEntry: Sendable, Equatable {
    /// Group and variable names (`tm`, `fr_timer`).
    var group, name: String
    /// True for an integer, false for a string.
    var isInt: Bool
    /// Inclusive range; nil when unchecked (Kamailio's 0/0).
    var range: ClosedRange<Int>?
    /// `cfg.help`'s description.
    var description: String
    /// The current value; nil when the server will not show it (see `readable`).
    var value: RPCValue?
    /// False where `cfg.get` answers "not readable" (tm timers, log_facility...).
    var readable = true
    /// True when a change needs a restart (kamailiod says so; Kamailio's read-only ones too).
    var restart = false

    /// `group.name`.
    var key: String { "\(group).\(name)" }

    /// The value as text: `-` for unreadable, `(null)` for a missing string.
    var valueText: String {
        guard readable else { return "(not readable)" }
        guard let value else { return "…" }
        if case .null = value { return "(null)" }
        return RPCTextRender.scalarText(value)
    }

    /// `int 0..255`, `string`.
    var typeText: String {
        guard isInt else { return "string" }
        return range.map { "int \($0.lowerBound)..\($0.upperBound)" } ?? "int"
    }

    /// Checks typed text before it is sent; returns the value to send or why it is refused.
    func parse(_ text: String) -> Result<RPCValue, ParamRefusal> {
        if restart { return .failure(ParamRefusal("\(key) needs a restart to change")) }
        guard isInt else { return .success(.string(text)) }
        guard let i = Int(text.trimmingCharacters(in: .whitespaces)) else {
            return .failure(ParamRefusal("\(key) is an integer: \"\(text)\" is not a number"))
        }
        if let range, !range.contains(i) {
            return .failure(ParamRefusal("\(key): \(i) is out of range \(range.lowerBound)..\(range.upperBound)"))
        }
        return .success(.int(i))
    }
}

/// Why a typed value is not sent.
struct ParamRefusal: Error, Equatable, Sendable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// A staged change (`cfg.diff`).
struct ParamChange: Sendable, Equatable {
    var group, name: String
    var old, new: String
}

/// What the server offers.
enum ParamsFlavor: Sendable, Equatable {
    /// Not asked yet, or no link.
    case unknown
    /// No `cfg.*` methods (Kamailio without cfg_rpc).
    case absent
    /// `cfg.*` only (Kamailio with cfg_rpc): ranges from the table below, no reload.
    case kamailio
    /// kamailiod: `cfg.info` and `cfg.reload_script`.
    case kamailiod
}

/// The Parameters screen's data, published by `ModelParamsRunner`.
struct ParamsSnapshot: Sendable, Equatable {
    var flavor = ParamsFlavor.unknown
    /// Every parameter, grouped in server order.
    var entries: [ParamEntry] = []
    /// Staged changes.
    var staged: [ParamChange] = []
    /// The last command's outcome: text and whether it went wrong.
    var message: (text: String, bad: Bool)?
    /// Link error, if any.
    var error: String?
    /// A command is running.
    var busy: String?
    /// Counts publications.
    var generation = 0

    static func == (a: ParamsSnapshot, b: ParamsSnapshot) -> Bool {
        a.flavor == b.flavor && a.entries == b.entries && a.staged == b.staged && a.message?.text == b.message?.text
            && a.message?.bad == b.message?.bad && a.error == b.error && a.busy == b.busy && a.generation == b.generation
    }

    /// Group names in order.
    var groups: [String] {
        var seen: Set<String> = []
        return entries.compactMap { seen.insert($0.group).inserted ? $0.group : nil }
    }
}

/// Reading the `cfg.*` replies into entries.
enum ParamsReplies {
    /// `cfg.list`: `"group: var"` strings.
    static func list(_ values: [RPCValue]) -> [(group: String, name: String)] {
        ModelRecords.strings(values).compactMap { s in
            guard let colon = s.firstIndex(of: ":") else { return nil }
            return (String(s[..<colon]), s[s.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    /// `cfg.help`: description and type line (binrpc gives both; JSON-RPC only the type).
    static func help(_ values: [RPCValue]) -> (description: String, isInt: Bool) {
        let texts = ModelRecords.strings(values)
        let type = texts.last ?? ""
        let description = texts.count > 1 ? texts[0] : ""
        return (description, !type.contains("string"))
    }

    /// `cfg.info` (kamailiod): one struct per variable.
    static func info(_ values: [RPCValue]) -> [ParamEntry] {
        records(values).compactMap { m in
            func s(_ k: String) -> String? { m.first { $0.name == k }.flatMap { if case .string(let t) = $0.value { t } else { nil } } }
            func i(_ k: String) -> Int { m.first { $0.name == k }.flatMap { if case .int(let n) = $0.value { n } else { nil } } ?? 0 }
            guard let group = s("group"), let name = s("name") else { return nil }
            let lo = i("min"), hi = i("max")
            return ParamEntry(group: group, name: name, isInt: s("type") != "string",
                              range: lo == 0 && hi == 0 || lo > hi ? nil : lo...hi, description: s("description") ?? "",
                              value: nil, readable: i("readable") != 0, restart: i("restart") != 0)
        }
    }

    /// `cfg.get group`: the readable values by name.
    static func values(_ values: [RPCValue]) -> [String: RPCValue] {
        var out: [String: RPCValue] = [:]
        for v in values {
            for m in v.members ?? [] { if let n = m.name, !n.isEmpty { out[n] = m.value } }
        }
        return out
    }

    /// `cfg.diff`: one struct per change (binrpc; JSON-RPC keeps only the last).
    static func diff(_ values: [RPCValue]) -> [ParamChange] {
        records(values).compactMap { m in
            func text(_ k: String) -> String? { m.first { $0.name == k }.map { RPCTextRender.scalarText($0.value) } }
            guard let g = text("group name"), let n = text("variable name") else { return nil }
            return ParamChange(group: g, name: n, old: text("old value") ?? "", new: text("new value") ?? "")
        }
    }

    /// The member lists of a reply made of structs (directly or inside an array).
    static func records(_ values: [RPCValue]) -> [[RPCMember]] {
        var out: [[RPCMember]] = []
        func walk(_ v: RPCValue) {
            switch v {
            case .struct(let m): if !m.isEmpty { out.append(m) }
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        values.forEach(walk)
        return out
    }

    /// Range and read-only flag of Kamailio 5.6.3's variables (its `cfg_def` tables,
    /// `rpc-examples/cfg-params.json`): Kamailio's RPC does not tell them.
    static func kamailio(_ group: String, _ name: String) -> (range: ClosedRange<Int>?, readonly: Bool) {
        guard let e = kamailioTable["\(group).\(name)"] else { return (nil, false) }
        return (e.0 == 0 && e.1 == 0 ? nil : e.0...e.1, e.2)
    }

    private static let kamailioTable: [String: (Int, Int, Bool)] = [
        "dbg.mod_level_mode": (0, 1, false),
        "dbg.mod_facility_mode": (0, 1, false),
        "dbg.mod_hash_size": (0, 0, true),
        "registrar.default_expires_range": (0, 100, false),
        "registrar.expires_range": (0, 100, false),
        "registrar.default_q": (-1, 1000, false),
        "maxfwd.max_limit": (0, 255, false),
        "tm.ruri_matching": (0, 1, false),
        "tm.via1_matching": (0, 1, false),
        "tm.noisy_ctimer": (0, 1, false),
        "tm.auto_inv_100": (0, 1, false),
        "tm.restart_fr_on_each_reply": (0, 1, false),
        "tm.pass_provisional_replies": (0, 1, false),
        "tm.aggregate_challenges": (0, 1, false),
        "tm.unmatched_cancel": (0, 2, false),
        "tm.default_code": (400, 699, false),
        "tm.reparse_invite": (0, 1, false),
        "tm.blst_503": (0, 1, false),
        "tm.cancel_b_method": (0, 2, false),
        "tm.reparse_on_dns_failover": (0, 1, false),
        "tm.disable_6xx_block": (0, 1, false),
        "tm.local_ack_mode": (0, 2, false),
        "tm.local_cancel_reason": (0, 1, false),
        "tm.e2e_cancel_reason": (0, 1, false),
        "tm.relay_100": (0, 1, false),
        "tm.enable_uac_fr": (0, 1, false),
        "tcp.connect_timeout": (-1, Int(Int32.max), false),
        "tcp.send_timeout": (-1, Int(Int32.max), false),
        "tcp.connection_lifetime": (-1, Int(Int32.max), false),
        "tcp.max_connections": (0, Int(Int32.max), false),
        "tcp.max_tls_connections": (0, Int(Int32.max), false),
        "tcp.no_connect": (0, 1, false),
        "tcp.fd_cache": (0, 1, true),
        "tcp.async": (0, 1, true),
        "tcp.connect_wait": (0, 1, true),
        "tcp.conn_wq_max": (0, 1024*1024, false),
        "tcp.wq_max": (0, 1<<30, false),
        "tcp.defer_accept": (0, 3600, true),
        "tcp.delayed_ack": (0, 1, false),
        "tcp.syncnt": (0, 1024, false),
        "tcp.linger2": (0, 3600, false),
        "tcp.keepalive": (0, 1, false),
        "tcp.keepidle": (0, 24*3600, false),
        "tcp.keepintvl": (0, 24*3600, false),
        "tcp.keepcnt": (0, 1<<10, false),
        "tcp.crlf_ping": (0, 1, false),
        "tcp.accept_aliases": (0, 1, false),
        "tcp.alias_flags": (0, 2, false),
        "tcp.new_conn_alias_flags": (0, 2, false),
        "tcp.accept_no_cl": (0, 1, false),
        "tcp.reuse_port": (0, 1, false),
        "tcp.wait_data_ms": (0, 7200000, false),
        "tcp.rd_buf_size": (512, 16777216, false),
        "tcp.wq_blk_size": (1, 65535, false),
        "core.use_dst_blocklist": (0, 1, false),
        "core.dns_try_ipv6": (0, 1, false),
        "core.dns_try_naptr": (0, 1, false),
        "core.dns_use_search_list": (0, 1, false),
        "core.dns_search_full_match": (0, 1, false),
        "core.dns_reinit": (1, 1, false),
        "core.use_dns_cache": (0, 1, false),
        "core.dns_cache_flags": (0, 4, false),
        "core.use_dns_failover": (0, 1, false),
        "core.dns_srv_lb": (0, 1, false),
        "core.dns_cache_del_nonexp": (0, 1, false),
        "core.dns_cache_rec_pref": (0, 3, false),
        "core.udp_mtu": (0, 65535, false),
        "core.udp_mtu_try_proto": (1, 4, false),
        "core.udp4_raw": (-1, 1, false),
        "core.udp4_raw_mtu": (28, 65535, false),
        "core.udp4_raw_ttl": (-1, 255, false),
        "core.force_rport": (0, 1, false),
        "core.mem_summary": (0, 31, false),
    ]
}
