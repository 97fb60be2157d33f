/// The daemon's command line, following Kamailio's option letters where it has them
/// (`kamailio -h`), so scripts and harnesses that start Kamailio start us unchanged.
struct DaemonOptions: Equatable {
    /// `-f FILE`; nil means the embedded default configuration.
    var configFile: String?
    /// `-c`: check the configuration and exit.
    var checkOnly = false
    /// Number of `-D` flags: 0 daemonizes, 1 or more stays in the foreground.
    var foregroundLevel = 0
    /// `-E`: log to stderr (overrides `log_stderror`).
    var logToStderr = false
    /// `-e`: colour log lines (with `-E`).
    var logColors = false
    /// `-l ADDR`, repeatable; replaces the config's `listen` lines.
    var listen: [String] = []
    /// `-n N`: workers per UDP socket (overrides `children`).
    var children: Int?
    /// `-N N`: TCP workers (overrides `tcp_children`).
    var tcpChildren: Int?
    /// `-A NAME[=VAL]`, in order.
    var defines: [String] = []
    /// `-w DIR`: working directory.
    var workingDirectory: String?
    /// `-Y DIR`: runtime directory (control sockets, FIFOs).
    var runtimeDirectory: String?
    /// `-P FILE`: pid file.
    var pidFile: String?
    /// `-d` count and `--debug=N`.
    var debugIncrements = 0
    var debugLevel: Int?
    /// `-b N`: upper bound for the UDP receive buffer (overrides `maxbuffer`).
    var maxBuffer: Int?
    /// `-T`: disable TCP.
    var disableTCP = false
    /// `--cfg-print`: print the preprocessed configuration and exit.
    var printConfig = false
    /// `--init-db URL`: create a fresh database (Kamailio's tables) at URL and exit.
    var initDB: String?
    /// `-v`/`-V`/`--version`.
    var showVersion = false
    /// `-h`/`--help`.
    var showHelp = false
    /// Options accepted for compatibility and ignored (memory sizes, allocators, ...), for the log.
    var ignored: [String] = []
}

/// A command-line error: the message names the option and what was expected.
struct CommandLineError: Error, CustomStringConvertible {
    let description: String
}

enum DaemonCommandLine {
    /// Options that take a value, and options we accept but ignore (with value or without).
    private static let ignoredWithValue: Set<Character> = ["m", "M", "x", "X", "L", "u", "g", "t", "G", "O", "W", "Q", "a"]
    private static let ignoredFlags: Set<Character> = ["I", "K", "r", "R", "S"]

