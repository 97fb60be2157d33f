import Control
import ScriptEngine
import Synchronization

/// A module that exports RPC methods (Kamailio's `rpc_export_t` list). The daemon asks
/// every loaded module that conforms and registers the methods before the control servers
/// start; later module issues (tm, dialog, htable, ...) adopt this to add theirs.
public protocol RPCMethodProvider {
    /// The module's methods.
    func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod]
}

/// Reads a permission modparam: an integer (the script lexer reads `0600` as octal) or a
/// string such as `"0660"`, read as octal like Kamailio's mode parameters.
func controlMode(_ v: ScriptValue) throws(ScriptFixupError) -> UInt32 {
    switch v {
    case .int(let i):
        guard (0...0o7777).contains(i) else { throw ScriptFixupError("expected a file mode such as 0660") }
        return UInt32(i)
    default:
        guard let m = UInt32(v.stringValue, radix: 8), m <= 0o7777 else {
            throw ScriptFixupError("expected a file mode such as 0660")
        }
        return m
    }
}

/// `ctl`: the binrpc control socket kamcmd talks to. The servers are opened by the daemon
/// (App/AppControl.swift) from these settings once the script is loaded.
public final class CtlModule: ScriptModule, RPCMethodProvider {
    /// The modparams, as set by the script.
    public struct Settings: Sendable {
        /// `binrpc` addresses in file order; empty means Kamailio's default socket.
        public var binrpc: [String] = []
        /// `mode`: permission bits of created socket files (Kamailio: 0600).
        public var mode: UInt32 = 0o600
        /// `user` owning the socket files.
        public var user: String?
        /// `group` owning the socket files.
        public var group: String?
    }

    public let name = "ctl"
    private let state = Mutex(Settings())

    /// A module with Kamailio's defaults.
    public init() {}

    /// The current settings.
    public var settings: Settings { state.withLock { $0 } }

    public var parameters: [ScriptModuleParameter] {
        [
            ScriptModuleParameter("binrpc", .string) { [self] v in state.withLock { $0.binrpc.append(v.stringValue) } },
            ScriptModuleParameter("mode", .int) { [self] v throws(ScriptFixupError) in
                let m = try controlMode(v)
                state.withLock { $0.mode = m }
            },
            ScriptModuleParameter("user", .string) { [self] v in state.withLock { $0.user = v.stringValue } },
            ScriptModuleParameter("group", .string) { [self] v in state.withLock { $0.group = v.stringValue } },
            // Accepted so Kamailio configs load; our buffers grow as needed.
            ScriptModuleParameter("binrpc_max_body_size", .int) { _ in },
            ScriptModuleParameter("binrpc_struct_max_body_size", .int) { _ in },
            ScriptModuleParameter("binrpc_buffer_size", .int) { _ in },
            ScriptModuleParameter("autoconversion", .int) { _ in },
            // The old text FIFO protocol: no 5.6 tool uses it, so it is not served.
            ScriptModuleParameter("fifo", .string) { _ in },
        ]
    }

    public let functions: [ScriptFunction] = []

    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        ControlMethods.ctl(environment)
    }
}

/// `jsonrpcs`: JSON-RPC over the FIFO (kamctl) and the datagram socket (kamcli).
public final class JSONRPCSModule: ScriptModule, RPCMethodProvider {
    /// The modparams, as set by the script.
    public struct Settings: Sendable {
        /// `transport`: 1 HTTP (not served), 2 FIFO, 4 datagram; 0 = all. Default 6.
        public var transport = 6
        /// `fifo_name`: server FIFO; relative names go to the runtime directory.
        public var fifoName = "kamailio_rpc.fifo"
        /// `fifo_mode`.
        public var fifoMode: UInt32 = 0o660
        /// `fifo_user`, `fifo_group`.
        public var fifoUser: String?, fifoGroup: String?
        /// `fifo_reply_dir`: where reply FIFOs are looked up.
        public var fifoReplyDir = "/tmp/"
        /// `dgram_socket`: Unix path (relative → runtime directory) or `udp:ip:port`.
        public var dgramSocket = "kamailio_rpc.sock"
        /// `dgram_mode`.
        public var dgramMode: UInt32 = 0o660
        /// `dgram_user`, `dgram_group`.
        public var dgramUser: String?, dgramGroup: String?
        /// `dgram_timeout`: reply send timeout in milliseconds.
        public var dgramTimeout = 2000
        /// `pretty_format`: Kamailio 5.6.3's default is on.
        public var prettyFormat = true

        /// True when the FIFO transport is enabled.
        public var fifoEnabled: Bool { transport == 0 || transport & 2 != 0 }
        /// True when the datagram transport is enabled.
        public var datagramEnabled: Bool { transport == 0 || transport & 4 != 0 }
    }

    public let name = "jsonrpcs"
    private let state = Mutex(Settings())

    /// A module with Kamailio's defaults.
    public init() {}

    /// The current settings.
    public var settings: Settings { state.withLock { $0 } }

    public var parameters: [ScriptModuleParameter] {
        func str(_ n: String, _ set: @escaping @Sendable (inout Settings, String) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(n, .string) { [self] v in state.withLock { set(&$0, v.stringValue) } }
        }
        func mode(_ n: String, _ set: @escaping @Sendable (inout Settings, UInt32) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(n, .int) { [self] v throws(ScriptFixupError) in
                let m = try controlMode(v)
                state.withLock { set(&$0, m) }
            }
        }
        return [
            ScriptModuleParameter("transport", .int) { [self] v throws(ScriptFixupError) in
                guard (0...7).contains(v.intValue) else { throw ScriptFixupError("transport must be a bit mask 0-7") }
                state.withLock { $0.transport = Int(v.intValue) }
            },
            str("fifo_name") { $0.fifoName = $1 },
            mode("fifo_mode") { $0.fifoMode = $1 },
            str("fifo_user") { $0.fifoUser = $1 },
            str("fifo_group") { $0.fifoGroup = $1 },
            str("fifo_reply_dir") { $0.fifoReplyDir = $1 },
            str("dgram_socket") { $0.dgramSocket = $1 },
            mode("dgram_mode") { $0.dgramMode = $1 },
            str("dgram_user") { $0.dgramUser = $1 },
            str("dgram_group") { $0.dgramGroup = $1 },
            ScriptModuleParameter("dgram_workers", .int) { _ in },
            ScriptModuleParameter("dgram_timeout", .int) { [self] v in state.withLock { $0.dgramTimeout = Int(v.intValue) } },
            ScriptModuleParameter("pretty_format", .int) { [self] v in state.withLock { $0.prettyFormat = v.intValue != 0 } },
        ]
    }

    public let functions: [ScriptFunction] = []

    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        [ControlMethods.jsonrpcEcho]
    }
}

/// `kex`: in Kamailio it carries the `stats.*` methods; ours are always registered, so the
/// module only has to exist for `loadmodule "kex.so"` to work.
public final class KexModule: ScriptModule {
    public let name = "kex"
    public let parameters: [ScriptModuleParameter] = []
    public let functions: [ScriptFunction] = []
    /// The module.
    public init() {}
}

/// `corex`: exists for `loadmodule "corex.so"`; adds `corex.list_sockets` and
/// `corex.list_aliases`.
public final class CorexModule: ScriptModule, RPCMethodProvider {
    public let name = "corex"
    public let parameters: [ScriptModuleParameter] = []
    public let functions: [ScriptFunction] = []
    /// The module.
    public init() {}

    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        ControlMethods.corex(environment)
    }
}
