#if canImport(Glibc)
import Glibc
#endif
import Control
import Foundation
import SIPTransport
import Shared

/// The core's RPC methods and the small ones of ctl, corex, jsonrpcs and sl, with the
/// names, parameters and reply shapes of Kamailio 5.6.3 (spec §8, `rpc-examples/`).
enum ControlMethods {
    /// `core.version`: note the trailing blank, as Kamailio writes it.
    static var versionString: String { "\(ProductVersion.serverName) \(ProductVersion.version) (\(machine)/linux) " }

    /// The CPU architecture (`x86_64`).
    static var machine: String {
        var u = utsname()
        uname(&u)
        return withUnsafeBytes(of: &u.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// What we are built with, in Kamailio's compile-flags style (`core.flags`).
    static let flags = "USE_TCP, DISABLE_NAGLE, USE_DNS_CACHE, USE_NAPTR, SWIFT_CONCURRENCY"

    /// `ctime` text without its newline: `Fri Nov 27 13:49:49 2026`.
    static func ctime(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var buffer = [CChar](repeating: 0, count: 32)
        guard ctime_r(&t, &buffer) != nil else { return "" }
        let bytes = buffer.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whole seconds since start-up.
    static func uptimeSeconds(_ env: ControlEnvironment) -> Int { Int(Date().timeIntervalSince(env.startTime)) }

    /// `core.*`.
    static func core(_ env: ControlEnvironment) -> [RPCMethod] {
        var list = [
            RPCMethod("core.uptime", help: "Returns uptime of SIP server.") { call in
                call.add(.object(["now": .string(ctime(Date())), "up_since": .string(ctime(env.startTime)),
                                  "uptime": .int(uptimeSeconds(env))]))
            },
            RPCMethod("core.version", help: "Returns the version string of the server.") { call in
                call.add(.string(versionString))
            },
            RPCMethod("core.flags", help: "Returns the compile flags.") { call in call.add(.string(flags)) },
            RPCMethod("core.info", help: "Verbose info, including version number, compile flags, compiler,repository hash a.s.o.") { call in
                call.add(.object(["version": .string("\(ProductVersion.serverName) \(ProductVersion.version)"),
                                  "id": "unknown ", "compiler": .string(compiler), "compiled": "", "flags": .string(flags)]))
            },
            RPCMethod("core.runinfo", help: "Runtime info - binary name, version, uptime, ...") { call in
                let up = uptimeSeconds(env)
                call.add(.object([
                    "name": .string(ProductVersion.serverName), "version": .string(ProductVersion.version),
                    "sourceid": "unknown ", "compiler": .string(compiler), "compiled": "",
                    "time_now": .string(ctime(Date())), "time_started": .string(ctime(env.startTime)),
                    "uptime_secs": .int(up),
                    "utime_days": .string("\(up / 86400)d \(up % 86400 / 3600)h \(up % 3600 / 60)m \(up % 60)s"),
                ]))
            },
            RPCMethod("core.ps", help: "Returns the description of running processes.", returnsArray: true) { call in
                for p in processes(env) {
                    call.add(.int(p.pid))
                    call.add(.string(p.description))
                }
            },
            RPCMethod("core.psx", help: "Returns the detailed description of running processes.", returnsArray: true) { call in
                for (i, p) in processes(env).enumerated() {
                    call.add(.object(["IDX": .int(i), "PID": .int(p.pid), "DSC": .string(p.description)]))
                }
            },
            RPCMethod("core.pwd", help: "Returns the working directory of server.", returnsArray: true) { call in
                call.add(.string(FileManager.default.currentDirectoryPath))
            },
            RPCMethod("core.arg", help: "Returns the list of command line arguments used on startup.",
                      returnsArray: true) { call in
                for a in env.arguments { call.add(.string(a)) }
            },
            RPCMethod("core.echo", help: "Returns back its parameters.", signature: "[value:s] ...",
                      returnsArray: true) { call in
                // Numbers are converted to text; scanning stops at the first other value.
                while let s = call.optionalString(convertNumbers: true) { call.add(.string(s)) }
            },
            RPCMethod("core.printi", help: "Returns the integers given as parameters.", signature: "[value:i] ...",
                      returnsArray: true) { call in
                while let i = call.optionalInt() { call.add(.int(i)) }
            },
            RPCMethod("core.prints", help: "Returns the strings given as parameters.", signature: "[value:s] ...",
                      returnsArray: true) { call in
                while let s = call.optionalString() { call.add(.string(s)) }
            },
            RPCMethod("core.modules", help: "List loaded modules", returnsArray: true) { call in
                // Kamailio lists the most recently loaded module first.
                for m in env.script.modules.reversed() where !m.isCore { call.add(.string(m.name)) }
            },
            RPCMethod("core.sockets_list", help: "List local SIP server listen sockets") { call in
                call.add(.array(listeners(env).map { l in
                    .object(["socket": .object([
                        "proto": .string(l.proto.name), "address": .string(l.spec.host.isEmpty ? l.address.ipString : l.spec.host),
                        "ipaddress": .string(l.address.ipString), "port": .string(String(l.address.port)),
                        "mcast": "no", "mhomed": .string(env.script.core.mhomed ? "yes" : "no"), "virtual": "no",
                    ])])
                }))
            },
            RPCMethod("core.aliases_list", help: "List local SIP server host aliases") { call in
                let aliases = env.script.core.aliases.map { a -> RPCValue in
                    .object(["alias": .object(["proto": .string(a.proto?.name ?? "*"), "address": .string(a.host),
                                               "port": .int(Int(a.port ?? 0))])])
                }
                call.add(.object(["myself_callbacks": "no", "aliases": .array(aliases)]))
            },
            RPCMethod("core.tcp_info", help: "Returns tcp related info.") { call in
                let options = env.transport?.options
                let max = options?.tcpMaxConnections ?? env.script.core.tcpMaxConnections
                call.add(.object([
                    "readers": .int(options?.effectiveTCPChildren ?? 0), "max_connections": .int(max),
                    "max_tls_connections": .int(max),
                    "opened_connections": .int(env.transport?.statistics.snapshot().tcpConnectionsCurrent ?? 0),
                    "opened_tls_connections": .int(env.transport?.connections().filter { $0.proto == .tls }.count ?? 0),
                    "write_queued_bytes": 0,
                ]))
            },
            RPCMethod("core.tcp_list", help: "Returns tcp connections details.", returnsArray: true) { call in
                let lifetime = Int(env.transport?.options.tcpConnectionLifetime ?? 120)
                for c in env.transport?.connections() ?? [] where !c.isClosed {
                    call.add(.object([
                        "id": .int(Int(truncatingIfNeeded: c.id)), "type": .string(c.proto.name.uppercased()),
                        "state": "CONN_OK", "timeout": .int(max(0, lifetime - Int(c.idleSeconds))),
                        "lifetime": .int(lifetime), "ref_count": 1,
                        "src_ip": .string(c.peer.ipString), "src_port": .int(Int(c.peer.port)),
                        "dst_ip": .string(c.local.ipString), "dst_port": .int(Int(c.local.port)),
                    ]))
                }
            },
            RPCMethod("core.shmmem", help: "Returns shared memory info. It has an optional parameter that specifies the measuring unit: b - bytes (default), k or kb, m or mb, g or gb. Note: when using something different from bytes, the value is truncated.",
                      signature: "[unit:s]") { call throws(RPCFault) in
                let unit = call.optionalString()?.lowercased() ?? "b"
                let shifts: [String: Int] = ["b": 0, "k": 10, "kb": 10, "m": 20, "mb": 20, "g": 30, "gb": 30]
                guard let shift = shifts[unit] else { throw RPCFault(code: 500, message: "bad param, (use b|k|m|g)") }
                let m = ControlMemory.current()
                call.add(.object(["total": .int(m.total >> shift), "free": .int(m.free >> shift),
                                  "used": .int(m.used >> shift), "real_used": .int(m.realUsed >> shift),
                                  "max_used": .int(m.maxUsed >> shift), "fragments": .int(m.fragments)]))
            },
        ]
        list.append(RPCMethod("core.psa", help: "Return all the attributes of running processes.",
                              returnsArray: true) { call in
            for (i, p) in processes(env).enumerated() {
                call.add(.object(["index": .int(i), "pid": .int(p.pid), "status": .int(i == 0 ? 0 : 1),
                                  "rank": .int(i), "description": .string(p.description)]))
            }
        })
        return list
    }

    /// The compiler, for `core.info` and `core.runinfo`.
    static var compiler: String {
        #if compiler(>=6.3)
        "swift 6.3"
        #else
        "swift 6"
        #endif
    }

    /// The SIP listeners (none before the transport started).
    static func listeners(_ env: ControlEnvironment) -> [ListenerInfo] { env.transport?.listeners ?? [] }

    /// Our threads in the shape of Kamailio's process table. kamailiod is one process:
    /// the SIP workers show their kernel thread id (so the debugger can name one), the
    /// other entries the process id; `worker` is the worker index of a SIP worker.
    static func processes(_ env: ControlEnvironment) -> [(pid: Int, description: String, worker: Int?)] {
        let pid = Int(getpid())
        let ids = env.transport?.threadIdentities
        func workerPID(_ w: Int) -> Int { ids?.identity(worker: w)?.tid ?? pid }
        var list: [(pid: Int, description: String, worker: Int?)] = [(pid, "main process - attendant", nil)]
        let children = env.transport?.options.children ?? env.script.core.children
        var worker = 0
        for l in listeners(env) where l.proto == .udp {
            for c in 0..<children {
                list.append((workerPID(worker), "udp receiver child=\(c) sock=\(l.address)", worker))
                worker += 1
            }
        }
        list.append((pid, "timer", nil))
        for e in env.endpoints {
            switch (e.proto, e.transport) {
            case ("jsonrpc", "fifo"): list.append((pid, "JSONRPCS FIFO", nil))
            case ("jsonrpc", _): list.append((pid, "JSONRPCS DATAGRAM", nil))
            default: break
            }
        }
        if env.endpoints.contains(where: { $0.proto == "binrpc" }) { list.append((pid, "ctl handler", nil)) }
        if listeners(env).contains(where: { $0.proto.isStream }) {
            for c in 0..<(env.transport?.options.effectiveTCPChildren ?? 0) {
                list.append((workerPID(worker + c), "tcp receiver (generic) child=\(c)", worker + c))
            }
            list.append((pid, "tcp main process", nil))
        }
        return list
    }

    /// `ctl.*`: binrpc only, as in Kamailio (JSON-RPC gets 606, or nothing for listen).
    static func ctl(_ env: ControlEnvironment) -> [RPCMethod] {
        [
            RPCMethod("ctl.listen", help: "list ctl listen sockets") { call in
                guard call.transport == .binrpc else { return }
                for e in env.endpoints where e.proto == "binrpc" {
                    for s in [e.proto, e.transport, e.address, e.port] { call.add(.string(s)) }
                }
            },
            RPCMethod("ctl.who", help: "list open connections") { call throws(RPCFault) in
                guard call.transport == .binrpc else { throw RPCFault.binrpcOnly }
                for server in env.binrpcServers {
                    for c in server.connections() {
                        let e = c.endpoint
                        for s in [e.proto, e.transport, c.peerAddress, c.peerPort, e.address, e.port] { call.add(.string(s)) }
                    }
                }
            },
            RPCMethod("ctl.connections", help: "returns number of open connections") { call throws(RPCFault) in
                guard call.transport == .binrpc else { throw RPCFault.binrpcOnly }
                call.add(.int(env.binrpcServers.reduce(0) { $0 + $1.connections().count }))
            },
        ]
    }

    /// `corex.list_sockets`, `corex.list_aliases`.
    static func corex(_ env: ControlEnvironment) -> [RPCMethod] {
        [
            RPCMethod("corex.list_sockets", help: "List listening sockets", returnsArray: true) { call in
                for l in listeners(env) {
                    call.add(.object([
                        "PROTO": .string(l.proto.name), "NAME": .string(l.spec.host.isEmpty ? l.address.ipString : l.spec.host),
                        "ADDRLIST": .object(["ADDR": .string(l.address.ipString)]), "PORT": .string(String(l.address.port)),
                        "MCAST": "no", "MHOMED": "no", "VIRTUAL": "no", "SOCKNAME": "-",
                        "ADVERTISE": .string(l.spec.advertiseHost.map { "\($0):\(l.advertisedPort)" } ?? "-"),
                    ]))
                }
            },
            RPCMethod("corex.list_aliases", help: "List socket aliases", returnsArray: true) { call in
                for a in env.script.core.aliases {
                    call.add(.object(["PROTO": .string(a.proto?.name ?? "*"), "ADDR": .string(a.host),
                                      "PORT": .int(Int(a.port ?? 0))]))
                }
            },
        ]
    }

    /// `jsonrpc.echo`: parameters back, with their JSON types.
    static let jsonrpcEcho = RPCMethod("jsonrpc.echo", help: "Sample echo command", signature: "[value] ...",
                                       returnsArray: true) { call in
        for p in call.params { call.add(p) }
    }

    /// The reply codes sl counts one by one (the rest go to their class).
    static let slCodes = SLStatistics.codes

    /// `sl.stats`: counters by reply code, as the `sl:` statistics (see `ControlStatisticsFeed`).
    static func slStats(_ sl: SLStatistics) -> [RPCMethod] {
        [RPCMethod("sl.stats", help: "Print reply statistics.") { call in
            let byClass = sl.repliesByClass
            var members: [RPCMember] = []
            for code in slCodes {
                if code == 300 { members.append(RPCMember("2xx", .int(Int(truncatingIfNeeded: byClass[2])))) }
                if code == 400 { members.append(RPCMember("3xx", .int(Int(truncatingIfNeeded: byClass[3])))) }
                if code == 500 { members.append(RPCMember("4xx", .int(Int(truncatingIfNeeded: byClass[4])))) }
                members.append(RPCMember(String(code), .int(Int(truncatingIfNeeded: sl.replies(code: code)))))
            }
            members.append(RPCMember("5xx", .int(Int(truncatingIfNeeded: byClass[5]))))
            members.append(RPCMember("6xx", .int(Int(truncatingIfNeeded: byClass[6]))))
            members.append(RPCMember("xxx", 0))
            call.add(.struct(members))
        }]
    }
}
