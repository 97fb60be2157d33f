import Glibc
import Shared

/// The command line.
struct AppOptions: Sendable {
    /// What to do.
    enum Mode: Equatable, Sendable {
        /// The interactive console.
        case console
        /// `-h`.
        case help
        /// `-V`.
        case version
        /// `rpc METHOD ARGS…` or `-x 'METHOD ARGS'`.
        case rpc(method: String, params: [RPCValue])
        /// `dump transactions|dialogs|registrations|statistics`.
        case dump(String)
    }

    /// What to do.
    var mode: Mode = .console
    /// `-s`.
    var address: RPCAddress = RPCAddress.defaultControlSocket
    /// `-i` seconds.
    var interval: Double = 1
    /// `--json`.
    var json = false
    /// `NO_COLOR` set (non-empty) or `--no-color`.
    var noColor = false
    /// History file (`$KAMCON_HISTORY`, else `~/.kamcon_history`).
    var historyFile: String?
    /// Screen to start on (`-S NAME`).
    var startScreen: AppScreen = .overview
    /// Datagram addresses speak binrpc with `-b` (kamcmd style) instead of JSON-RPC.
    var datagramBinrpc = false

    /// Where a control socket is looked for without `-s`: kamailiod's embedded default
    /// (`$XDG_RUNTIME_DIR/kamailiod`, else `/tmp/kamailiod-<uid>`), then Kamailio's
    /// `/run/kamailio`. The first that exists wins; if none does, kamailiod's default is
    /// used (the daemon may be about to start) and kamcon keeps trying to attach.
    static func defaultAddress(env: [String: String], exists: (String) -> Bool) -> RPCAddress {
        var candidates: [String] = []
        if let xdg = env["XDG_RUNTIME_DIR"], !xdg.isEmpty { candidates.append(xdg + "/kamailiod/kamailio_ctl") }
        candidates.append("/tmp/kamailiod-\(getuid())/kamailio_ctl")
        candidates.append("/run/kamailio/kamailio_ctl")
        let path = candidates.first(where: exists) ?? candidates[0]
        return .unixStream(path: path)
    }

    /// Usage text.
    static let usage = """
    Usage: kamcon [options]                      the interactive console
           kamcon [options] rpc METHOD [ARGS...]  call one method, print the reply
           kamcon [options] -x 'METHOD ARGS...'   the same, as one string
           kamcon [options] dump transactions|dialogs|registrations|statistics

    Options:
      -s ADDRESS   control socket: unix:/path (binrpc; default: kamailiod's socket in
                   $XDG_RUNTIME_DIR/kamailiod or /tmp/kamailiod-UID, else Kamailio's
                   /run/kamailio/kamailio_ctl, whichever exists),
                   fifo:/path (JSON-RPC via a reply FIFO), dgram:/path or
                   udp:127.0.0.1:PORT (JSON-RPC), tcp:HOST:PORT (binrpc)
      -i SECONDS   refresh interval (default 1; fractions allowed)
      -b           speak binrpc on dgram:/udp: addresses (ctl's datagram listeners)
      -S SCREEN    start on overview, transactions, dialogs, registrations,
                   statistics or command
      --json       rpc/dump: print JSON instead of kamcmd-style text
      --no-color   monochrome (also when NO_COLOR is set)
      -V           print the version and exit
      -h           this help

    Arguments are typed as kamcmd does: integers and decimals are numbers, s:TEXT forces
    a string. rpc exits 1 on a fault, 2 when the server cannot be reached.
    Keys: F1 or ? inside the console lists them all; see kamcon(1).
    """

    /// Why the command line was refused.
    struct UsageError: Error, Equatable {
        /// The message.
        var message: String
    }

    /// Parses `args` (without the program name) with the environment `env`.
    static func parse(_ args: [String], env: [String: String]) throws(UsageError) -> AppOptions {
        var o = AppOptions()
        o.address = defaultAddress(env: env, exists: { access($0, F_OK) == 0 })
        o.noColor = !(env["NO_COLOR"] ?? "").isEmpty
        o.historyFile = env["KAMCON_HISTORY"] ?? env["HOME"].map { $0 + "/.kamcon_history" }
        var rest: [String] = []
        var i = 0
        func value(_ flag: String) throws(UsageError) -> String {
            i += 1
            guard i < args.count else { throw UsageError(message: "\(flag) needs a value") }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            if !rest.isEmpty {
                // After the subcommand everything is its arguments, except --json.
                if a == "--json" { o.json = true } else { rest.append(a) }
                i += 1
                continue
            }
            switch a {
            case "-h", "--help": o.mode = .help
            case "-V", "-v", "--version": o.mode = .version
            case "-s":
                let text = try value(a)
                do { o.address = try RPCAddress(parsing: text) } catch { throw UsageError(message: error.description) }
            case "-i":
                let text = try value(a)
                guard let d = Double(text), d > 0, d <= 3600 else { throw UsageError(message: "-i wants seconds > 0, got \(text)") }
                o.interval = d
            case "-x":
                let text = try value(a)
                guard let (m, p) = ModelCommandPrompt.parse(text) else { throw UsageError(message: "-x needs a method") }
                o.mode = .rpc(method: m, params: p)
            case "-S":
                let text = try value(a)
                guard let s = AppScreen.allCases.first(where: { $0.title.lowercased() == text.lowercased() }) else {
                    throw UsageError(message: "unknown screen \(text)")
                }
                o.startScreen = s
            case "-b": o.datagramBinrpc = true
            case "--json": o.json = true
            case "--no-color": o.noColor = true
            default:
                if a.hasPrefix("-") { throw UsageError(message: "unknown option \(a)") }
                rest.append(a)
            }
            i += 1
        }
        if let sub = rest.first {
            switch sub {
            case "rpc":
                guard rest.count >= 2 else { throw UsageError(message: "rpc needs a method name") }
                o.mode = .rpc(method: rest[1], params: rest.dropFirst(2).map { RPCValue(kamcmdArgument: $0) })
            case "dump":
                let what = ["transactions", "dialogs", "registrations", "statistics"]
                guard rest.count == 2, what.contains(rest[1]) else {
                    throw UsageError(message: "dump wants one of: \(what.joined(separator: ", "))")
                }
                o.mode = .dump(rest[1])
            default:
                throw UsageError(message: "unknown command \(sub)")
            }
        }
        return o
    }
}
