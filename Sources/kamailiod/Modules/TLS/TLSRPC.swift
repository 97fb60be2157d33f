#if canImport(Glibc)
import Glibc
#endif
import Control
import SIPTransport
import Shared

/// The `tls.*` control methods, with Kamailio 5.6.3's names and reply members where
/// they apply (`tls.info`, `tls.list`, `tls.options`, `tls.reload`).
extension TLSModule: RPCMethodProvider {
    public func rpcMethods(_ environment: ControlEnvironment) -> [RPCMethod] {
        let transport = environment.transport
        return [
            RPCMethod("tls.info", help: "Returns internal tls related info.") { call throws(RPCFault) in
                let open = transport?.connections().filter { $0.proto == .tls }.count ?? 0
                call.add(.object([
                    "max_connections": .int(transport?.options.tcpMaxConnections ?? 0),
                    "opened_connections": .int(open),
                    "clear_text_write_queued_bytes": .int(0),
                ]))
            },
            RPCMethod("tls.list", help: "List currently open TLS connections.") { [self] call throws(RPCFault) in
                for c in transport?.connections() ?? [] where c.proto == .tls {
                    call.add(Self.listEntry(c, timeout: Double(params.withLock { $0.connectionTimeout })))
                }
            },
            RPCMethod("tls.options", help: "Dump all the tls config options.") { [self] call throws(RPCFault) in
                let p = params.withLock { $0 }
                func text(_ s: String?) -> RPCValue { s.map { .string($0) } ?? .null }
                call.add(.object([
                    "method": .string(p.settings.method.rawValue),
                    "verify_certificate": .int(p.settings.verifyCertificate ? 1 : 0),
                    "require_certificate": .int(p.settings.requireCertificate ? 1 : 0),
                    "private_key": text(p.settings.privateKey ?? p.settings.certificate),
                    "ca_list": text(p.settings.caList),
                    "crl": text(p.settings.crl),
                    "certificate": text(p.settings.certificate),
                    "cipher_list": text(p.settings.cipherList),
                    "server_name": text(p.settings.serverName),
                    "config": text(p.configFile),
                    "connection_timeout": .int(p.connectionTimeout),
                    "profiles": .int(store.withLock { $0 }?.all().count ?? 0),
                    "reloads": .int(store.withLock { $0 }?.reloads ?? 0),
                ]))
            },
            RPCMethod("tls.reload", help: "Reload TLS configuration file.") { [self] call throws(RPCFault) in
                do {
                    _ = try reload()
                } catch {
                    runtime.log(.error, "tls", "tls.reload refused, the old certificates stay: \(error)")
                    throw RPCFault(code: 500, message: "Error while fixing TLS configuration (\(error))")
                }
                runtime.log(.info, "tls", "tls.reload: certificates and profiles re-read")
                call.add(.string("Ok. TLS configuration reloaded."))
            },
        ]
    }

    /// One `tls.list` member: Kamailio's fields, plus `age` (seconds open) and the peer CN.
    static func listEntry(_ c: TransportConnection, timeout: Double) -> RPCValue {
        let s = c.tls?.session
        let age = Int(c.tls?.ageSeconds ?? 0)
        let idle = Int(c.idleSeconds)
        var created = ""
        var t = time(nil) - time_t(age)
        var parts = tm()
        if localtime_r(&t, &parts) != nil {
            var buffer = [CChar](repeating: 0, count: 32)
            let n = strftime(&buffer, buffer.count, "%Y-%m-%d %H:%M:%S", &parts)
            created = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let (src, dst) = c.isOutbound ? (c.local, c.peer) : (c.peer, c.local)
        return .object([
            "id": .int(Int(c.id)),
            "timeout": .int(max(0, Int(timeout) - idle)),
            "created": .string(created),
            "idle": .int(idle),
            "age": .int(age),
            "src_ip": .string(src.ipString),
            "src_port": .int(Int(src.port)),
            "dst_ip": .string(dst.ipString),
            "dst_port": .int(Int(dst.port)),
            "cipher": .string(s.map { "\($0.version) \($0.cipher) \($0.bits)" } ?? "unknown"),
            "peer_subject_cn": .string(s?.peerCommonName ?? ""),
            "ct_wq_size": .int(0),
            "enc_rd_buf": .int(0),
            "flags": .int(0),
            "state": .string(s == nil ? (c.isOutbound ? "tls_connect" : "tls_accept") : "established"),
        ])
    }
}
