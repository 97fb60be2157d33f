#if canImport(Glibc)
import Glibc
#endif

/// The configuration used when no `-f` is given: a loopback-only server that answers
/// OPTIONS, enforces Max-Forwards and message sanity, and answers everything else itself
/// (nothing is forwarded). It mirrors the probe profile of the bad-input corpus, so the
/// daemon started with no arguments is also the one the robustness tests exercise.
/// `kamailiod --cfg-print` prints it; copy it as a starting point for your own.
enum DefaultConfig {
    static let fileName = "<embedded default>"

    /// The command line's defines plus DEFAULT_DB_URL (unless given with -A): the database
    /// must outlive the process, so it goes to a state directory, never the runtime one.
    static func defines(_ opts: DaemonOptions) -> [String] {
        if opts.defines.contains(where: { $0 == "DEFAULT_DB_URL" || $0.hasPrefix("DEFAULT_DB_URL=") }) { return opts.defines }
        return opts.defines + ["DEFAULT_DB_URL=\"sqlite://\(stateDirectory(opts))/kamailiod.sqlite\""]
    }

    /// -w DIR, else $XDG_STATE_HOME/kamailiod, else $HOME/.local/state/kamailiod, created
    /// (mode 0700) when missing; /tmp/kamailiod-state-<uid> when there is no home.
    static func stateDirectory(_ opts: DaemonOptions) -> String {
        let env = { (name: String) -> String? in
            guard let v = getenv(name) else { return nil }
            let s = String(cString: v)
            return s.isEmpty ? nil : s
        }
        var dir: String
        if let w = opts.workingDirectory {
            dir = w
        } else if let state = env("XDG_STATE_HOME") {
            dir = state + "/kamailiod"
        } else if let home = env("HOME") {
            dir = home + "/.local/state/kamailiod"
        } else {
            dir = "/tmp/kamailiod-state-\(getuid())"
        }
        if !dir.hasPrefix("/") {
            var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buf, buf.count) != nil {
                dir = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + dir
            }
        }
        // Each missing level of the path, like mkdir -p.
        var path = ""
        for part in dir.split(separator: "/") {
            path += "/" + part
            _ = mkdir(path, 0o700)
        }
        return dir
    }

    static let text = """
    #!KAMAILIO
    #
    # kamailiod embedded default configuration (kamailiod --cfg-print shows it).
    # Loopback only; define DEFAULT_PORT (-A DEFAULT_PORT=5070) to move the port.

    #!ifndef DEFAULT_PORT
    #!define DEFAULT_PORT 5060
    #!endif
    # The daemon defines DEFAULT_DB_URL for this configuration: an SQLite file in -w DIR,
    # else $XDG_STATE_HOME/kamailiod, else ~/.local/state/kamailiod (created as needed).
    #!ifndef DEFAULT_DB_URL
    #!define DEFAULT_DB_URL "sqlite:///tmp/kamailiod.sqlite"
    #!endif

    debug=2
    log_stderror=no
    children=4
    tcp_children=2
    listen=udp:127.0.0.1:DEFAULT_PORT
    listen=tcp:127.0.0.1:DEFAULT_PORT
    auto_aliases=no
    tcp_connection_lifetime=60
    server_header="Server: kamailiod"

    loadmodule "sl.so"
    loadmodule "maxfwd.so"
    loadmodule "sanity.so"
    loadmodule "siputils.so"
    loadmodule "textops.so"
    loadmodule "xlog.so"
    loadmodule "ctl.so"
    loadmodule "jsonrpcs.so"
    loadmodule "usrloc.so"
    loadmodule "registrar.so"

    # control interfaces (kamcmd, kamctl, kamcli): relative names live in the runtime
    # directory, -Y DIR, else $XDG_RUNTIME_DIR/kamailiod, else /tmp/kamailiod-<uid>
    modparam("ctl", "binrpc", "unix:kamailio_ctl")
    modparam("jsonrpcs", "fifo_name", "kamailio_rpc.fifo")
    modparam("jsonrpcs", "dgram_socket", "kamailio_rpc.sock")

    # registrations are written through to SQLite (db_mode 1), so a restart or a crash
    # loses none; no authentication
    modparam("usrloc", "db_url", DEFAULT_DB_URL)
    modparam("usrloc", "db_mode", 1)
    modparam("usrloc", "timer_interval", 60)
    modparam("registrar", "method_filtering", 0)
    modparam("registrar", "max_expires", 3600)
    modparam("registrar", "min_expires", 60)

    request_route {
        # replies go back to where the request came from (RFC 3581), whatever the Via says
        force_rport();

        if (!mf_process_maxfwd_header("10")) {
            sl_send_reply("483", "Too Many Hops");
            exit;
        }
        # sanity_check() has already answered (400/420/...) when it fails
        if (!sanity_check()) {
            xlog("L_NOTICE", "sanity check failed: $rm from $si:$sp\\n");
            exit;
        }
        if (is_method("OPTIONS")) {
            sl_send_reply("200", "OK");
            exit;
        }
        # no transactions yet: an ACK is never answered, a CANCEL matches nothing
        if (is_method("ACK")) {
            exit;
        }
        if (is_method("CANCEL")) {
            sl_send_reply("481", "Call/Transaction Does Not Exist");
            exit;
        }
        # no dialogs are kept here
        if (has_totag()) {
            sl_send_reply("481", "Call/Transaction Does Not Exist");
            exit;
        }
        # save() sends its reply itself, error replies included (RFC 3261 10.3)
        if (is_method("REGISTER")) {
            save("location");
            exit;
        }
        if (is_method("INVITE|REGISTER|MESSAGE|SUBSCRIBE|NOTIFY|PUBLISH|REFER|INFO|UPDATE|PRACK|BYE")) {
            sl_send_reply("404", "Not Found");
            exit;
        }
        sl_send_reply("501", "Not Implemented");
        exit;
    }

    # nothing is proxied, so no reply belongs to us
    reply_route {
        drop;
    }

    """
}