    /// Parses `args` (without the program name). Short options may be clustered (`-DD`, `-DDE`)
    /// and their value may be attached (`-n4`) or the next argument (`-n 4`), as getopt does.
    static func parse(_ args: [String]) throws -> DaemonOptions {
        var o = DaemonOptions()
        var i = 0
        func value(_ opt: Character, _ rest: Substring) throws -> String {
            if !rest.isEmpty { return String(rest) }
            i += 1
            guard i < args.count else { throw CommandLineError(description: "option -\(opt) requires a value") }
            return args[i]
        }
        func number(_ opt: Character, _ s: String) throws -> Int {
            guard let n = Int(s), n >= 0 else {
                throw CommandLineError(description: "option -\(opt) expects a non-negative number, got '\(s)'")
            }
            return n
        }
        while i < args.count {
            let arg = args[i]
            if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name = body.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
                let val = body.contains("=") ? String(body.split(separator: "=", maxSplits: 1)[1]) : nil
                switch name {
                case "help": o.showHelp = true
                case "version": o.showVersion = true
                case "cfg-print": o.printConfig = true
                case "init-db":
                    if let val { o.initDB = val } else {
                        i += 1
                        guard i < args.count else { throw CommandLineError(description: "--init-db requires a db_url (sqlite:///path)") }
                        o.initDB = args[i]
                    }
                case "debug":
                    guard let v = val, let n = Int(v) else { throw CommandLineError(description: "--debug expects a number, e.g. --debug=3") }
                    o.debugLevel = n
                case "alias", "atexit", "server-id", "subst", "substdef", "substdefs", "loadmodule", "modparam", "log-engine":
                    o.ignored.append(arg)
                default:
                    throw CommandLineError(description: "unknown option '\(arg)' (see -h)")
                }
                i += 1
                continue
            }
            guard arg.hasPrefix("-"), arg.count > 1 else {
                throw CommandLineError(description: "unexpected argument '\(arg)' (see -h)")
            }
            var rest = arg.dropFirst()
            while let c = rest.first {
                rest = rest.dropFirst()
                switch c {
                case "f": o.configFile = try value(c, rest); rest = ""
                case "c": o.checkOnly = true
                case "D": o.foregroundLevel += 1
                case "E": o.logToStderr = true
                case "e": o.logColors = true
                case "l": o.listen.append(try value(c, rest)); rest = ""
                case "n": o.children = try number(c, try value(c, rest)); rest = ""
                case "N": o.tcpChildren = try number(c, try value(c, rest)); rest = ""
                case "A": o.defines.append(try value(c, rest)); rest = ""
                case "w": o.workingDirectory = try value(c, rest); rest = ""
                case "Y": o.runtimeDirectory = try value(c, rest); rest = ""
                case "P": o.pidFile = try value(c, rest); rest = ""
                case "b": o.maxBuffer = try number(c, try value(c, rest)); rest = ""
                case "d": o.debugIncrements += 1
                case "T": o.disableTCP = true
                case "v", "V": o.showVersion = true
                case "h": o.showHelp = true
                default:
                    if ignoredWithValue.contains(c) {
                        o.ignored.append("-\(c) \(try value(c, rest))"); rest = ""
                    } else if ignoredFlags.contains(c) {
                        o.ignored.append("-\(c)")
                    } else {
                        throw CommandLineError(description: "unknown option '-\(c)' (see -h)")
                    }
                }
            }
            i += 1
        }
        return o
    }

    /// `-h` text; every option here is also in man/kamailiod.8.
    static let usage = """
    Usage: kamailiod [options]
    Options:
        -f FILE      Configuration file (default: the embedded configuration,
                     see --cfg-print)
        -c           Check the configuration and exit (0 valid; otherwise
                     file:line:col: message on stderr and a non-zero status)
        --cfg-print  Print the configuration after preprocessing and exit
        --init-db URL  Create Kamailio's tables (version, subscriber, location,
                     location_attrs) in the SQLite database URL
                     (sqlite:///path/to/file.db) when missing, and exit
        -D           Stay in the foreground (-DD: the same; Kamailio
                     compatible). Without -D the daemon detaches.
        -E           Log to stderr
        -e           Colour log lines (with -E)
        -l ADDR      Listen on ADDR ([proto:]addr[:port][/advaddr[:port]]);
                     repeatable; replaces the configuration's listen lines
        -n N         Worker threads per UDP socket (overrides children)
        -N N         TCP worker threads (overrides tcp_children)
        -A NAME[=V]  Preprocessor define (-A WITH_AUTH, -A 'X=1', -A 'S="str"')
        -w DIR       Working directory
        -Y DIR       Runtime directory (control sockets, FIFOs)
        -P FILE      Write the process id to FILE
        -d           Raise the log level by one (repeatable)
        --debug=N    Set the log level (-5..3, as debug=)
        -b N         Upper bound of the UDP receive buffer (as maxbuffer=)
        -T           Disable TCP
        -v, -V       Print the version and exit
        -h, --help   This help
    Accepted for compatibility and ignored: -m -M -x -X -L -u -g -t -G -O -W -Q -a
        -I -K -r -R -S --alias --atexit --server-id --subst --substdef
        --substdefs --loadmodule --modparam --log-engine
    """
}
