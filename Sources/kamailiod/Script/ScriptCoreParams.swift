import SIPTransport

/// The typed core (global) parameters of a loaded script, with Kamailio's defaults.
/// Every assignment is also kept by name in `values` so rarely used parameters are
/// available without a field here.
public struct ScriptCoreConfig: Sendable {
    /// `debug`: log level (L_ALERT -5 ... L_DBG 3).
    public var debug = 0
    /// `log_stderror`: log to stderr instead of syslog.
    public var logStderror = false
    /// `log_facility`, e.g. `LOG_LOCAL0`.
    public var logFacility = "LOG_DAEMON"
    /// `log_prefix`: a format string with pseudo-variables, prepended to script logs.
    public var logPrefix: String?
    /// `log_name`: syslog identity.
    public var logName: String?
    /// `children`: UDP workers per listener.
    public var children = 8
    /// `tcp_children`: stream workers (nil: same as `children`).
    public var tcpChildren: Int?
    /// `listen` entries, expanded per transport when none was written.
    public var listens: [ListenSpec] = []
    /// `alias` entries.
    public var aliases: [ScriptAlias] = []
    /// `port`: default port for listens written without one.
    public var port: UInt16 = 5060
    /// `fork`: run in the background with workers.
    public var fork = true
    /// `mhomed`: pick the outgoing socket per destination.
    public var mhomed = false
    /// `auto_aliases`: add the listen addresses' reverse names as aliases.
    public var autoAliases = true
    /// `disable_tcp`.
    public var disableTCP = false
    /// `enable_tls`.
    public var enableTLS = false
    /// `tcp_accept_aliases`: a stream request whose top Via has `;alias` makes its
    /// connection the way to the Via's sent-by port (RFC 5923).
    public var tcpAcceptAliases = false
    /// `tcp_connection_lifetime` in seconds.
    public var tcpConnectionLifetime = 120
    /// `tcp_max_connections`.
    public var tcpMaxConnections = 2048
    /// `tcp_connect_timeout` in seconds.
    public var tcpConnectTimeout = 10
    /// `tcp_send_timeout` in seconds.
    public var tcpSendTimeout = 10
    /// `tcp_accept_no_cl`: accept stream messages without Content-Length.
    public var tcpAcceptNoCL = false
    /// `maxbuffer`: largest UDP receive buffer to probe for.
    public var maxBuffer = 262_144
    /// `server_header`: the whole header line, e.g. `Server: kamailiod` (nil: default).
    public var serverHeader: String?
    /// `user_agent_header`: the whole header line for locally generated requests.
    public var userAgentHeader: String?
    /// `server_signature`: add Server/User-Agent headers at all.
    public var serverSignature = true
    /// `memdbg` / `memlog`: log levels of memory debugging.
    public var memdbg = 3, memlog = 3
    /// `dns`, `rev_dns`: look up names of addresses for Via checks.
    public var dns = false, revDNS = false
    /// `use_dns_cache`.
    public var useDNSCache = true
    /// `sip_warning`: add Warning headers to locally generated replies.
    public var sipWarning = false
    /// `udp_mtu`: switch to TCP above this size (0: never).
    public var udpMTU = 0
    /// `max_while_loops`: iterations after which a `while` stops.
    public var maxWhileLoops = 100
    /// `async_workers`.
    public var asyncWorkers = 0
    /// `pv_buffer_size`: size of one pseudo-variable print buffer.
    public var pvBufferSize = 8192
    /// `server_id`.
    public var serverID = 0
    /// Custom runtime config variables (`group.var = value desc "..."`).
    public var customVars: [ScriptCustomVar] = []
    /// Every core assignment by name, last one wins.
    public var values: [String: ScriptCoreValue] = [:]

    /// Defaults, as Kamailio starts with no global section.
    public init() {}
}

/// The table of known core parameters and their types; assignment checks the type.
enum ScriptCoreParams {
    /// Types of core parameter values.
    enum Kind {
        case int, bool, string, listen, alias, any
    }

