/// The configuration used when no `-f` is given: a loopback-only server that answers
/// OPTIONS, enforces Max-Forwards and message sanity, and answers everything else itself
/// (nothing is forwarded). It mirrors the probe profile of the bad-input corpus, so the
/// daemon started with no arguments is also the one the robustness tests exercise.
/// `kamailiod --cfg-print` prints it; copy it as a starting point for your own.
enum DefaultConfig {
    static let fileName = "<embedded default>"

    static let text = """
    #!KAMAILIO
    #
    # kamailiod embedded default configuration (kamailiod --cfg-print shows it).
    # Loopback only; define DEFAULT_PORT (-A DEFAULT_PORT=5070) to move the port.

    #!ifndef DEFAULT_PORT
    #!define DEFAULT_PORT 5060
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

    # registrations live in memory only (db_mode 0); no authentication
    modparam("usrloc", "db_mode", 0)
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
