#if canImport(Glibc)
import Glibc
#endif
import SIPTransport
import ScriptEngine
import Synchronization

/// Kamailio's `tls` module: certificates and profiles for `listen=tls:` sockets and
/// outbound `sips:`/`;transport=tls` connections, the `$tls_*` variables,
/// `is_peer_verified()` and the `tls.*` control methods.
public final class TLSModule: ScriptModule {
    public let name = "tls"
    let runtime: CoreRuntime

    /// Module parameters as written; the default server and client profiles start from these.
    struct Params: Sendable {
        var settings = TLSSettings()
        /// `config`: profile file; when set, `tls.reload` re-reads it.
        var configFile: String?
        /// `connection_timeout`: idle seconds before a TLS connection is closed.
        var connectionTimeout = 600
    }

    let params = Mutex(Params())
    /// The live contexts; nil until the module is initialized with TLS in use.
    let store = Mutex<TLSContextStore?>(nil)

    /// A module bound to the daemon's runtime (for the connection of a message).
    public init(runtime: CoreRuntime) { self.runtime = runtime }

    public var parameters: [ScriptModuleParameter] {
        func text(_ name: String, _ set: @escaping @Sendable (inout Params, String?) -> Void) -> ScriptModuleParameter {
            ScriptModuleParameter(name, .string) { [self] v in
                let s = String(decoding: v.bytes, as: UTF8.self)
                params.withLock { set(&$0, s.isEmpty ? nil : s) }
            }
        }
        return [
            text("certificate") { $0.settings.certificate = $1 },
            text("private_key") { $0.settings.privateKey = $1 },
            text("ca_list") { $0.settings.caList = $1 },
            text("crl") { $0.settings.crl = $1 },
            text("cipher_list") { $0.settings.cipherList = $1 },
            text("server_name") { $0.settings.serverName = $1 },
            text("config") { $0.configFile = $1 },
            ScriptModuleParameter("tls_method", .string) { [self] v throws(ScriptFixupError) in
                let s = String(decoding: v.bytes, as: UTF8.self)
                guard let m = TLSMethod(parameter: s) else {
                    throw ScriptFixupError("tls_method must be TLSv1.2+, TLSv1.2, TLSv1.3+ or TLSv1.3 (SSLv3, TLSv1.0 and TLSv1.1 are refused), found '\(s)'")
                }
                params.withLock { $0.settings.method = m }
            },
            ScriptModuleParameter("verify_certificate", .int) { [self] v in
                params.withLock { $0.settings.verifyCertificate = v.intValue != 0 }
            },
            ScriptModuleParameter("require_certificate", .int) { [self] v in
                params.withLock { $0.settings.requireCertificate = v.intValue != 0 }
            },
            ScriptModuleParameter("connection_timeout", .int) { [self] v throws(ScriptFixupError) in
                guard v.intValue > 0 else { throw ScriptFixupError("connection_timeout must be a positive number of seconds") }
                params.withLock { $0.connectionTimeout = Int(v.intValue) }
            },
        ]
    }

    public var functions: [ScriptFunction] {
        [
            ScriptFunction("is_peer_verified", arity: 0...0, routes: [.request, .onreply, .failure, .branch]) { [self] ctx, _ in
                session(ctx)?.peerVerified == true ? 1 : -1
            },
        ]
    }

    public var pseudoVariables: [ScriptPVDefinition] {
        func pv(_ name: String, _ get: @escaping @Sendable (TLSSessionInfo) -> ScriptValue) -> ScriptPVDefinition {
            ScriptPVDefinition(name) { [self] _, _ throws(ScriptError) in
                ScriptPVAccessor(get: { [self] ctx in session(ctx).map(get) ?? .null })
            }
        }
        return [
            pv("tls_version") { .string($0.version) },
            pv("tls_description") { .string($0.cipherDescription) },
            pv("tls_cipher_info") { .string($0.cipherDescription) },
            pv("tls_cipher_bits") { .int(Int32($0.bits)) },
            pv("tls_peer_subject_cn") { .string($0.peerCommonName) },
            pv("tls_peer_subject") { .string($0.peerSubject) },
            pv("tls_peer_verified") { .int($0.peerVerified ? 1 : 0) },
        ]
    }

    /// The TLS session of the connection the current message came on.
    private func session(_ ctx: ScriptContext) -> TLSSessionInfo? {
        guard ctx.receive.proto == .tls, ctx.receive.connectionID != 0 else { return nil }
        return runtime.transport?.connection(id: ctx.receive.connectionID)?.tls?.session
    }

    /// Builds the contexts when the script listens on TLS (or configured certificates):
    /// a file that does not load stops the start-up with its reason.
    public func initialize(_ context: ScriptModuleInitContext) throws(ScriptError) {
        let wantsServer = context.core.listens.contains { $0.proto == .tls }
        do {
            let contexts = try TLSContextStore.build(try profiles(requireServer: wantsServer))
            store.withLock { $0 = TLSContextStore(contexts) }
        } catch {
            throw ScriptError("tls: \(error)", at: nil)
        }
    }

    /// The profiles from the parameters and the `config` file.
    func profiles(requireServer: Bool) throws -> [TLSProfileKey: TLSSettings] {
        let p = params.withLock { $0 }
        var out: [TLSProfileKey: TLSSettings] = [:]
        var serverBase = p.settings
        serverBase.serverName = nil
        var clientBase = p.settings
        // A client presents the configured certificate too (Kamailio's [client:default]),
        // but verifying the client side's peer is governed by verify_certificate alone.
        clientBase.requireCertificate = false
        if serverBase.certificate != nil || requireServer { out[TLSProfileKey(server: true, address: nil)] = serverBase }
        out[TLSProfileKey(server: false, address: nil)] = clientBase
        if let path = p.configFile {
            let text = try Self.readFile(path)
            for (k, v) in try TLSConfigFile.parse(text, path: path, server: serverBase, client: clientBase) { out[k] = v }
        }
        return out
    }

    /// Rebuilds every context from the parameters and the profile file (`tls.reload`);
    /// on failure the running contexts stay and the reason is thrown.
    func reload() throws -> Int {
        guard let store = store.withLock({ $0 }) else { throw TLSError("TLS is not in use") }
        let hadServer = store.context(server: true, address: nil) != nil
        let fresh = try TLSContextStore.build(try profiles(requireServer: hadServer))
        store.replace(fresh)
        return fresh.count
    }

    /// The stream factory the daemon registers for `.tls`; nil when TLS is not in use.
    public func transportFactory(connectTimeout: Double,
                                 log: @escaping @Sendable (TransportLogLevel, String) -> Void) -> StreamConnectionFactory? {
        guard let store = store.withLock({ $0 }) else { return nil }
        let idle = Double(params.withLock { $0.connectionTimeout })
        return TLSTransport.factory(store: store, connectTimeout: connectTimeout, idleLifetime: idle, log: log)
    }

    /// Reads a whole file (profile file); throws with the path and errno text.
    static func readFile(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else {
            throw TLSError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while case let n = fread(&chunk, 1, chunk.count, f), n > 0 { bytes += chunk[0..<n] }
        return String(decoding: bytes, as: UTF8.self)
    }
}