    /// Known core parameters. Unknown ones are a load-time error, as in Kamailio.
    static let table: [String: Kind] = {
        var t: [String: Kind] = [
            "debug": .int, "log_stderror": .bool, "log_facility": .any, "log_prefix": .string,
            "log_name": .string, "children": .int, "tcp_children": .int, "listen": .listen,
            "alias": .alias, "port": .int, "fork": .bool, "mhomed": .bool, "auto_aliases": .bool,
            "disable_tcp": .bool, "enable_tls": .bool, "tcp_accept_aliases": .bool, "tcp_connection_lifetime": .int,
            "tcp_max_connections": .int, "tcp_connect_timeout": .int, "tcp_send_timeout": .int,
            "tcp_accept_no_cl": .bool, "maxbuffer": .int, "server_header": .string,
            "user_agent_header": .string, "server_signature": .bool, "memdbg": .int, "memlog": .int,
            "dns": .bool, "rev_dns": .bool, "use_dns_cache": .bool, "sip_warning": .bool,
            "udp_mtu": .int, "max_while_loops": .int, "async_workers": .int, "pv_buffer_size": .int,
            "server_id": .int, "mpath": .string, "loadpath": .string,
        ]
        let ints = ["log_color", "corelog", "dns_cache_init", "dns_retr_time", "dns_retr_no",
                    "dns_servers_no", "dns_cache_flags", "dns_cache_negative_ttl", "dns_cache_min_ttl",
                    "dns_cache_max_ttl", "dns_cache_mem", "dns_cache_gc_interval", "tcp_rd_buf_size",
                    "tcp_wq_max", "tcp_conn_wq_max", "tcp_keepidle", "tcp_keepintvl", "tcp_keepcnt",
                    "tcp_syncnt", "tcp_linger2", "tcp_max_fd_no", "tls_max_connections",
                    "sctp_children", "open_files_limit", "shm_mem_size", "pkg_mem_size",
                    "max_recursive_level", "max_branches", "mem_summary", "mem_safety", "mem_join",
                    "latency_log", "latency_limit_action", "latency_limit_db", "latency_cfg_log",
                    "pv_buffer_slots", "pv_cache_limit", "pv_cache_action", "tcp_script_mode",
                    "udp_mtu_try_proto", "received_route_mode", "socket_workers", "modinit_delay",
                    "tcp_crlf_ping", "tcp_clone_rcvbuf", "tos", "timer_procs", "rt_prio",
                    "rt_policy", "rt_timer1_prio", "rt_timer2_prio", "rt_timer1_policy",
                    "rt_timer2_policy", "advertised_port", "tls_port_no", "sql_buffer_size",
                    "dst_blocklist_expire", "dst_blocklist_mem", "dst_blocklist_gc_interval",
                    "tcp_msg_read_timeout", "tcp_msg_data_timeout", "tcp_accept_iplimit",
                    "shm_force_alloc", "mlock_pages", "real_time", "ipv6_hex_style", "local_rport",
                    "verbose_startup", "route_locks_size", "wait_worker1_mode", "wait_worker1_time",
                    "wait_worker1_usleep", "sock_mode", "kemi.onsend_route_callback", "log_engine_type",
                    "http_reply_parse", "reply_to_via", "check_via", "phone2tel", "enable_sctp"]
        let bools = ["dns_try_ipv6", "dns_try_naptr", "dns_use_search_list", "dns_search_full_match",
                     "dns_srv_lb", "dns_naptr_ignore_rfc", "use_dns_failover", "tcp_async",
                     "tcp_buf_write", "tcp_keepalive", "tcp_delayed_ack", "tcp_defer_accept",
                     "tcp_fd_cache", "tcp_no_connect", "tcp_reuse_port", "disable_tls", "tls_disable",
                     "disable_sctp", "auto_bind_ipv6", "bind_ipv6_link_local", "use_dst_blocklist",
                     "onsend_route_reply", "tcp_accept_haproxy", "tcp_accept_hep3",
                     "tcp_force_alias", "stun_refresh_interval", "sip_parser_log", "sip_parser_mode",
                     "xavp_via_params", "xavp_via_fields", "sr_auto_aliases", "return_mode",
                     "mem_status_mode", "disable_core_dump", "log_cset", "tcp_source_ipv4",
                     "tcp_source_ipv6", "cfg_mode"]
        let strings = ["user", "uid", "group", "gid", "chroot", "workdir", "wdir", "rundir", "run_dir",
                       "pid_file", "pgid_file", "sock_user", "sock_group", "advertised_address",
                       "tcp_poll_method", "fork_delay", "log_engine_data", "version_table",
                       "dns_cache_file", "shm_mem_debug", "statistics", "xavp_via_params",
                       "uri_host_extra_chars", "hdr_name_extra_chars", "tls_threads_mode",
                       "local_route", "event_route_callback", "kemi.reply_route_callback",
                       "kemi.received_route_callback", "kemi.pre_routing_callback", "mcast",
                       "mcast_loopback", "mcast_ttl", "socket", "tcp_children_max", "maxsndbuffer",
                       "async_usleep", "async_nonblock", "async_workers_group", "server_id",
                       "default_value", "ksr_tcp_rd_buf_size"]
        for n in ints where t[n] == nil { t[n] = .any }
        for n in bools where t[n] == nil { t[n] = .any }
        for n in strings where t[n] == nil { t[n] = .any }
        return t
    }()

    /// Applies one `name = value` line to `config`.
    static func apply(_ g: ScriptGlobalAssign, to config: inout ScriptCoreConfig) throws(ScriptError) {
        let (value, desc) = ScriptCoreValue.parse(g.rawValue)
        if g.name.contains("."), !g.name.hasPrefix("kemi.") {
            let dot = g.name.firstIndex(of: ".") ?? g.name.startIndex
            config.customVars.append(ScriptCustomVar(group: String(g.name[..<dot]),
                                                     name: String(g.name[g.name.index(after: dot)...]),
                                                     value: value, description: desc))
            return
        }
        guard let kind = table[g.name] else {
            throw ScriptError("unknown core parameter '\(g.name)'", at: g.location)
        }
        do {
            try assign(g.name, kind, value, to: &config)
        } catch {
            throw ScriptError("\(error.message) for core parameter '\(g.name)'", at: g.valueLocation)
        }
        config.values[g.name] = value
    }

    private static func int(_ v: ScriptCoreValue) throws(ScriptCoreParamError) -> Int {
        guard let i = v.intValue else { throw ScriptCoreParamError("expected an integer, found \(v)") }
        return i
    }

    private static func bool(_ v: ScriptCoreValue) throws(ScriptCoreParamError) -> Bool {
        guard let i = v.intValue else { throw ScriptCoreParamError("expected yes/no or a number, found \(v)") }
        return i != 0
    }

    private static func string(_ v: ScriptCoreValue) throws(ScriptCoreParamError) -> String {
        if case .bool = v { throw ScriptCoreParamError("expected a string, found \(v)") }
        return v.text
    }

    // swiftlint:disable:next cyclomatic_complexity
    private static func assign(_ name: String, _ kind: Kind, _ v: ScriptCoreValue,
                               to c: inout ScriptCoreConfig) throws(ScriptCoreParamError) {
        switch kind {
        case .int: _ = try int(v)
        case .bool: _ = try bool(v)
        case .string: _ = try string(v)
        case .listen, .alias, .any: break
        }
        switch name {
        case "debug": c.debug = try int(v)
        case "log_stderror": c.logStderror = try bool(v)
        case "log_facility": c.logFacility = v.text
        case "log_prefix": c.logPrefix = try string(v)
        case "log_name": c.logName = try string(v)
        case "children": c.children = try int(v)
        case "tcp_children": c.tcpChildren = try int(v)
        case "port":
            guard let p = UInt16(exactly: try int(v)), p > 0 else { throw ScriptCoreParamError("invalid port \(v)") }
            c.port = p
        case "fork": c.fork = try bool(v)
        case "mhomed": c.mhomed = try bool(v)
        case "auto_aliases": c.autoAliases = try bool(v)
        case "disable_tcp": c.disableTCP = try bool(v)
        case "enable_tls": c.enableTLS = try bool(v)
        case "tcp_accept_aliases": c.tcpAcceptAliases = try bool(v)
        case "tcp_connection_lifetime": c.tcpConnectionLifetime = try int(v)
        case "tcp_max_connections": c.tcpMaxConnections = try int(v)
        case "tcp_connect_timeout": c.tcpConnectTimeout = try int(v)
        case "tcp_send_timeout": c.tcpSendTimeout = try int(v)
        case "tcp_accept_no_cl": c.tcpAcceptNoCL = try bool(v)
        case "maxbuffer": c.maxBuffer = try int(v)
        case "server_header": c.serverHeader = try string(v)
        case "user_agent_header": c.userAgentHeader = try string(v)
        case "server_signature": c.serverSignature = try bool(v)
        case "memdbg": c.memdbg = try int(v)
        case "memlog": c.memlog = try int(v)
        case "dns": c.dns = try bool(v)
        case "rev_dns": c.revDNS = try bool(v)
        case "use_dns_cache": c.useDNSCache = try bool(v)
        case "sip_warning": c.sipWarning = try bool(v)
        case "udp_mtu": c.udpMTU = try int(v)
        case "max_while_loops": c.maxWhileLoops = try int(v)
        case "async_workers": c.asyncWorkers = try int(v)
        case "pv_buffer_size": c.pvBufferSize = try int(v)
        case "server_id": c.serverID = v.intValue ?? 0
        case "listen":
            // `build` applies listen lines last: the transports of a proto-less listen
            // depend on disable_tcp and its port on `port`, which may come later in the file
            c.listens += try ScriptAddressSyntax.listen(v.text, defaultPort: c.port, disableTCP: c.disableTCP)
        case "alias":
            var quoted = false
            let (proto, host, port) = try ScriptAddressSyntax.hostPort(v.text)
            // Kamailio 5.6 takes a quoted alias as one host name: "host:5999" then never
            // matches, while "host" matches like an unquoted alias (observed)
            if case .string = v, port != nil || proto != nil { quoted = true }
            c.aliases.append(ScriptAlias(proto: proto, host: host, port: port, quoted: quoted))
        default: break
        }
    }

    /// Builds the typed config from all global lines, in order. Listens are expanded after
    /// all lines are read because `disable_tcp` and `port` may come after `listen`.
    static func build(_ globals: [ScriptGlobalAssign]) throws(ScriptError) -> ScriptCoreConfig {
        var config = ScriptCoreConfig()
        var listenLines: [ScriptGlobalAssign] = []
        for g in globals {
            if g.name == "listen" {
                listenLines.append(g)
                config.values["listen"] = ScriptCoreValue.parse(g.rawValue).0
                continue
            }
            try apply(g, to: &config)
        }
        for g in listenLines { try apply(g, to: &config) }
        return config
    }
}
